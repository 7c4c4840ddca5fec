"""Target ``loihi2``: Loihi 2 fixed-point CUBA semantics (Lava bit-accurate), netx export, core mapping.

Passes (``Loihi2Target.passes``, in order): round delays, fold batch norm, Loihi structure check (op-specific
reasons), quantize (per-tensor 8-bit weights so each layer has one threshold, 16-bit accumulators: Lava's ``a_in``,
integrator
readouts in Lava's voltage format: input ``<< 6``, 24-bit saturation), check limits.
``lower`` builds the :class:`LoihiNetwork`, maps it onto neuro-cores and returns a :class:`Loihi2Program`.
Sigma-delta models (``nk.SigmaDelta``) become netx SDNN blocks (quantized in netx's layout, ``sdnn_netx``;
:mod:`hw_targets.loihi2.lowering_sdnn`): their input is real-valued, quantized as the integer reference does.

Example::

    cm = nk.compile(model, target="loihi2", example_input=spikes)    # spikes [T, B, n_in] / [T, B, C, H, W], 0/1
    out = cm.run(spikes)          # int64 [T, B, n_out] spikes / readout accumulator / integrator trace
    out == integer_sim.run(cm.graph, spikes, latency=1)   # bit for bit (Lava's timing, biases included)
    cm.save("model.net")          # lava-dl netx HDF5
    cm.report()["cores"]           # neuro-cores used; cm.report()["core_map"] has the per-core details
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from compile import ir
from compile.capture_lava import is_lava_neuron, reads_input_neuron
from compile.compiled import check_run_input
from compile.integer_sim import quantize_input
from neurokit.integer import VTH_BITS
from compile.target import PassContext, graph_pass, ops_of
from compile.passes import (
    Limits,
    check_limits,
    check_supported,
    fold_bn,
    quantize,
    round_delays,
)

from .lowering import LAVA_INTEGRATOR, UNSUPPORTED, lower
from .lowering_sdnn import check_not_mixed, reads_graded_input
from .mapping import CoreLimits, map_cores
from .network import MAX_DELAY, LoihiNetwork
from .netx import save_netx
from .sdnn import is_sdnn
from .simulator import CONV_BITS, SimRecord, conv_sum, simulate

#: IR node classes a Loihi network is built from (others are refused with ``UNSUPPORTED``'s reason); a batch norm
#: is accepted where ``fold_bn`` folds it into the preceding synapse.
NODE_TYPES = frozenset({ir.Input, ir.Dense, ir.Conv, ir.BatchNorm, ir.Neuron, ir.Flatten, ir.Integrator,
                        ir.Recurrent, ir.SigmaDelta, ir.Sigma})
SUPPORTS = Limits(ops=ops_of(NODE_TYPES), neuron_kinds=frozenset({"lif", "if", "cuba"}),
                  integer=True, weight_bits=8, acc_bits=16, act_bits=8, vth_bits=VTH_BITS, max_delay=MAX_DELAY,
                  resets=frozenset({"hard"}))


#: The ranges of layers read from netx files (``nk.from_netx``: Lava's own integers): netx's weights in [-256, 254],
#: Lava's accumulator (not rescaled), thresholds above 17 bits (never firing); ``LoihiLayer`` checks the exact ranges.
NETX_LIMITS = dataclasses.replace(SUPPORTS, weight_bits=10, acc_bits=32, vth_bits=25)


def _check_limits(graph: ir.Graph) -> ir.Graph:
    """``check_limits`` with ``SUPPORTS``, or ``NETX_LIMITS`` for a graph holding netx-imported Lava layers (the
    quantize pass keeps their integers; every other layer is quantized within ``SUPPORTS`` and the lowering checks
    its threshold against 17 bits)."""
    return check_limits(graph, NETX_LIMITS if any(is_lava_neuron(n) for n in graph.nodes) else SUPPORTS)


def _precheck(graph: ir.Graph) -> ir.Graph:
    """Reject what Loihi cannot host with the reason, before quantization obscures it."""
    if not graph.input.spikes and not reads_input_neuron(graph) and not reads_graded_input(graph):
        raise ir.CompileError("loihi2: node 'input' (input): Loihi inputs are binary spikes; encode real-valued "
                              "inputs (nk.encode.*) and compile with a 0/1 example input")
    check_not_mixed(graph)
    for n in graph.nodes:
        why = snntorch_reset_refusal(n)
        if why is not None:
            raise ir.CompileError(f"loihi2: node {n.name!r} (neuron): {why}")
    return check_supported(graph, SUPPORTS, "loihi2", UNSUPPORTED)


def snntorch_reset_refusal(n: ir.Node) -> str | None:
    """Why Lava cannot run neuron ``n``'s reset, naming the snnTorch setting that gives one it can (Lava's CUBA LIF
    sets ``v = 0`` on the step it spikes: ``lava-nc/lava src/lava/proc/lif/models.py``), or None.
    Example: ``snntorch_reset_refusal(ir.Neuron("1", ("0",), (4,), kind="lif", v_reset=None))``."""
    if n.op != "neuron" or (n.v_reset is not None and not n.reset_after_decay):
        return None
    lava = "Lava's CUBA LIF resets v to 0 on the step it spikes"
    if n.v_reset is None:
        peer = "snn.Synaptic" if n.kind == "cuba" else "snn.Leaky"
        extra = ", reset_delay=False" if n.kind == "cuba" else ""
        return (f"{lava}; this neuron resets by subtraction{' one step late' if n.reset_after_decay else ''} "
                f"(snnTorch's default reset_mechanism='subtract'): set reset_mechanism='zero'{extra} on {peer} "
                f"(neurokit: v_reset=0.0, reset_after_decay=False) and retrain or fine-tune; onnx_int runs it as is")
    return (f"{lava}; this neuron resets to 0 one step late (snnTorch Synaptic's default reset_delay=True): set "
            "reset_delay=False on snn.Synaptic(reset_mechanism='zero') (neurokit: reset_after_decay=False) and "
            "retrain or fine-tune; onnx_int runs it as is")


def _loihi_weights(graph: ir.Graph) -> ir.Graph:
    """Binary layers (``weight_bits=1``, one scale per output channel) become per-tensor weights.

    Lava's LIF has one threshold per layer, so per-channel scales cannot move into per-neuron thresholds. When all
    channel scales are equal (within 1e-6) the layer keeps its ``{-1, +1}`` integers with that one scale; otherwise
    the row scales go into 8-bit weights instead (within 1/254 of the largest weight; a warning says so)."""
    g = graph.copy()
    for n in g.nodes:
        if n.op == "dense" and n.weight_bits == 1 and n.int_weight is not None:
            mags = np.asarray(n.weight_scale, np.float64)
            if np.allclose(mags, mags.max(), rtol=1e-6, atol=0):
                n.weight_scale = np.full_like(mags, mags.max())
                continue
            n.weight_bits, n.int_weight, n.weight_scale = None, None, None
            g.warnings.append(f"loihi2: binary layer {n.name!r}: per-channel scales {mags.min():.4g}.."
                              f"{mags.max():.4g} are folded into 8-bit per-tensor weights (Loihi has one "
                              "threshold per layer)")
    return g


class Loihi2Program:
    """The lowered model: ``net`` (:class:`LoihiNetwork`), its core map, and the last run's activity."""

    def __init__(self, graph: ir.Graph, net: LoihiNetwork, limits: CoreLimits):
        self.graph, self.net = graph, net
        self.cores = map_cores(net, limits)
        self.last_run: SimRecord | None = None
        self._last_input: np.ndarray | None = None
        self.readout_bias = _sigma_readout_bias(graph)

    @property
    def latency(self) -> int:
        """Steps between an input spike and its first effect on the output (one per layer)."""
        return len(self.net.layers)

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Bit-accurate run. ``x [T, B, *input_shape]`` 0/1 -> int64 ``[T, B, *output_shape]``: output spikes, for a
        plain
        readout the accumulator ``v >> 6``, for an integrator readout its trace ``v`` (real value
        ``graph.scales[graph.output] * out``). Equals ``integer_sim.run(graph, x, latency=1)``; a ``RuntimeWarning``
        says when an integrator trace passed Lava's largest threshold (the block spiked and reset, unlike the
        reference). Example: ``prog.run(torch.ones(50, 1, 8))``."""
        check_run_input(x, tuple(self.graph.input.shape), "run (loihi2)")
        if is_sdnn(self.net):
            return self._run_sdnn(x)
        if self.net.input_layer is None and not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(f"run (loihi2): x of shape {tuple(x.shape)} must be 0/1 spikes (Loihi inputs are binary "
                             "spikes; encode real-valued inputs with nk.encode.*)")
        flat = x.detach().cpu().reshape(x.shape[0], x.shape[1], -1).numpy()
        rec = simulate(self.net, flat, record=True)
        self.last_run, self._last_input = rec, flat
        if not self.net.readout:
            shape = flat.shape[:2] + self.net.layers[-1].out_shape  # a conv layer's spikes as [T, B, C, H, W]
            return torch.from_numpy(rec.spikes[-1].astype(np.int64).reshape(shape))
        if rec.spikes[-1].any():
            warnings.warn(f"loihi2: readout {self.net.layers[-1].name!r} exceeded vThMant << 6 = "
                          f"{self.net.layers[-1].vth_mant << 6} and reset; its trace differs from the integer "
                          f"reference",
                          RuntimeWarning, stacklevel=2)
        leaky = self.graph.node(self.graph.output).op == "integrator"
        return torch.from_numpy(rec.v_last if leaky else rec.v_last >> 6)

    def _run_sdnn(self, x: torch.Tensor) -> torch.Tensor:
        """A sigma-delta network: ``x`` quantized as the integer reference does (its input unit), run bit-accurately;
        the last block's graded messages, or a Sigma read-out's ``sigma`` plus its bias (added here: Lava's Sigma has
        none)."""
        xi = quantize_input(self.graph.input, x)
        flat = xi.reshape(xi.shape[0], xi.shape[1], -1)
        rec = simulate(self.net, flat, record=True)
        self.last_run, self._last_input = rec, flat
        self._warn_conv_wrap(flat, rec)
        out = rec.spikes[-1]
        shape = flat.shape[:2] + tuple(self.graph.node(self.graph.output).shape)
        if self.readout_bias is not None:
            out = out.reshape(shape) + self.readout_bias
        return torch.from_numpy(out.astype(np.int64).reshape(shape))

    def _warn_conv_wrap(self, x: np.ndarray, rec: SimRecord) -> None:
        """A ``RuntimeWarning`` naming the first conv block whose accumulation of this run's messages left 24 bits
        (Lava's ``Conv`` wrapped it; the integer reference did not)."""
        srcs = rec.spikes[:-1] if self.net.input_layer is not None else [x] + list(rec.spikes[:-1])
        for layer, src in zip(self.net.layers, srcs):
            w = np.abs(layer.weight).reshape(len(layer.weight), -1)
            if layer.conv is None or int(w.sum(1).max()) * int(np.abs(src).max(initial=0)) < 1 << (CONV_BITS - 1):
                continue  # no conv, or its sums cannot reach 24 bits: no second convolution needed
            acc = np.abs(conv_sum(layer, src))
            if acc.max() >= 1 << (CONV_BITS - 1):
                t = int(np.argwhere(acc >= 1 << (CONV_BITS - 1))[0][0])
                warnings.warn(f"loihi2: conv block {layer.name!r}: its accumulation at step {t} reached "
                              f"{int(acc.max())} and Lava's Conv wrapped it at {CONV_BITS} bits; this run differs from "
                              "the integer reference", RuntimeWarning, stacklevel=3)
                return

    def save(self, path) -> None:
        """Write the lava-dl netx ``.net`` file (atomic). Example: ``prog.save("model.net")``."""
        save_netx(self.net, path)

    def report(self) -> dict:
        """``cores`` (number used), ``core_map`` (per-core neurons, fan-in, synapse bytes, limits), per-layer Loihi
        encoding, latency, warnings and, after a run, ``spike_traffic`` between cores (messages per sample)."""
        warn = list(self.graph.warnings)
        layers = []
        for layer in self.net.layers:
            enc = layer.synapse
            layers.append({"name": layer.name, "in": layer.n_in, "out": layer.n_out, "iDecay": layer.i_decay,
                           "vDecay": layer.v_decay,
                           "vThMant": layer.vth_mant if layer.sdnn is None else layer.sdnn.vth_mant,
                           "weight_exp": enc.weight_exp,
                           "num_weight_bits": enc.num_weight_bits, "sign_mode": enc.sign_mode,
                           "recurrent": layer.weight_rec is not None,
                           "sdnn": None if layer.sdnn is None else layer.sdnn.kind,
                           "max_delay": 0 if layer.delay is None else int(layer.delay.max())})
            if not layer.exact_weights:
                warn.append(f"loihi2: layer {layer.name!r}: netx/Lava sign-mode corner changes the effective "
                            "weights (all weights <= 0 with max 0); Loihi differs from the integer reference")
        rep = {"cores": self.cores.cores_used, "core_map": self.cores.report(), "loihi_layers": layers,
               "latency_steps": self.latency,
               "readout": self.net.readout, "warnings": warn}
        if self.last_run is not None:
            spikes = self.last_run.spikes  # an input layer's spikes (first) feed layer 1 like host spikes
            rep["spike_traffic"] = (self.cores.traffic(self._last_input, spikes) if self.net.input_layer is None
                                    else self.cores.traffic(spikes[0], spikes[1:]))
        return rep


def _sigma_readout_bias(graph: ir.Graph) -> np.ndarray | None:
    """The bias of a Sigma read-out (graph output), in its integer unit, or None. Lava's ``Sigma`` process has no
    bias, so :meth:`Loihi2Program.run` adds it to the read-out and the saved netx file lacks it (warned once)."""
    n = graph.node(graph.output)
    if n.op != "sigma" or n.integer is None or not np.any(n.integer.bias):
        return None
    why = (f"loihi2: sigma read-out {n.name!r}: Lava's Sigma has no bias; cm.run adds the bias to the read-out "
           "sigma on the host, and the saved netx file does not hold it (add cm.artefact.readout_bias to a netx run's "
           "sigma)")
    graph.warnings.append(why)
    warnings.warn(why, UserWarning, stacklevel=4)
    return np.asarray(n.integer.bias, np.int64)


@dataclass(frozen=True)
class Loihi2Options:
    """Options of ``loihi2``: ``weight_bits`` (1..8, Loihi weights are 8-bit), ``core_limits`` (:class:`CoreLimits`)."""

    weight_bits: int = 8
    core_limits: CoreLimits = field(default_factory=CoreLimits)

    def __post_init__(self) -> None:
        wb = self.weight_bits
        if isinstance(wb, bool) or not isinstance(wb, int):
            raise TypeError(f"target 'loihi2': weight_bits must be an int in 1..8, got {type(wb).__name__} {wb!r}")
        if not 1 <= wb <= 8:
            raise ValueError(f"target 'loihi2': weight_bits must be in 1..8 (Loihi weights are 8-bit), got {wb!r}")
        if not isinstance(self.core_limits, CoreLimits):
            raise TypeError(f"target 'loihi2': core_limits must be a CoreLimits, got {type(self.core_limits).__name__}")


def _quantize(graph: ir.Graph, ctx: PassContext) -> ir.Graph:
    """Per-tensor quantization (one threshold per layer), 16-bit accumulators, Lava's integrator format; sigma-delta
    units in netx's layout (``sdnn_netx``) on the example input's range."""
    absmax = float(ctx.example_input.detach().abs().max()) if reads_graded_input(graph) else None
    return quantize(graph, weight_bits=ctx.options.weight_bits, per_channel=False, acc_bits=SUPPORTS.acc_bits,
                    integrator_format=LAVA_INTEGRATOR, input_absmax=absmax, sdnn_netx=True)


class Loihi2Target:
    """Loihi 2 target (module docstring); options: :class:`Loihi2Options`."""

    name = "loihi2"
    Options = Loihi2Options
    node_types = NODE_TYPES
    refusals = UNSUPPORTED
    supports = SUPPORTS
    passes = (graph_pass(round_delays), graph_pass(fold_bn), graph_pass(_precheck), graph_pass(_loihi_weights),
              _quantize, graph_pass(_check_limits))

    def lower(self, graph: ir.Graph, options: Loihi2Options) -> Loihi2Program:
        return Loihi2Program(graph, lower(graph), options.core_limits)
