"""Target ``nir``: export the float IR as a NIR graph (``nir`` 1.0), with its discretization in metadata.

NIR is continuous-time; neurokit is discrete-time with unit steps. The export uses snnTorch's convention,
``dt = 1e-4`` s per step (hard-coded in ``snntorch/export_nir.py``), and forward-Euler discretization, so that

    LIF (tau steps):     NIR LIF(tau = tau * dt, r = tau (decay_input=False) or 1 (True), v_leak = v_reset)
                         Euler: v += dt/tau_nir * (v_leak - v + r * I)  ==  neurokit's update
    IF:                  NIR IF(r = 1), metadata ``r_unit: "per_step"``: v += r * I each step (the form Sinabs and
                         Norse write, and snnTorch's importer requires; graphs written before with r = 1 / dt and no
                         ``r_unit`` read back the same: dt * r = 1)
    CubaLIF:             NIR CubaLIF(tau_syn = tau_syn * dt, tau_mem = tau_mem * dt, r = tau_mem, w_in = tau_syn)
    LeakyIntegrator:     NIR LI(tau = tau * dt, r = tau, v_leak = 0)   Euler: v += dt/tau_nir * (-v + r * I)
                         == v * (1 - 1/tau) + I; the output is the membrane trace v (no threshold, no reset)
    dense / conv:        Affine (bias) or Linear / Conv2d;  flatten: Flatten(start_dim=0)
    avg pool:            AvgPool2d(kernel_size, stride, padding)  (zero padding counted: count_include_pad=True)
    sum pool:            SumPool2d(kernel_size, stride, padding)  (AvgPool2d(divisor_override=1), what a NIR
                         SumPool2d imports as)
    add (residual):      no node; each input's NIR node gets an edge into every consumer of the add (NIR sums the
                         edges into a node), e.g. ``lif2(fc2(s1) + s0)``: edges ``fc2 -> lif2`` and ``lif1 -> lif2``

Max-pool, reshape / permute / mean / matmul / mask, an unfolded batch norm and ALIF have no NIR node: the target's
passes raise one ``CompileError`` naming each such node with the reason (:func:`refusal`).

Every neuron node's ``metadata`` records what NIR itself leaves open: ``dt``, ``discretization``
(``"forward_euler"``), ``reset`` (``"zero"`` = hard reset to ``v_reset``, ``"subtract"`` = minus the threshold),
``reset_timing`` (``"same_step"``, or ``"next_step"`` for ``reset_after_decay``), ``spike`` (``"v > v_threshold"``)
and the neuron ``kind`` (an ``LI`` readout: ``dt``, ``discretization``, ``kind: "integrator"``, ``output:
"v"``). Neuron parameters are per-neuron arrays so ``nir.read`` can type-check the graph.

Per-synapse delays (a rounded ``DelayedLinear``: IR ``dense`` with an integer ``delay [out, in]``,
``y[t, o] = b[o] + sum_j W[o, j] x[t - d[o, j], j]``, zero before ``t = 0``) are decomposed by delay value: for every
distinct ``k`` in ``d`` one branch ``Delay(delay = k * dt`` seconds for every input channel``) -> Linear(W * (d == k))``
(``k = 0``: the Linear alone; the bias, if any, goes on the first branch as an ``Affine``), all branches feeding the
next node, where NIR sums incoming edges. Branch nodes are named ``<layer>_delay<k>`` / ``<layer>_w<k>`` and carry
``metadata`` ``{"dt", "delay_steps": k, "unit": "s", "layer", "decomposition": DELAY_DECOMPOSITION}``.

Example::

    cm = nk.compile(model, target="nir", example_input=x)
    cm.save("model.nir")                       # nir.write, atomic
    graph = cm.artefact.graph                  # nir.NIRGraph
    y = cm.run(x)                              # the graph re-imported by nk.from_nir, run in torch
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import nir
import numpy as np
import torch

from compile import ir
from compile.capture_lava import is_lava_neuron
from compile.dispatch import Rules
from compile.passes import Limits, check_limits, fold_bn, round_delays
from compile.target import graph_pass, ops_of
from neurokit.atomic import atomic_path

from .conventions import DEFAULT_DT as DT
from .delays import DELAY_DECOMPOSITION, delay_branches
from .lava import lava_neuron, lava_synapse
#: IR node classes with a NIR export (max-pool and ALIF are refused within them, see :func:`refusal`); a batch norm
#: is accepted where ``fold_bn`` folds it into the preceding synapse.
NODE_TYPES = frozenset({ir.Input, ir.Dense, ir.Conv, ir.BatchNorm, ir.Pool, ir.Flatten, ir.Add, ir.Neuron,
                        ir.Integrator, ir.Recurrent})
SUPPORTS = Limits(ops=ops_of(NODE_TYPES), integer=False, max_delay=None)
#: Why NIR (``nir`` 1.0) cannot express an IR op / neuron kind; see :func:`refusal`.
NO_NIR = {
    "reshape": "NIR has no reshape node (only Flatten), so token layouts ([C, H, W] -> [N, C]) have no NIR form",
    "permute": "NIR has no transpose / permute node",
    "mean": "NIR has no mean / reduction node",
    "matmul": "NIR edges only add; it has no product of two activation tensors (spiking attention's q @ k^T)",
    "mask": "NIR edges only add; it has no element-wise product of two activation tensors",
    "batchnorm": "a batch norm that does not directly follow a dense/conv cannot be folded into its weights, and NIR "
                 "has no per-channel affine node",
    "alif": "NIR's LIF / CubaLIF have a fixed v_threshold; the adaptive threshold has no NIR primitive (use nk.LIF or "
            "nk.CubaLIF)",
    "sigma_delta": "NIR (1.0) has no sigma-delta node: its neurons (LIF, CubaLIF, IF, LI, I) send binary spikes and "
                   "none has a delta encoder with a threshold on the change and graded messages (use target "
                   "'onnx_int' or 'gpu')",
    "sigma": "NIR (1.0) has no sigma-delta decoder; the Sigma read-out only makes sense after sigma-delta units, which "
             "NIR cannot express (use target 'onnx_int' or 'gpu')",
}


def neuron_metadata(n: ir.Neuron, dt: float = DT) -> dict:
    """The discretization a NIR consumer needs to reproduce ``n`` step by step (see module docstring)."""
    return {"dt": dt, "discretization": "forward_euler", "kind": n.kind, "spike": "v > v_threshold",
            "reset": "zero" if n.v_reset is not None else "subtract",
            "reset_timing": "next_step" if n.reset_after_decay else "same_step"}


def _neuron(n: ir.Neuron, dt: float) -> nir.NIRNode:
    size = int(np.prod(n.shape))
    full = lambda v: np.full(n.shape, v, dtype=np.float64)
    vr = 0.0 if n.v_reset is None else float(n.v_reset)
    meta = neuron_metadata(n, dt)
    if size == 0:
        raise ir.CompileError(f"nir: node {n.name!r} (neuron) has no neurons")
    if n.kind == "if":  # r = 1 per step, as Sinabs and Norse write IF and snnTorch's importer requires
        return nir.IF(r=full(1.0), v_threshold=full(n.v_threshold), v_reset=full(vr),
                      metadata={**meta, "r_unit": "per_step"})
    if n.kind == "cuba":
        return nir.CubaLIF(tau_syn=full(n.tau_syn * dt), tau_mem=full(n.tau * dt), r=full(n.tau), v_leak=full(vr),
                           v_threshold=full(n.v_threshold), v_reset=full(vr), w_in=full(n.tau_syn), metadata=meta)
    return nir.LIF(tau=full(n.tau * dt), r=full(1.0 if n.decay_input else n.tau), v_leak=full(vr),
                   v_threshold=full(n.v_threshold), v_reset=full(vr), metadata=meta)


def _integrator(n: ir.Integrator, dt: float) -> nir.LI:
    """``LeakyIntegrator(tau)`` -> ``LI(tau * dt, r = tau, v_leak = 0)``: forward Euler gives ``v (1 - 1/tau) + I``."""
    full = lambda v: np.full(n.shape, v, dtype=np.float64)
    meta = {"dt": dt, "discretization": "forward_euler", "kind": "integrator", "output": "v"}
    return nir.LI(tau=full(n.tau * dt), r=full(n.tau), v_leak=full(0.0), metadata=meta)


def _synapse(n: ir.Node, shapes: dict[str, tuple[int, ...]]) -> nir.NIRNode:
    w = np.asarray(n.weight, dtype=np.float32)
    if n.op == "dense":
        if n.bias is None:
            return nir.Linear(weight=w)
        return nir.Affine(weight=w, bias=np.asarray(n.bias, dtype=np.float32))
    in_shape = shapes[n.inputs[0]]
    bias = np.zeros(w.shape[0], np.float32) if n.bias is None else np.asarray(n.bias, dtype=np.float32)
    return nir.Conv2d(input_shape=tuple(in_shape[1:]), weight=w, stride=n.stride, padding=n.padding,
                      dilation=n.dilation, groups=n.groups, bias=bias)


def refusal(n: ir.Node) -> str | None:
    """Why IR node ``n`` has no NIR export (``"max-pool has no NIR node; ..."``, ``"op 'matmul' is not supported
    by NIR: <why>"``), or None if it has one. Example: ``refusal(ir.Pool("4", ("3",), (4, 4, 4), kind="max"))``."""
    if n.op == "pool" and n.kind not in ("avg", "sum"):
        return (f"{n.kind}-pool has no NIR node; use AvgPool2d (nk.layers.AvgPool2d, exported as NIR AvgPool2d) or a "
                "strided Conv2d")
    if n.op == "recurrent":
        return refusal(n.cell)
    if n.op == "neuron" and n.kind in NO_NIR:
        return f"neuron kind {n.kind!r} is not supported by NIR: {NO_NIR[n.kind]}"
    return f"op {n.op!r} is not supported by NIR: {NO_NIR[n.op]}" if n.op in NO_NIR else None


def check_nir(graph: ir.Graph) -> ir.Graph:
    """Return ``graph`` if every node has a NIR export; else one :class:`ir.CompileError` naming every node that has
    none with its :func:`refusal`, e.g. ``nir: node 'features.2' (pool): max-pool has no NIR node; use ...``."""
    by_why: dict[str, list[str]] = {}
    for n in graph.nodes:
        why = refusal(n)
        if why is not None:
            by_why.setdefault(why, []).append(f"node {n.name!r} ({n.op})")
    if not by_why:
        return graph
    count = sum(len(v) for v in by_why.values())
    parts = "; ".join(f"{', '.join(where)}: {why}" for why, where in by_why.items())
    raise ir.CompileError(f"nir: {parts}" if count == 1 else f"nir: {count} nodes cannot be exported: {parts}")


def _add_sources(n: ir.Add, names: dict[str, list[str]]) -> list[str]:
    """The NIR nodes whose outputs sum to add ``n``: its inputs' (an add has no NIR node; its consumers get one edge
    from each). ``CompileError`` if one would be counted twice (``x + x``), as NIR sums distinct edges."""
    srcs = [src for s in n.inputs for src in names[s]]
    twice = sorted({s for s in srcs if srcs.count(s) > 1})
    if twice:
        raise ir.CompileError(f"nir: node {n.name!r} (add) sums NIR node(s) {twice} twice (x + x, or x added to a sum "
                              "holding x); NIR sums each distinct edge once, so scale x by a Linear/Conv2d instead")
    return srcs


def _name(name: str) -> str:
    return name.replace(".", "_")  # NIR edges use "a.b" to address nodes inside sub-graphs


class _Export:
    """The NIR graph being built: ``nodes``, ``edges``, and ``names`` (IR node -> the NIR nodes whose summed outputs
    are its output); ``delayed`` once a delayed dense was decomposed."""

    def __init__(self, graph: ir.Graph, dt: float):
        self.graph, self.dt, self.shapes = graph, dt, {n.name: tuple(n.shape) for n in graph}
        self.nodes: dict[str, nir.NIRNode] = {}
        self.edges: list[tuple[str, str]] = []
        self.names: dict[str, list[str]] = {}
        self.delayed = False

    def key(self, n: ir.Node) -> str:
        key = _name(n.name)
        return f"node_{key}" if key in ("input", "output") or key in self.nodes else key

    def branches(self, n: ir.Node, parts) -> None:
        """Add the branch nodes ``parts = (nodes, inner_edges, heads, tails)`` of IR node ``n``: its inputs feed every
        head, every tail feeds its consumers (NIR sums them there)."""
        nodes, inner, heads, self.names[n.name] = parts
        clash = sorted(set(nodes) & (set(self.nodes) | {"input", "output"}))
        if clash:
            raise ir.CompileError(f"nir: node {n.name!r}: branch node names {clash} are already taken")
        self.nodes.update(nodes)
        self.edges += inner + [(src, head) for s in n.inputs for src in self.names[s] for head in heads]

    def place(self, n: ir.Node, node: nir.NIRNode) -> None:
        """Add ``node`` for IR node ``n`` with an edge from each of its inputs' NIR nodes."""
        key = self.key(n)
        self.nodes[key], self.names[n.name] = node, [key]
        self.edges += [(src, key) for s in n.inputs for src in self.names[s]]


def _export_input(n: ir.Input, ex: _Export) -> None:
    ex.nodes["input"] = nir.Input(input_type={"input": np.array(n.shape)})
    ex.names[n.name] = ["input"]


def _export_synapse(n: ir.Dense | ir.Conv, ex: _Export) -> None:
    """A plain synapse; a delayed dense as one branch per delay value; a Lava block's synapse with its latency as
    Delay nodes (:mod:`hw_targets.nir.lava`)."""
    if any(is_lava_neuron(c) for c in ex.graph.consumers(n.name)):
        ex.branches(n, lava_synapse(n, ex.key(n), ex.shapes[n.inputs[0]], ex.dt))
    elif n.op == "dense" and n.delay is not None and np.any(n.delay):
        ex.branches(n, delay_branches(n, ex.key(n), ex.dt, n.delay))
        ex.delayed = True
    else:
        ex.place(n, _synapse(n, ex.shapes))


def _export_pool(n: ir.Pool, ex: _Export) -> None:
    why = refusal(n)
    if why is not None:
        raise ir.CompileError(f"nir: node {n.name!r} ({n.op}): {why}")
    cls = nir.SumPool2d if n.kind == "sum" else nir.AvgPool2d
    ex.place(n, cls(kernel_size=np.array(n.kernel), stride=np.array(n.stride),  # types inferred by nir
                    padding=np.array(n.padding)))


def _export_add(n: ir.Add, ex: _Export) -> None:
    ex.names[n.name] = _add_sources(n, ex.names)  # no NIR node: its consumers get one edge from each input


def _export_neuron(n: ir.Neuron, ex: _Export) -> None:
    why = refusal(n)
    if why is not None:
        raise ir.CompileError(f"nir: node {n.name!r} ({n.op}): {why}")
    ex.place(n, lava_neuron(n, ex.dt) if is_lava_neuron(n) else _neuron(n, ex.dt))


def _export_recurrent(n: ir.Recurrent, ex: _Export) -> None:
    """The neuron node (named after the layer) plus its recurrent synapse ``<key>_w_rec`` (Affine with ``b_rec``,
    else Linear) on a cycle ``neuron -> w_rec -> neuron``: the layout snnTorch 1.0's ``export_to_nir`` writes for
    ``RLeaky`` / ``RSynaptic`` (``lif -> w_rec -> lif``). NIR sums the edges into the neuron, so its input is
    ``W x[t] + V s[t-1] + b_rec``; the edge through ``w_rec`` carries the previous step's spikes."""
    why = refusal(n)
    if why is not None:
        raise ir.CompileError(f"nir: node {n.name!r} ({n.op}): {why}")
    ex.place(n, lava_neuron(n.cell, ex.dt) if is_lava_neuron(n) else _neuron(n.cell, ex.dt))
    key = ex.names[n.name][0]
    rec = f"{key}_w_rec"
    if rec in ex.nodes:
        raise ir.CompileError(f"nir: node {n.name!r}: recurrent synapse name {rec!r} is already taken")
    w = np.asarray(n.weight, dtype=np.float32)
    ex.nodes[rec] = (nir.Linear(weight=w) if n.bias is None
                     else nir.Affine(weight=w, bias=np.asarray(n.bias, dtype=np.float32)))
    ex.edges += [(key, rec), (rec, key)]


#: How each IR node type becomes NIR nodes and edges; the refused types carry ``NO_NIR``'s reason.
RULES = Rules("nir", {
    ir.Input: _export_input,
    ir.Dense: _export_synapse,
    ir.Conv: _export_synapse,
    ir.Pool: _export_pool,
    ir.Flatten: lambda n, ex: ex.place(n, nir.Flatten(input_type={"input": np.array(ex.shapes[n.inputs[0]])},
                                                      start_dim=0, end_dim=-1)),
    ir.Add: _export_add,
    ir.Neuron: _export_neuron,
    ir.Integrator: lambda n, ex: ex.place(n, _integrator(n, ex.dt)),
    ir.Recurrent: _export_recurrent,
}, refusals={ir.NODE_BY_OP[op]: f"op {op!r} is not supported by NIR: {why}" for op, why in NO_NIR.items()
             if op in ir.NODE_BY_OP})


def graph_to_nir(graph: ir.Graph, dt: float = DT) -> nir.NIRGraph:
    """Convert a float IR graph (with fan-out and residual adds) to a type-checked ``nir.NIRGraph``.

    Args:
        graph: IR after ``fold_bn`` and ``round_delays`` (the ``nir`` target's passes).
        dt: seconds per step written into the time constants and metadata.

    Returns:
        The graph with nodes ``input``, one per IR node (dots in names become ``_``; a delayed dense becomes one
        branch per delay value, see the module docstring; an ``add`` has no node, its inputs' edges go to its
        consumers), and ``output``.

    Example::

        g = graph_to_nir(fold_bn(capture(model, x)))
        sorted(g.nodes)          # ['0', '1', 'input', 'output']
    """
    ex = _Export(graph, dt)
    for n in graph.nodes:
        RULES.rule(n)(n, ex)
    ex.nodes["output"] = nir.Output(output_type={"output": np.array(ex.shapes[graph.output])})
    ex.edges += [(src, "output") for src in ex.names[graph.output]]
    meta = {"dt": dt, "source": "neurokit", **({"delays": DELAY_DECOMPOSITION} if ex.delayed else {})}
    return nir.NIRGraph(nodes=ex.nodes, edges=ex.edges, metadata=meta, type_check=True)


class NIRArtefact:
    """``graph`` (``nir.NIRGraph``); ``run`` re-imports it with :func:`neurokit.nir_import.from_nir`."""

    def __init__(self, graph: nir.NIRGraph):
        self.graph = graph
        self._module = None

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of the NIR graph as neurokit runs it: ``x [T, B, ...]`` -> ``[T, B, ...]`` (float)."""
        from .import_ import from_nir

        if self._module is None:
            self._module = from_nir(self.graph).eval()
        with torch.no_grad():
            return self._module(x.float())

    def save(self, path) -> None:
        """``nir.write`` to ``path`` atomically (temp file in the same folder, then rename)."""
        with atomic_path(path) as tmp:
            nir.write(tmp, self.graph)

    def report(self) -> dict:
        kinds: dict[str, int] = {}
        for node in self.graph.nodes.values():
            kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
        return {"nir_nodes": kinds, "nir_edges": len(self.graph.edges), "dt": self.graph.metadata.get("dt", DT)}


@dataclass(frozen=True)
class NIROptions:
    """Option of ``nir``: ``dt``, seconds per step written into time constants and metadata (default 1e-4)."""

    dt: float = DT

    def __post_init__(self) -> None:
        if isinstance(self.dt, bool) or not isinstance(self.dt, (int, float)):
            raise TypeError(f"target 'nir': dt must be a number of seconds > 0, got {type(self.dt).__name__} "
                            f"{self.dt!r}")
        if not math.isfinite(self.dt) or not self.dt > 0:
            raise ValueError(f"target 'nir': dt must be > 0 seconds, got {self.dt!r}")
        object.__setattr__(self, "dt", float(self.dt))


class NIRTarget:
    """NIR export target (module docstring); option: :class:`NIROptions`."""

    name = "nir"
    Options = NIROptions
    node_types = NODE_TYPES
    refusals = NO_NIR
    supports = SUPPORTS
    passes = (graph_pass(round_delays), graph_pass(fold_bn), graph_pass(check_nir),
              graph_pass(lambda g: check_limits(g, SUPPORTS)))

    def lower(self, graph: ir.Graph, options: NIROptions) -> NIRArtefact:
        return NIRArtefact(graph_to_nir(graph, options.dt))
