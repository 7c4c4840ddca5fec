"""Target ``gpu``: the IR run as a torch program that executes what the eager layers execute.

Each IR node becomes the torch op the eager layer runs (``F.linear`` / ``F.conv2d`` on ``[T*B, ...]`` / batch norm
in eval / pooling) and each neuron population a module:

* float neurons (``nk.LIF`` / ``IF`` / ``PLIF`` / ``CubaLIF`` / ``ALIF``): a neurokit neuron with ``backend="auto"``
  (the fused Triton kernel on CUDA, the fastest CPU path otherwise);
* attention (Spikformer / SDSA / Max-Former): ``reshape`` / ``permute`` / ``mean`` as torch does them, and the
  ``matmul`` / ``mask`` products by the eager ``SpikeMatMul`` / ``SpikeMask`` modules; token batch norm (``axis``
  last) on ``[-1, C]`` as ``TokenBatchNorm``;
* sigma-delta units and read-outs (``nk.SigmaDelta`` / ``nk.neurons.Sigma``): the eager modules rebuilt from the node
  (threshold as captured, on lava-dl's grid when ``scale`` is set), so graded messages equal eager's;
* QAT neurons (``QuantLIF``, alone or in an ``IntegerSpikingLayer``; IR nodes with ``uv_bits`` set): a
  ``QuantLIF`` rebuilt from the node (tau, v_threshold, membrane_bits = ``uv_bits``, input_shift = ``act_shift``)
  and called with the input unit eager passes it (``node.unit``), i.e. the module's own integer forward
  (rounding to units, accumulator shift, Lava decay, saturation, per-channel integer threshold), not a float LIF.

Binary synapses (``weight_bits == 1``) run as eager does: the ``{-1, +1}`` product, then the per-channel scale, then
the bias; other synapses use the captured float weights (``int_weight * scale`` for QAT layers, bit-identical to
Brevitas' dequantized weights). So ``cm.run(x)`` equals the eager model in eval mode: the spikes of QAT layers
bit for bit (the QuantLIF rounds the synapse output back to integer units), float outputs up to
kernel rounding (tested in tests/hw_targets/test_gpu_target.py). Runs on CUDA when present, CPU otherwise; shapes
``x [T, B, *input_shape] -> [T, B, *output_shape]``.

Example::

    cm = nk.compile(nk.models.quant_snn(64, (32,), 10), target="gpu", example_input=x)   # x: [T, B, 64]
    y = cm.run(x)          # == model.eval()(x), [T, B, 10]
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from compile import ir
from compile.capture_lava import LAVA_ONLY, is_lava_neuron
from compile.dispatch import Rules
from compile.ir import CompileError
from compile.passes import Limits, check_limits, round_delays
from compile.target import graph_pass, ops_of
from neurokit.devices import resolve_device
from neurokit.kernels.recurrent import run_recurrent
from neurokit.layers.attention import SpikeMask, SpikeMatMul
from neurokit.layers.delays import delayed_linear_reference
from neurokit.layers.quant import QuantLIF
from neurokit.layers.readout import LeakyIntegrator
from neurokit.layers.recurrent import recurrent_reference
from neurokit.neurons.sigma_delta import Sigma, SigmaDelta

SUPPORTS = Limits(ops=ops_of(ir.NODE_TYPES), neuron_kinds=frozenset({"lif", "if", "cuba", "alif"}), integer=False,
                  max_delay=None)


def _neuron_module(n: ir.Neuron) -> nn.Module:
    import neurokit as nk

    if is_lava_neuron(n):
        raise CompileError(f"gpu: node {n.name!r} (neuron): {LAVA_ONLY}")
    if n.uv_bits is not None:  # QAT neuron: the eager QuantLIF's own forward
        if n.unit is None or n.act_shift is None:
            raise CompileError(f"neuron {n.name!r}: QAT neuron (uv_bits={n.uv_bits}) without act_shift/unit; "
                               f"capture the model with compile.capture")
        return QuantLIF(tau=math.inf if n.kind == "if" else n.tau, v_threshold=n.v_threshold,
                        membrane_bits=n.uv_bits, input_shift=n.act_shift)
    if n.kind == "alif":
        return nk.ALIF(tau=n.tau, tau_adapt=n.tau_adapt, beta=n.beta, v_threshold=n.v_threshold, v_reset=n.v_reset,
                       decay_input=n.decay_input, backend="auto")
    common = {"v_threshold": n.v_threshold, "v_reset": n.v_reset, "backend": "auto",
              "reset_after_decay": n.reset_after_decay}
    if n.kind == "if":
        return nk.IF(**common)
    if n.kind == "cuba":
        return nk.CubaLIF(tau_syn=n.tau_syn, tau_mem=n.tau, **common)
    return nk.LIF(tau=n.tau, decay_input=n.decay_input, **common)


def _sdnn_module(n: ir.SigmaDelta | ir.Sigma) -> nn.Module:
    """The eager sigma-delta module of a ``sigma_delta`` / ``sigma`` node (its bias as a float32 parameter)."""
    bias = None if n.bias is None else torch.as_tensor(n.bias, dtype=torch.float32)
    if n.op == "sigma":
        return Sigma(bias)
    m = SigmaDelta(0.0, activation=n.activation, cum_error=n.cum_error, scale=None, bias=bias, sigma=n.sigma)
    m.threshold, m.scale = float(n.threshold), n.scale  # as captured (already on lava-dl's grid): no re-quantization
    return m


def _tensors(n: ir.Node) -> dict[str, np.ndarray]:
    """The node's arrays for the program; a binary synapse is split into ``{-1, +1}`` weights and ``alpha [O]``."""
    if n.op in ir.SDNN:  # their bias lives in the eager module (TorchProgram.sdnn)
        return {}
    arrays = {k: getattr(n, k) for k in ("weight", "bias", "mean", "var", "gamma", "beta")
              if getattr(n, k, None) is not None}
    if n.op in ir.SYNAPSES and n.weight_bits == 1 and n.int_weight is not None:  # the layer's own +-1 and alpha
        arrays["weight"] = np.asarray(n.int_weight, np.float64)
        arrays["alpha"] = np.asarray(n.weight_scale, np.float64)
    return arrays


def _fold(fn, x: torch.Tensor) -> torch.Tensor:
    T, B = x.shape[:2]
    y = fn(x.reshape(T * B, *x.shape[2:]))
    return y.reshape(T, B, *y.shape[1:])


class TorchProgram(nn.Module):
    """Executes an unquantized :class:`ir.Graph` node by node as the eager layers would.

    ``forward(x [T, B, *input_shape]) -> [T, B, *output_shape]`` (float32, on ``device``).
    Example: ``TorchProgram(capture(model, x), torch.device("cpu"))(x)``.
    """

    def __init__(self, graph: ir.Graph, device: torch.device):
        super().__init__()
        self.graph, self.device = graph, device
        cells = [n if n.op == "neuron" else n.cell for n in graph if n.op in ("neuron", "recurrent")]
        self.neurons = nn.ModuleDict({n.name.replace(".", "_"): _neuron_module(n) for n in cells})
        self.sdnn = nn.ModuleDict({n.name.replace(".", "_"): _sdnn_module(n) for n in graph if n.op in ir.SDNN})
        self.sdnn.to(device)
        self.tensors = {n.name: {k: torch.as_tensor(v, dtype=torch.float32, device=device)
                                 for k, v in _tensors(n).items()} for n in graph}
        self.units = {n.name: torch.as_tensor(n.unit, dtype=torch.float64, device=device)
                      for n in graph if n.op == "neuron" and n.uv_bits is not None}

    def _node(self, n: ir.Node, vals: dict) -> torch.Tensor:
        a = vals[n.inputs[0]] if n.inputs else vals["input"]
        levels = getattr(n, "input_levels", None)
        if levels:  # the QAT layer's input quantization (round half to even, as torch.round)
            a = torch.clamp(torch.round(a * levels), 0, levels) / levels
        return RULES.rule(n)(self, n, a, vals)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vals = {"input": x.to(self.device, torch.float32)}
        for n in self.graph.nodes:
            vals[n.name] = self._node(n, vals)
        return vals[self.graph.output]


def _synapse(prog: TorchProgram, n: ir.Node, a: torch.Tensor, vals: dict) -> torch.Tensor:
    del vals
    p = prog.tensors[n.name]
    if n.op == "dense" and n.delay is not None:
        return delayed_linear_reference(a, p["weight"], torch.as_tensor(n.delay, device=a.device), p.get("bias"))
    alpha = p.get("alpha")  # binary layer: +-1 product, then the per-channel scale, then the bias (eager order)
    bias = p.get("bias") if alpha is None else None
    if n.op == "dense":
        y = F.linear(a, p["weight"], bias)
    else:
        y = _fold(lambda z: F.conv2d(z, p["weight"], bias, n.stride, n.padding, n.dilation, n.groups), a)
    if alpha is None:
        return y
    channel = (-1,) if n.op == "dense" else (-1, 1, 1)
    y = y * alpha.view(channel)
    return y if "bias" not in p else y + p["bias"].view(channel)


def _batchnorm(prog: TorchProgram, n: ir.BatchNorm, a: torch.Tensor, vals: dict) -> torch.Tensor:
    del vals
    p = prog.tensors[n.name]
    fn = lambda z: F.batch_norm(z, p["mean"], p["var"], p["gamma"], p["beta"], False, 0.0, n.eps)
    if n.axis == 0:
        return _fold(fn, a)
    return fn(a.reshape(-1, a.shape[-1])).reshape(a.shape)  # tokens: channels last (TokenBatchNorm)


def _pool(prog: TorchProgram, n: ir.Pool, a: torch.Tensor, vals: dict) -> torch.Tensor:
    del prog, vals
    if n.kind == "max":
        return _fold(lambda z: F.max_pool2d(z, n.kernel, n.stride, n.padding), a)
    div = 1 if n.kind == "sum" else None
    return _fold(lambda z: F.avg_pool2d(z, n.kernel, n.stride, n.padding, divisor_override=div), a)


def _neuron(prog: TorchProgram, n: ir.Neuron, a: torch.Tensor, vals: dict) -> torch.Tensor:
    del vals
    neuron = prog.neurons[n.name.replace(".", "_")]
    return neuron(a, prog.units[n.name]) if n.name in prog.units else neuron(a)


def _recurrent(prog: TorchProgram, n: ir.Recurrent, a: torch.Tensor, vals: dict) -> torch.Tensor:
    """The recurrent loop on the feed-forward currents ``a`` with the eager layer's own code path."""
    del vals
    p = prog.tensors[n.name]
    cell = prog.neurons[n.cell.name.replace(".", "_")]
    spikes = run_recurrent(cell.family, a, p["weight"], p.get("bias"), cell.params(), cell.surrogate, cell.backend)
    if spikes is None:
        spikes, _ = recurrent_reference(a, p["weight"], p.get("bias"), cell.family, cell.params(), cell.surrogate)
    return spikes


def _sdnn(prog: TorchProgram, n: ir.SigmaDelta | ir.Sigma, a: torch.Tensor, vals: dict) -> torch.Tensor:
    """The eager sigma-delta module of the node (``TorchProgram.sdnn``)."""
    del vals
    return prog.sdnn[n.name.replace(".", "_")](a)


def _elementwise(fn):
    """A rule that needs only the node and its first input."""
    def rule(prog: TorchProgram, n: ir.Node, a: torch.Tensor, vals: dict) -> torch.Tensor:
        del prog, vals
        return fn(n, a)
    return rule


def _binary(fn):
    """A rule on the node's two inputs ``(a, b)`` (the attention products)."""
    def rule(prog: TorchProgram, n: ir.Node, a: torch.Tensor, vals: dict) -> torch.Tensor:
        del prog
        return fn(n, a, vals[n.inputs[1]])
    return rule


def _add(prog: TorchProgram, n: ir.Add, a: torch.Tensor, vals: dict) -> torch.Tensor:
    del prog, a
    return sum(vals[s] for s in n.inputs)


#: How the torch program runs each IR node (every node type has a rule).
RULES = Rules("gpu", {
    ir.Input: _elementwise(lambda _n, a: a),
    ir.Dense: _synapse,
    ir.Conv: _synapse,
    ir.BatchNorm: _batchnorm,
    ir.Pool: _pool,
    ir.Flatten: _elementwise(lambda _n, a: a.reshape(a.shape[0], a.shape[1], -1)),
    ir.Reshape: _elementwise(lambda n, a: a.reshape(*a.shape[:2], *n.shape)),
    ir.Permute: _elementwise(lambda n, a: a.permute(0, 1, *(i + 2 for i in n.perm))),
    ir.Mean: _elementwise(lambda n, a: a.mean(dim=tuple(i + 2 for i in n.axes), keepdim=n.keepdim)),
    ir.Add: _add,
    ir.MatMul: _binary(lambda n, a, b: SpikeMatMul(n.scale)(a, b)),  # the eager attention products themselves
    ir.Mask: _binary(lambda n, a, b: SpikeMask(n.sum_tokens)(a, b)),
    ir.Neuron: _neuron,
    ir.Integrator: _elementwise(lambda n, a: LeakyIntegrator(n.tau)(a)),  # the eager readout module itself
    ir.Recurrent: _recurrent,
    ir.SigmaDelta: _sdnn,
    ir.Sigma: _sdnn,
})


class GPUArtefact:
    """``run(x)`` -> float outputs on the CPU; ``save(path)`` writes the program's IR state (torch.save)."""

    def __init__(self, program: TorchProgram):
        self.program = program

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x).cpu()

    def save(self, path: str) -> None:
        from compile.compiled import atomic_write

        atomic_write(path, lambda f: torch.save({"graph": self.program.graph}, f))

    def report(self) -> dict:
        return {"device": str(self.program.device)}


@dataclass(frozen=True)
class GPUOptions:
    """Option of ``gpu``: ``device`` (``"auto"``: CUDA when present, else CPU; or ``"cpu"``, ``"cuda:N"``, ...),
    checked by :func:`neurokit.devices.resolve_device` (``ValueError`` naming the device and what is available)."""

    device: object = "auto"

    def __post_init__(self) -> None:
        resolve_device(self.device, name="gpu: device")


class GPUTarget:
    """Eager-equivalent torch target (see module docstring). Passes: round delays, check limits."""

    name = "gpu"
    Options = GPUOptions
    node_types = frozenset(RULES.node_types)
    refusals: dict[str, str] = {}
    supports = SUPPORTS
    passes = (graph_pass(round_delays), graph_pass(lambda g: check_limits(g, SUPPORTS)))

    def lower(self, graph: ir.Graph, options: GPUOptions) -> GPUArtefact:
        return GPUArtefact(TorchProgram(graph, resolve_device(options.device, name="gpu: device")))
