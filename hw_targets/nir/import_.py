"""``nk.from_nir``: a NIR graph (or ``.nir`` file) -> a time-major neurokit model (``nn.Sequential`` for a chain,
:class:`hw_targets.nir.graph.GraphModel` for a graph that branches and merges, e.g. residual connections).

Neurons (dt, reset mode and timing, the exporter's own discretization, ``v_leak`` folded into the feeding synapse's
bias): :mod:`hw_targets.nir.conventions`, whose rules read graphs from neurokit, snnTorch, SpikingJelly, Norse,
Sinabs, Rockpool and Spyx as those frameworks run them (several spikes per step and Spyx's one-step-late spikes:
:mod:`hw_targets.nir.spiking`); every choice a rule makes (no dt, IF with ``r = 1``, no reset mode) is named, node by
node, in one :class:`~hw_targets.nir.silent.NIRConventionWarning`, as is a neuron layer that cannot spike at all.

* Supported nodes: Input, Output, Affine, Linear, Conv2d, Flatten, AvgPool2d (``nk.layers.AvgPool2d``), SumPool2d
  (the same with ``divisor_override=1``), LIF, CubaLIF, IF, LI, in any acyclic graph: a node with several incoming
  edges gets their sum (NIR's rule; a residual ``f(x) + x``), a node may feed several nodes. Per-synapse delays:
  ``Delay -> Linear/Affine`` branches from the same source node(s) summed into one node (the export of a rounded
  ``DelayedLinear``, one branch per delay value; delays in seconds, whole multiples of ``dt``) become one rounded
  ``DelayedLinear`` (:mod:`neurokit.nir_delays`). A cycle ``neuron -> Affine/Linear -> neuron`` (snnTorch's
  ``RLeaky`` / ``RSynaptic`` export) becomes an ``nk.layers.Recurrent`` (:mod:`hw_targets.nir.cycles`); a cycle with
  no neuron is refused as an algebraic loop.

Bad input raises ``ValueError`` naming the file / node / field: an unreadable or truncated file, a missing field,
an unsupported node type, per-neuron parameters that differ (neurokit neurons take one value per layer), a Delay
that is not a whole number of steps.

Example::

    model = nk.from_nir("model.nir")          # or a nir.NIRGraph
    spikes = model(x)                         # x [T, B, *input_shape]
"""
from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import nir
import numpy as np
import torch
from torch import nn

from neurokit.layers.delays import DelayedLinear
from neurokit.layers.readout import LeakyIntegrator
from neurokit.layers.time_major import AvgPool2d, Conv2d, Flatten
from neurokit.neurons import IF, LIF, CubaLIF
from neurokit.layers.recurrent import Recurrent
from .cycles import RecurrentCell, collapse_cycles
from .delays import DelayedSynapse, collapse_delays
from .graph import GraphModel, topo_order
from .lava import is_lava_graph, lava_network_from_nir

from .conventions import DEFAULT_DT, graph_context, neuron_spec
from .silent import NIRConventionWarning, report_silent, user_stacklevel
from .spiking import MultiSpike, OneStepLate
#: Fields each node type must carry in a ``.nir`` file (``nir`` 1.0 serialization).
REQUIRED = {"Input": ("shape",), "Output": ("shape",), "Affine": ("weight", "bias"), "Linear": ("weight",),
            "Conv2d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
            "Flatten": ("start_dim", "end_dim"), "LIF": ("tau", "r", "v_leak", "v_threshold"),
            "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"), "IF": ("r", "v_threshold"),
            "LI": ("tau", "r", "v_leak"), "Delay": ("delay",), "AvgPool2d": ("kernel_size", "stride", "padding"),
            "SumPool2d": ("kernel_size", "stride", "padding")}


#: What h5py, numpy and torch raise on a damaged file or a field of the wrong dtype / shape / range (a corrupt
#: object header, a string where an array belongs, a bias that does not fit its weight); from a file, reported as
#: ``ValueError`` naming the file (and the node, once nodes are built).
CORRUPT_CONTENT = (OSError, KeyError, RuntimeError, TypeError, ValueError, AttributeError, IndexError, OverflowError,
                   ZeroDivisionError)


def _text(ds) -> str | None:
    """A NIR ``type`` field as text, or None when it is not a (byte) string."""
    v = ds[()] if isinstance(ds, h5py.Dataset) else None
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.reshape(-1)[0]
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return v if isinstance(v, str) else None


def _read_file(path: Path) -> nir.NIRGraph:
    if not path.is_file():
        raise ValueError(f"{path}: no such NIR file")
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f or "nodes" not in f["node"]:
                raise ValueError(f"{path}: not a NIR graph file (missing group 'node/nodes')")
            for name, g in f["node/nodes"].items():
                kind = _text(g["type"]) if isinstance(g, h5py.Group) and "type" in g else None
                if kind is None:
                    what = "is not a string" if isinstance(g, h5py.Group) and "type" in g else "is missing"
                    raise ValueError(f"{path}: node {name!r}: field 'type' {what}")
                if kind not in REQUIRED:
                    raise ValueError(f"{path}: node {name!r}: NIR type {kind!r} is not supported by neurokit "
                                     f"(supported: {sorted(REQUIRED)})")
                missing = [k for k in REQUIRED[kind] if k not in g]
                if missing:
                    raise ValueError(f"{path}: node {name!r} ({kind}): missing field {missing[0]!r} "
                                     f"(required: {list(REQUIRED[kind])})")
    except ValueError:
        raise
    except CORRUPT_CONTENT as e:
        raise ValueError(f"{path}: not a readable NIR HDF5 file (truncated or corrupt?): "
                         f"{type(e).__name__}: {e}") from e
    try:
        return nir.read(path, type_check=True)
    except Exception as e:  # nir raises many types; give the file name and the cause
        raise ValueError(f"{path}: NIR graph rejected by nir.read ({type(e).__name__}: {e})") from e


def _fold(sources: list[nn.Module | None], gain: float, bias: float, name: str) -> None:
    """Scale the synapses in ``sources`` (the node's inputs; None: an input that feeds other nodes too) by ``gain``
    and add the constant input ``bias`` (a folded ``v_leak``) to the first one's bias."""
    if np.isclose(gain, 1.0, rtol=1e-6, atol=0.0) and bias == 0.0:
        return
    what = f"input gain {gain:g}" + (f" and constant input {bias:g} (v_leak)" if bias else "")
    if not sources or not all(isinstance(p, (nn.Linear, nn.Conv2d, DelayedLinear)) for p in sources):
        raise ValueError(f"NIR node {name!r}: {what} must be folded into the Affine/Linear/Conv2d nodes feeding it "
                         "(each feeding only this node), but not every input is one")
    if bias and not isinstance(sources[0], (nn.Linear, nn.Conv2d)):
        raise ValueError(f"NIR node {name!r}: {what}: the constant input needs a Linear/Affine/Conv2d bias")
    with torch.no_grad():
        for prev in sources:
            prev.weight.mul_(gain)
            if prev.bias is not None:
                prev.bias.mul_(gain)
        if bias:
            first = sources[0]
            if first.bias is None:
                first.bias = nn.Parameter(torch.zeros(first.weight.shape[0], dtype=first.weight.dtype))
            first.bias.add_(bias)


def _neuron(name: str, node, ctx: "_Ctx", sources: list[nn.Module | None]) -> nn.Module:
    """The neurokit neuron for NIR neuron ``node`` (:func:`conventions.neuron_spec`), its gain and v_leak folded;
    wrapped in :class:`~hw_targets.nir.spiking.MultiSpike` / :class:`~hw_targets.nir.spiking.OneStepLate` where the
    exporter's spikes are counts / one step late."""
    spec = ctx.specs[name] = neuron_spec(name, node, ctx.dt, ctx.reset, ctx.multi_spike, ctx.arg_dt, ctx.context)
    _fold(sources, spec.gain, spec.leak_bias, name)
    if spec.kind == "li":
        return LeakyIntegrator(spec.tau)
    common = {"v_threshold": spec.v_threshold, "v_reset": spec.v_reset if spec.reset == "zero" else None,
              "reset_after_decay": spec.timing == "next_step"}
    if spec.kind == "if":
        neuron = IF(**common)
    elif spec.kind == "cuba":
        neuron = CubaLIF(tau_syn=spec.tau_syn, tau_mem=spec.tau, **common)
    else:
        neuron = LIF(tau=spec.tau, decay_input=spec.decay_input, **common)
    if spec.max_spikes != 1:
        neuron = MultiSpike(neuron, spec.max_spikes)
    return OneStepLate(neuron) if spec.late else neuron


def _synapse(name: str, node) -> nn.Module:
    w = torch.as_tensor(np.asarray(node.weight, dtype=np.float32))
    if isinstance(node, (nir.Affine, nir.Linear)):
        if w.dim() != 2:
            raise ValueError(f"NIR node {name!r}: weight must be 2-D (out, in), got shape {tuple(w.shape)}")
        lin = nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine))
        with torch.no_grad():
            lin.weight.copy_(w)
            if isinstance(node, nir.Affine):
                lin.bias.copy_(torch.as_tensor(np.asarray(node.bias, dtype=np.float32)))
        return lin
    pad = node.padding if isinstance(node.padding, str) else tuple(int(p) for p in np.atleast_1d(node.padding))
    conv = Conv2d(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]),
                  stride=tuple(np.atleast_1d(node.stride)), padding=pad, dilation=tuple(np.atleast_1d(node.dilation)),
                  groups=int(node.groups), bias=True)
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.copy_(torch.as_tensor(np.asarray(node.bias, dtype=np.float32)))
    return conv


def _pool(name: str, node) -> AvgPool2d:
    """NIR ``AvgPool2d`` -> ``nk.layers.AvgPool2d`` (zero padding counted, as NIR's SumPool-then-Scale);
    ``SumPool2d`` -> the same with ``divisor_override=1`` (a plain sum)."""
    k, s, p = (tuple(int(v) for v in np.broadcast_to(np.asarray(f), (2,))) for f in
               (node.kernel_size, node.stride, node.padding))
    if any(2 * pi > ki for pi, ki in zip(p, k)):
        raise ValueError(f"NIR node {name!r} ({type(node).__name__}): padding {p} is more than half the kernel {k}")
    return AvgPool2d(k, s, p, divisor_override=1 if isinstance(node, nir.SumPool2d) else None)


class _Ctx:
    """What every node's conversion reads: ``dt`` (the graph's ``metadata["dt"]`` or ``from_nir(dt=)``; None:
    unknown, the conventions' rules decide; ``arg_dt``: it is the argument), the ``reset`` and ``multi_spike``
    arguments, the exporters whose signature the graph carries (``context``) and the neuron specs read so far."""

    def __init__(self, dt: float | None, reset, multi_spike=None, arg_dt: bool = False, context=frozenset()):
        self.dt, self.reset, self.multi_spike, self.specs = dt, reset, multi_spike, {}
        self.arg_dt, self.context = arg_dt, context


def _recurrent(name: str, cell: RecurrentCell, ctx: _Ctx, sources: list[nn.Module | None]) -> Recurrent:
    """A NIR cycle ``neuron -> synapse -> neuron`` -> ``nk.layers.Recurrent`` with an identity feed-forward weight
    (the synapses feeding the neuron stay their own modules); the neuron's input gain is folded into the feed-forward
    sources and the recurrent synapse alike."""
    rec = _synapse(cell.synapse_name, cell.synapse)
    n = rec.weight.shape[0]
    if tuple(rec.weight.shape) != (n, n):
        raise ValueError(f"NIR node {cell.synapse_name!r}: recurrent weight of {name!r} must be square, got shape "
                         f"{tuple(rec.weight.shape)}")
    neuron = _neuron(name, cell.neuron, ctx, [*sources, rec])
    if not isinstance(neuron, (IF, LIF, CubaLIF)):
        raise ValueError(f"NIR node {name!r}: a recurrent neuron with {type(neuron).__name__} spikes (several per step "
                         "or one step late) is not supported by nk.layers.Recurrent")
    layer = Recurrent(n, n, neuron, recurrent_bias=rec.bias is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(n))
        layer.recurrent_weight.copy_(rec.weight)
        if rec.bias is not None:
            layer.recurrent_bias.copy_(rec.bias)
    return layer


def _module(name: str, node, ctx: _Ctx, sources: list[nn.Module | None]) -> nn.Module:
    """The neurokit module for NIR node ``node``; ``sources``: the modules feeding it (for gain folding)."""
    if isinstance(node, RecurrentCell):
        return _recurrent(name, node, ctx, sources)
    if isinstance(node, DelayedSynapse):
        return node.module()
    if isinstance(node, (nir.Affine, nir.Linear, nir.Conv2d)):
        return _synapse(name, node)
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        return _pool(name, node)
    if isinstance(node, nir.Flatten):
        return Flatten()
    if isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.LI)):
        return _neuron(name, node, ctx, sources)
    raise ValueError(f"NIR node {name!r}: type {type(node).__name__} is not supported by neurokit "
                     f"(supported: {sorted(REQUIRED)})")


def _module_named(source: str, name: str, node, ctx: _Ctx, sources: list[nn.Module | None]) -> nn.Module:
    """:func:`_module`, with any refusal (a field out of range for the neurokit module, e.g. ``tau < dt``, or a
    weight/bias shape that does not fit) re-raised as ``ValueError`` naming ``source`` (the file) and the node."""
    try:
        module = _module(name, node, ctx, sources)
    except CORRUPT_CONTENT as err:
        msg = str(err) if f"{name!r}" in str(err) else f"NIR node {name!r} ({type(node).__name__}): {err}"
        if isinstance(node, (nir.LIF, nir.CubaLIF, nir.LI)) and "tau" in str(err):
            step = (node.metadata or {}).get("dt", ctx.dt)
            msg += (" (neurokit time constants are in steps: tau / dt with "
                    f"{f'dt={step:g} s' if step is not None else 'dt chosen by the conventions rules; pass dt='})")
        raise ValueError(f"{source}: {msg}") from err
    bad = [key for key, t in module.state_dict().items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise ValueError(f"{source}: NIR node {name!r} ({type(node).__name__}): {bad[0]!r} contains NaN or Inf values; "
                         "expected finite parameters")
    return module


def _spyx_flatten_order(nodes: dict, modules: dict, pred: dict) -> dict[str, str]:
    """Rule 3's flatten order: in a Spyx graph a Linear / Affine fed by the Flatten of a ``(C, H, W)`` tensor reads
    its inputs in Spyx's channels-last ``(H, W, C)`` order (``spyx.nn.Flatten`` reshapes the channels-last tensor and
    ``spyx.nir.to_nir`` writes the kernel unchanged, while NIR tensors are channels-first): its columns are permuted
    into NIR's order in place. Returns node name -> the choice, for the warning."""
    notes = {}
    for name, module in modules.items():
        src = pred[name][0] if len(pred[name]) == 1 else None
        shape = tuple(np.asarray((nodes[src].input_type or {}).get("input", ())).reshape(-1)) \
            if isinstance(nodes.get(src), nir.Flatten) else ()
        if isinstance(module, nn.Linear) and len(shape) == 3:
            c, h, w = (int(v) for v in shape)
            with torch.no_grad():
                module.weight.copy_(module.weight.reshape(-1, h, w, c).permute(0, 3, 1, 2).reshape(module.weight.shape))
            notes[name] = (f"inputs after Flatten of {(c, h, w)} read in Spyx's channels-last (H, W, C) order, "
                           "reordered to NIR's (C, H, W)")
    return notes


def _warn_choices(source: str, specs: dict, synapses: dict | None = None) -> None:
    """One warning naming every neuron node read by a rule rather than from the graph, and the choice made (and
    every synapse node whose input order a rule chose: ``synapses``, name -> choice)."""
    lines = [f"node {name!r} ({spec.kind}): " + "; ".join(spec.notes) for name, spec in specs.items() if spec.notes]
    lines += [f"node {name!r} (synapse): {note}" for name, note in (synapses or {}).items()]
    if lines:
        warnings.warn(f"{source}: the graph leaves the discretization open; from_nir decided (pass dt= / reset= to "
                      "choose): " + " | ".join(lines), NIRConventionWarning, stacklevel=user_stacklevel())


def from_nir(graph: nir.NIRGraph | str | Path, dt: float | None = None, reset=None,
             multi_spike: bool | None = None) -> nn.Sequential | GraphModel:
    """Build a neurokit model from a NIR graph or ``.nir`` file (conventions in :mod:`hw_targets.nir.conventions`).

    Args:
        graph: a ``nir.NIRGraph`` or a path to a file written by ``nir.write``.
        dt: seconds per step when neither the nodes nor the graph carry ``metadata["dt"]`` (None: the exporter's
            step read from the node fields, else 1e-4; one :class:`NIRConventionWarning` names each choice).
        reset: for neurons whose metadata records no reset: ``"zero"`` | ``"subtract"`` (timing by the exporter,
            e.g. snnTorch's one step late) | ``(mode, "same_step" | "next_step")``; None: the exporter's default.
        multi_spike: True: every neuron emits ``floor(v / v_threshold)`` spikes per step (Sinabs ``MultiSpike``);
            False: one spike; None: the exporter's default (Rockpool's and Sinabs's graphs several, others one).

    Returns:
        ``nn.Sequential`` (a chain) or :class:`~hw_targets.nir.graph.GraphModel` (branches / summed edges), mapping
        ``[T, B, *input_shape]`` to ``[T, B, *output_shape]``. A neuron layer that cannot spike for structural
        reasons (:func:`hw_targets.nir.silent.silent_layers`) is reported in a :class:`NIRConventionWarning`.

    Example::

        model = nk.from_nir(snntorch.export_to_nir(net, x[0, 0]), reset="subtract")   # snnTorch's own spikes
        model = nk.from_nir(nk.compile(net, target="nir", example_input=x).artefact.graph)
    """
    source = "NIR graph"
    if isinstance(graph, (str, Path)):
        source = str(graph)
        graph = _read_file(Path(graph))
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir: expected a nir.NIRGraph or a path, got {type(graph).__name__}")
    if dt is not None and (isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0):
        raise ValueError(f"dt: expected seconds per step > 0, got {dt!r}")
    if is_lava_graph(graph):  # a Lava fixed-point model's export: its integers, exactly (hw_targets.nir.lava)
        return _lava_model(source, graph, dt)
    try:
        known = (graph.metadata or {}).get("dt", dt)
        if known is not None and not (isinstance(known, (int, float, np.floating)) and np.isfinite(known)
                                      and known > 0):
            raise ValueError(f"metadata 'dt' must be seconds per step > 0, got {known!r}")
        nodes, edges = collapse_delays(graph, DEFAULT_DT if known is None else float(known))
        nodes, edges = collapse_cycles(nodes, edges)
        order, pred, succ = topo_order(nodes, edges)
    except CORRUPT_CONTENT as err:
        raise ValueError(f"{source}: {err}") from err
    arg_dt = known is not None and "dt" not in (graph.metadata or {})
    ctx = _Ctx(None if known is None else float(known), reset, multi_spike, arg_dt,
               graph_context(nodes, float(known) if arg_dt else None))
    modules: dict[str, nn.Module] = {}
    for name in order:
        if not isinstance(nodes[name], (nir.Input, nir.Output)):
            sources = [modules.get(p) if len(succ[p]) == 1 else None for p in pred[name]]
            modules[name] = _module_named(source, name, nodes[name], ctx, sources)
    reordered = _spyx_flatten_order(nodes, modules, pred) if "spyx" in ctx.context else {}
    _warn_choices(source, ctx.specs, reordered)
    report_silent(source, modules, order, pred, ctx.specs)
    try:
        return _assemble(modules, order, pred, succ)
    except CORRUPT_CONTENT as err:
        raise ValueError(f"{source}: {err}") from err


def _lava_model(source: str, graph: nir.NIRGraph, dt: float | None) -> nn.Sequential:
    """The ``nk.from_netx`` model of a graph exported from one (:func:`hw_targets.nir.lava.lava_network_from_nir`)."""
    from hw_targets.loihi2.netx_model import model_from_network

    step = (graph.metadata or {}).get("dt", dt if dt is not None else DEFAULT_DT)
    try:
        return model_from_network(lava_network_from_nir(graph, float(step)))
    except CORRUPT_CONTENT as err:
        raise ValueError(f"{source}: {err}") from err


def _assemble(modules: dict, order: list, pred: dict, succ: dict) -> nn.Sequential | GraphModel:
    """A chain as ``nn.Sequential``, anything else as :class:`GraphModel`."""
    if all(len(pred[k]) <= 1 and len(succ[k]) <= 1 for k in order):
        return nn.Sequential(*(modules[k] for k in order if k in modules))
    return GraphModel(modules, {k: pred[k] for k in order[1:]}, order[0], order[-1])
