"""``nk.from_nir``: a NIR graph (or ``.nir`` file) -> a time-major neurokit model (``nn.Sequential`` for a chain,
:class:`neurokit.nir_graph.GraphModel` for a graph that branches and merges, e.g. residual connections).

Conventions (the inverse of :mod:`hw_targets.nir.export`; as snnTorch 1.0's ``import_nir.py`` reads NIR):

* ``dt`` per node: ``node.metadata["dt"]``, else the graph's ``metadata["dt"]``, else ``dt=`` given here, else 1e-4 s
  (snnTorch's hard-coded step, so its exports import unchanged).
* Forward Euler: LIF ``v += dt/tau (v_leak - v + r I)`` -> ``nk.LIF(tau = tau/dt)`` with input gain ``r dt / tau``;
  CubaLIF -> ``nk.CubaLIF(tau_syn/dt, tau_mem/dt)`` with input gain ``(w_in dt / tau_syn) (r dt / tau_mem)``;
  IF ``v += dt r I`` -> ``nk.IF`` with gain ``r dt``; LI ``v += dt/tau (v_leak - v + r I)`` (``v_leak = 0``) ->
  ``nk.layers.LeakyIntegrator(tau/dt)`` (its membrane trace is the output) with gain ``r dt / tau``. A LIF gain of
  1 maps to ``decay_input=False``, ``1/tau`` to ``decay_input=True``; any other gain (and any LI gain other than
  1) is folded into the weights and bias of the Affine/Linear/Conv2d nodes feeding the neuron.
* Reset: ``metadata["reset"]`` ``"zero"`` (default, NIR's ``v <- v_reset``) or ``"subtract"``; ``metadata
  ["reset_timing"]`` ``"same_step"`` (default) or ``"next_step"`` (``reset_after_decay``). ``v_leak`` must equal
  ``v_reset`` (neurokit neurons leak toward their reset value).
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

from .conventions import DEFAULT_DT
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


def _scalar(node_name: str, field: str, value) -> float:
    v = np.unique(np.asarray(value, dtype=np.float64))
    if v.size != 1:
        raise ValueError(f"NIR node {node_name!r}: field {field!r} differs across neurons ({v.min()}..{v.max()}); "
                         "neurokit neurons take one value per layer")
    return float(v[0])


def _fold_gain(sources: list[nn.Module | None], gain: float, name: str) -> None:
    """Scale the synapses in ``sources`` (the node's inputs; None: an input that feeds other nodes too) by ``gain``."""
    if np.isclose(gain, 1.0, rtol=1e-6, atol=0.0):
        return
    if not sources or not all(isinstance(p, (nn.Linear, nn.Conv2d, DelayedLinear)) for p in sources):
        raise ValueError(f"NIR node {name!r}: input gain {gain:g} must be folded into the Affine/Linear/Conv2d "
                         "nodes feeding it (each feeding only this node), but not every input is one")
    with torch.no_grad():
        for prev in sources:
            prev.weight.mul_(gain)
            if prev.bias is not None:
                prev.bias.mul_(gain)


def _neuron(name: str, node, dt: float, sources: list[nn.Module | None]) -> nn.Module:
    meta = node.metadata or {}
    reset, timing = meta.get("reset", "zero"), meta.get("reset_timing", "same_step")
    if reset not in ("zero", "subtract") or timing not in ("same_step", "next_step"):
        raise ValueError(f"NIR node {name!r}: metadata reset={reset!r} / reset_timing={timing!r}; expected "
                         "'zero'|'subtract' and 'same_step'|'next_step'")
    vth = _scalar(name, "v_threshold", node.v_threshold)
    vr = _scalar(name, "v_reset", getattr(node, "v_reset", 0.0))
    common = {"v_threshold": vth, "v_reset": vr if reset == "zero" else None,
              "reset_after_decay": timing == "next_step"}
    if not isinstance(node, nir.IF):
        leak = _scalar(name, "v_leak", node.v_leak)
        if not np.isclose(leak, vr if reset == "zero" else 0.0):
            raise ValueError(f"NIR node {name!r}: v_leak={leak} must equal the reset value {vr} (neurokit neurons "
                             "leak toward v_reset)")
    r = _scalar(name, "r", node.r)
    if isinstance(node, nir.IF):
        _fold_gain(sources, r * dt, name)
        return IF(**common)
    if isinstance(node, nir.CubaLIF):
        ts, tm = _scalar(name, "tau_syn", node.tau_syn), _scalar(name, "tau_mem", node.tau_mem)
        w_in = _scalar(name, "w_in", node.w_in)
        _fold_gain(sources, (w_in * dt / ts) * (r * dt / tm), name)
        return CubaLIF(tau_syn=ts / dt, tau_mem=tm / dt, **common)
    tau = _scalar(name, "tau", node.tau)
    if np.isclose(r, 1.0, rtol=1e-9, atol=0.0):  # gain 1/tau: SpikingJelly's decay_input form
        return LIF(tau=tau / dt, decay_input=True, **common)
    _fold_gain(sources, r * dt / tau, name)
    return LIF(tau=tau / dt, decay_input=False, **common)


def _leaky(name: str, node: nir.LI, dt: float, sources: list[nn.Module | None]) -> LeakyIntegrator:
    leak = _scalar(name, "v_leak", node.v_leak)
    if leak != 0.0:
        raise ValueError(f"NIR node {name!r} (LI): v_leak={leak}; neurokit's LeakyIntegrator leaks toward 0")
    tau, r = _scalar(name, "tau", node.tau), _scalar(name, "r", node.r)
    _fold_gain(sources, r * dt / tau, name)
    return LeakyIntegrator(tau / dt)


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


def _recurrent(name: str, cell: RecurrentCell, dt: float, sources: list[nn.Module | None]) -> Recurrent:
    """A NIR cycle ``neuron -> synapse -> neuron`` -> ``nk.layers.Recurrent`` with an identity feed-forward weight
    (the synapses feeding the neuron stay their own modules); the neuron's input gain is folded into the feed-forward
    sources and the recurrent synapse alike."""
    rec = _synapse(cell.synapse_name, cell.synapse)
    n = rec.weight.shape[0]
    if tuple(rec.weight.shape) != (n, n):
        raise ValueError(f"NIR node {cell.synapse_name!r}: recurrent weight of {name!r} must be square, got shape "
                         f"{tuple(rec.weight.shape)}")
    node_dt = float((cell.neuron.metadata or {}).get("dt", dt))
    neuron = _neuron(name, cell.neuron, node_dt, [*sources, rec])
    layer = Recurrent(n, n, neuron, recurrent_bias=rec.bias is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(n))
        layer.recurrent_weight.copy_(rec.weight)
        if rec.bias is not None:
            layer.recurrent_bias.copy_(rec.bias)
    return layer


def _module(name: str, node, dt: float, sources: list[nn.Module | None]) -> nn.Module:
    """The neurokit module for NIR node ``node``; ``sources``: the modules feeding it (for gain folding)."""
    if isinstance(node, RecurrentCell):
        return _recurrent(name, node, dt, sources)
    if isinstance(node, DelayedSynapse):
        return node.module()
    if isinstance(node, (nir.Affine, nir.Linear, nir.Conv2d)):
        return _synapse(name, node)
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        return _pool(name, node)
    if isinstance(node, nir.Flatten):
        return Flatten()
    if isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.LI)):
        node_dt = float((node.metadata or {}).get("dt", dt))
        if not (np.isfinite(node_dt) and node_dt > 0):
            raise ValueError(f"NIR node {name!r}: metadata 'dt' must be seconds per step > 0, got {node_dt!r}")
        return (_leaky if isinstance(node, nir.LI) else _neuron)(name, node, node_dt, sources)
    raise ValueError(f"NIR node {name!r}: type {type(node).__name__} is not supported by neurokit "
                     f"(supported: {sorted(REQUIRED)})")


def _module_named(source: str, name: str, node, dt: float, sources: list[nn.Module | None]) -> nn.Module:
    """:func:`_module`, with any refusal (a field out of range for the neurokit module, e.g. ``tau < dt``, or a
    weight/bias shape that does not fit) re-raised as ``ValueError`` naming ``source`` (the file) and the node."""
    try:
        module = _module(name, node, dt, sources)
    except CORRUPT_CONTENT as err:
        msg = str(err) if f"{name!r}" in str(err) else f"NIR node {name!r} ({type(node).__name__}): {err}"
        if isinstance(node, (nir.LIF, nir.CubaLIF, nir.LI)) and "tau" in str(err):
            msg += f" (neurokit time constants are in steps: tau / dt with dt={dt:g} s)"
        raise ValueError(f"{source}: {msg}") from err
    bad = [key for key, t in module.state_dict().items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise ValueError(f"{source}: NIR node {name!r} ({type(node).__name__}): {bad[0]!r} contains NaN or Inf values; "
                         "expected finite parameters")
    return module


def from_nir(graph: nir.NIRGraph | str | Path, dt: float | None = None) -> nn.Sequential | GraphModel:
    """Build a neurokit model from a NIR graph or ``.nir`` file (conventions in the module docstring).

    Args:
        graph: a ``nir.NIRGraph`` or a path to a file written by ``nir.write``.
        dt: seconds per step when neither the nodes nor the graph carry ``metadata["dt"]`` (default 1e-4).

    Returns:
        ``nn.Sequential`` (a chain) or :class:`~neurokit.nir_graph.GraphModel` (branches / summed edges), mapping
        ``[T, B, *input_shape]`` to ``[T, B, *output_shape]``.

    Example::

        model = nk.from_nir(nk.compile(net, target="nir", example_input=x).artefact.graph)
        torch.allclose(model(x), net(x))      # True (float tolerance)
    """
    source = "NIR graph"
    if isinstance(graph, (str, Path)):
        source = str(graph)
        graph = _read_file(Path(graph))
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir: expected a nir.NIRGraph or a path, got {type(graph).__name__}")
    if dt is not None and (isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0):
        raise ValueError(f"dt: expected seconds per step > 0, got {dt!r}")
    try:
        base_dt = float((graph.metadata or {}).get("dt", dt if dt is not None else DEFAULT_DT))
        if not (np.isfinite(base_dt) and base_dt > 0):
            raise ValueError(f"metadata 'dt' must be seconds per step > 0, got {base_dt!r}")
        nodes, edges = collapse_delays(graph, base_dt)
        nodes, edges = collapse_cycles(nodes, edges)
        order, pred, succ = topo_order(nodes, edges)
    except CORRUPT_CONTENT as err:
        raise ValueError(f"{source}: {err}") from err
    modules: dict[str, nn.Module] = {}
    for name in order:
        if not isinstance(nodes[name], (nir.Input, nir.Output)):
            sources = [modules.get(p) if len(succ[p]) == 1 else None for p in pred[name]]
            modules[name] = _module_named(source, name, nodes[name], base_dt, sources)
    try:
        return _assemble(modules, order, pred, succ)
    except CORRUPT_CONTENT as err:
        raise ValueError(f"{source}: {err}") from err


def _assemble(modules: dict, order: list, pred: dict, succ: dict) -> nn.Sequential | GraphModel:
    """A chain as ``nn.Sequential``, anything else as :class:`GraphModel`."""
    if all(len(pred[k]) <= 1 and len(succ[k]) <= 1 for k in order):
        return nn.Sequential(*(modules[k] for k in order if k in modules))
    return GraphModel(modules, {k: pred[k] for k in order[1:]}, order[0], order[-1])
