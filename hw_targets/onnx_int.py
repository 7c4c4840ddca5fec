"""Target ``onnx_int``: an integer-only ONNX model (opset 17) run by onnxruntime, bit-identical to the integer
reference simulator (:mod:`compile.integer_sim`).

Pipeline: ``fold_bn -> compose_convs -> round_delays -> quantize -> check_limits`` then
:func:`hw_targets.onnx_lower.lower`.
Declared limits: weights <= 8 bits (int8 containers; 1-bit binary weights are stored as int8 +-1),
accumulators requantized to 16 bits (the same integer model as the Loihi target, so both match one simulator),
int8 synapse inputs, delays 0..255 (shift-register delay lines), hard and soft reset, LIF/IF/CUBA, integer
thresholds without Lava's 6-bit shift (``vth_shift=0``: 64x finer thresholds, closer to the float model).
A graph of Lava layers (``nk.from_netx``: :mod:`compile.capture_lava`) keeps Lava's integers instead
(``LAVA_LIMITS``): netx's 9-bit weights (two int8 terms), Lava's accumulator as it is (no rescaling), Lava's CUBA
LIF in its ``(6, 6, 24)`` format, Lava's one-step synaptic latency (``neurokit.latency = 1`` in the metadata; the
reference is ``integer_sim.run(cm.graph, x, latency=1)``), the 24-bit conv wrap, and the integer ``a_in`` of input
neurons as the graph input; such a graph holds Lava blocks and flatten only.
Spiking transformers (Spikformer SSA / SDSA token ops ``reshape``/``permute``/``mean``/``matmul``/``mask``) lower as
integer data movement, integer sums and spike x spike integer products (:mod:`hw_targets.onnx_tokens`). Refused
first, with the reason (``UNSUPPORTED``): ALIF neurons. Recurrent layers (``nk.layers.Recurrent``) carry their
previous step's spikes as ``Loop`` state (:mod:`hw_targets.onnx_lower`). Sigma-delta networks (``nk.SigmaDelta``,
``nk.models.sdnn_cnn``) run Lava's fixed-point ``Delta`` / ``SigmaDelta`` / ``Sigma`` arithmetic
(:func:`neurokit.integer.sigma_delta_step`) with int64 graded messages of up to ``payload_bits`` (the integer
reference raises when a message leaves that width; the ONNX graph computes the same int64 values without a check).

Time loop: ``time_loop="loop"`` (default) emits one ONNX ``Loop`` over T: the model is independent of T and its
size is one step's; ``"unrolled"`` copies the step T times (fixed T). Both give identical outputs (tested).
Measured with ``benchmarks/onnx_time_loop.py`` (onnxruntime 1.32, 1 CPU thread, B=16): MLP 64-128-10 at T=32:
Loop 14.7 kB / 6.7 ms, unrolled 76.7 kB / 9.8 ms; quantized CNN at T=32: Loop 6.3 kB / 39.8 ms, unrolled
79.8 kB / 31.2 ms. Unrolling is up to ~25 % faster for conv nets but grows linearly with T and fixes T, and is
slower for dense nets, so Loop is the default (any T, constant size).

onnxruntime pitfalls handled (its ``docs/OperatorKernels.md``, CPUExecutionProvider): no int8 ``MatMul``
(``MatMulInteger`` is used);
``BitShift`` is unsigned only (signed shifts are integer ``Div``, which truncates toward zero in ORT, as the
integer neuron specifies); ``Where``/``Clip`` lack int8/int16 (int64 state is used); the decay product needs
36 bits (int64); graph optimisation is limited to the basic level (no Q/DQ fusion rewrites).

Example::

    cm = nk.compile(model, target="onnx_int", example_input=x)
    spikes = cm.run(x)            # int64 tensor [T, B, ...], == compile.integer_sim.run(cm.graph, x)
    cm.save("model.onnx"); m = hw_targets.load("model.onnx"); m.run(x)
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
import torch

from compile import ir
from compile.capture_lava import check_all_lava, is_lava_neuron, lava_latency, reads_input_neuron
from compile.compiled import check_run_input
from compile.integer_sim import check_a_in
from compile.passes import (
    Limits,
    check_limits,
    check_supported,
    compose_convs,
    fold_bn,
    quantize,
    round_delays,
)
from compile.target import PassContext, graph_pass, ops_of
from hw_targets.onnx_lower import lower
from neurokit.integer import ACT_SHIFT, MAX_UV, SD_PAYLOAD_BITS, UV_BITS

#: Node types the integer lowering has a rule for.
NODE_TYPES = frozenset(ir.NODE_TYPES)
SUPPORTS = Limits(ops=ops_of(NODE_TYPES), weight_bits=8, acc_bits=16, act_bits=8, vth_bits=23, max_delay=255,
                  payload_bits=32)
VTH_SHIFT = 0  # thresholds at the membrane's full resolution (Lava uses 6)
#: why ``onnx_int`` refuses a neuron kind (:func:`compile.passes.check_supported`)
UNSUPPORTED = {
    "alif": "the adaptive threshold (ALIF) is not part of Lava's CUBA-LIF integer neuron model that integer "
            "targets implement (run it on target 'gpu')",
}


def _session(data: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class OnnxProgram:
    """An integer ONNX model plus its onnxruntime session. ``run(x [T, B, ...] float) -> int64 torch tensor``."""

    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.meta = {p.key: p.value for p in model.metadata_props}
        self.input_shape = _input_shape(self.meta)
        inputs, outputs = [i.name for i in model.graph.input], [o.name for o in model.graph.output]
        if inputs != ["x"] or "y" not in outputs:
            raise ValueError(f"graph inputs {inputs} / outputs {outputs}: expected input 'x' and output 'y' "
                             "(the layout neurokit's onnx_int target writes)")
        self.session = _session(model.SerializeToString())

    def run(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
        check_run_input(x, tuple(self.input_shape), "run (onnx_int)")
        steps = self.meta.get("neurokit.steps")
        if self.meta.get("neurokit.time_loop") == "unrolled" and steps is not None and int(steps) != x.shape[0]:
            raise ValueError(f"run (onnx_int): x has T={x.shape[0]} steps but this model was unrolled for T={steps}; "
                             f"pass T={steps} steps, or compile with time_loop='loop' (any T) or steps={x.shape[0]}")
        arr = x.detach().cpu().numpy().astype(np.float32)
        if self.meta.get("neurokit.input_a_in") == "true":
            check_a_in(arr)
        elif self.meta.get("neurokit.input_spikes") == "true" and not np.isin(arr, (0.0, 1.0)).all():
            raise ValueError("x: this model was compiled for 0/1 spike input; got other values")
        (y,) = self.session.run(["y"], {"x": arr})
        return torch.from_numpy(y.astype(np.int64))

    def save(self, path: str | os.PathLike) -> None:
        """Write the .onnx file atomically."""
        from compile.compiled import atomic_write

        atomic_write(path, lambda f: f.write(self.model.SerializeToString()))

    def report(self) -> dict:
        ops: dict[str, int] = {}
        for node in all_nodes(self.model.graph):
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        return {"onnx_ops": dict(sorted(ops.items())), "onnx_bytes": self.model.ByteSize(),
                "time_loop": self.meta.get("neurokit.time_loop")}


def _input_shape(meta: dict) -> list[int]:
    """The per-step input shape neurokit stored (``neurokit.input_shape``); ``ValueError`` when absent or bad."""
    if "neurokit.input_shape" not in meta:
        raise ValueError("metadata 'neurokit.input_shape' is missing: not an ONNX model written by neurokit's "
                         "onnx_int target (cm.save)")
    try:
        shape = json.loads(meta["neurokit.input_shape"])
    except ValueError as err:
        raise ValueError(f"metadata 'neurokit.input_shape' is not JSON ({err})") from err
    if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                                            for d in shape)):
        raise ValueError(f"metadata 'neurokit.input_shape' must be a list of ints >= 1, got {shape!r}")
    return shape


def all_nodes(graph: onnx.GraphProto):
    """Every node of ``graph`` and of its subgraphs (Loop bodies)."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attr.g)


@dataclass(frozen=True)
class OnnxIntOptions:
    """Options of ``onnx_int``: ``weight_bits`` (1..8), ``per_channel`` (per-output-channel weight scales),
    ``time_loop`` (``"loop"`` | ``"unrolled"``), ``steps`` (T of an unrolled model; default the example's T),
    ``payload_bits`` (signed width of sigma-delta graded messages, 2..32; Lava's 24) and ``sdnn_weight_exp``
    (power-of-two weight scales into sigma-delta units, netx's weight exponent: :mod:`compile.passes.quantize_sdnn`)."""

    weight_bits: int = 8
    per_channel: bool = True
    time_loop: str = "loop"
    steps: int | None = None
    payload_bits: int = SD_PAYLOAD_BITS
    sdnn_weight_exp: bool = False

    def __post_init__(self) -> None:
        wb = self.weight_bits
        if isinstance(wb, bool) or not isinstance(wb, int):
            raise TypeError(f"onnx_int: weight_bits must be an int in [1, {SUPPORTS.weight_bits}], got "
                            f"{type(wb).__name__} {wb!r}")
        if not 1 <= wb <= SUPPORTS.weight_bits:
            raise ValueError(f"onnx_int: weight_bits must be in [1, {SUPPORTS.weight_bits}], got {wb!r}")
        if not isinstance(self.per_channel, bool):
            raise TypeError(f"onnx_int: per_channel must be a bool, got {self.per_channel!r}")
        if self.time_loop not in ("loop", "unrolled"):
            raise ValueError(f"onnx_int: time_loop must be 'loop' or 'unrolled', got {self.time_loop!r}")
        st = self.steps
        if st is not None and (isinstance(st, bool) or not isinstance(st, int)):
            raise TypeError(f"onnx_int: steps must be an int >= 1 (T of the unrolled model), got "
                            f"{type(st).__name__} {st!r}")
        if st is not None and st < 1:
            raise ValueError(f"onnx_int: steps must be an int >= 1 (T of the unrolled model), got {st!r}")
        pb = self.payload_bits
        if isinstance(pb, bool) or not isinstance(pb, int) or not 2 <= pb <= SUPPORTS.payload_bits:
            raise ValueError(f"onnx_int: payload_bits must be an int in [2, {SUPPORTS.payload_bits}] (signed width "
                             f"of graded sigma-delta messages), got {pb!r}")
        if not isinstance(self.sdnn_weight_exp, bool):
            raise TypeError(f"onnx_int: sdnn_weight_exp must be a bool, got {self.sdnn_weight_exp!r}")

    def resolve(self, example_input: torch.Tensor) -> OnnxIntOptions:
        """These options with ``steps`` defaulting to the example input's T."""
        return self if self.steps is not None else dataclasses.replace(self, steps=int(example_input.shape[0]))


def _quantize(graph: ir.Graph, ctx: PassContext) -> ir.Graph:
    """The ``quantize`` pass with this target's accumulator width and threshold shift."""
    opts = ctx.options
    return quantize(graph, weight_bits=opts.weight_bits, per_channel=opts.per_channel, acc_bits=SUPPORTS.acc_bits,
                    input_absmax=float(ctx.example_input.detach().abs().max()), vth_shift=VTH_SHIFT,
                    payload_bits=opts.payload_bits, sdnn_weight_exp=opts.sdnn_weight_exp)



#: The ranges of Lava layers (``nk.from_netx``): netx's 9-bit weights ``[-256, 254]`` (two int8 terms), Lava's
#: accumulator as it is (no rescaling, int32), netx thresholds up to ``vThMant = 2**18 - 1`` (``vth_shift = 6``).
LAVA_LIMITS = dataclasses.replace(SUPPORTS, weight_bits=10, acc_bits=32, vth_bits=25)
#: A Lava neuron's bias is folded into ``a_in`` (Lava adds ``bias << 6`` to ``v``); both agree while ``u = a_in << 6``
#: cannot wrap, i.e. ``|a_in + bias| < 2**17`` (:mod:`neurokit.layers.lava`).
_BIAS_FOLD_MAX = MAX_UV >> ACT_SHIFT


def _lava_structure(graph: ir.Graph) -> ir.Graph:
    """A graph of Lava layers (``nk.from_netx``) holds nothing else (:func:`compile.capture_lava.check_all_lava`)."""
    check_all_lava(graph, "onnx_int")
    return graph


def _lava_exact(graph: ir.Graph) -> ir.Graph:
    """After quantization: every Lava layer kept Lava's integers (weights, bias, no rescaling, the neuron as
    captured), and a biased neuron's ``a_in + bias`` cannot wrap ``u``; ``CompileError`` naming the node otherwise."""
    for n in graph.nodes:
        if not is_lava_neuron(n) or n.inputs[0] == graph.input.name:
            continue
        syn = graph.node(n.inputs[0])
        cell = n.cell if n.op == "recurrent" else n  # a dense_rec block: its Lava neuron is the recurrent cell
        q, p, lp = syn.quant, cell.integer, cell.layer_integer
        kept = (q.requant is None and np.array_equal(q.weight, syn.int_weight)
                and (n.op != "recurrent" or n.quant.requant is None)
                and (p.decay_u, p.decay_v, p.reset, p.act_shift, p.vth_shift, p.uv_bits, p.u_register)
                == (lp.decay_u, lp.decay_v, "hard", ACT_SHIFT, ACT_SHIFT, UV_BITS, True)
                and np.all(p.vth == lp.vth))
        if not kept:
            raise ir.CompileError(f"onnx_int: node {syn.name!r} ({syn.op}): a Lava layer (nk.from_netx) keeps netx's "
                                  "integers, but the quantize pass changed them; compile with the default "
                                  "weight_bits=8")
        acc_max = (n.quant if n.op == "recurrent" else q).acc_max.max()  # recurrent: W s + V s[t-1] + bias
        if q.bias is not None and acc_max >= _BIAS_FOLD_MAX:
            raise ir.CompileError(f"onnx_int: node {cell.name!r} (neuron): |a_in + bias| may reach "
                                  f"{int(acc_max)} >= {_BIAS_FOLD_MAX}, where Lava's bias (added to v) and "
                                  "the bias folded into a_in differ (the 24-bit current u would wrap)")
    return graph


def _check_limits(graph: ir.Graph) -> ir.Graph:
    """``check_limits`` with ``SUPPORTS``, or ``LAVA_LIMITS`` for a graph of Lava layers."""
    return check_limits(graph, LAVA_LIMITS if lava_latency(graph) else SUPPORTS)


class OnnxIntTarget:
    """The ``onnx_int`` target (module docstring); options: :class:`OnnxIntOptions`."""

    name = "onnx_int"
    Options = OnnxIntOptions
    node_types = NODE_TYPES
    refusals = UNSUPPORTED
    supports = SUPPORTS
    passes = (graph_pass(lambda g: check_supported(g, SUPPORTS, "onnx_int", UNSUPPORTED)), graph_pass(_lava_structure),
              graph_pass(fold_bn), graph_pass(compose_convs), graph_pass(round_delays), _quantize,
              graph_pass(_lava_exact), graph_pass(_check_limits))

    def lower(self, graph: ir.Graph, options: OnnxIntOptions) -> OnnxProgram:
        latency = lava_latency(graph)
        model = lower(graph, options.time_loop, options.steps, latency)
        meta = {"neurokit.input_shape": json.dumps(list(graph.input.shape)),
                "neurokit.input_spikes": "true" if graph.input.spikes else "false",
                "neurokit.input_a_in": "true" if reads_input_neuron(graph) else "false",
                "neurokit.latency": str(latency),
                "neurokit.output_scale": json.dumps(np.asarray(graph.scales[graph.output], float).ravel().tolist()),
                "neurokit.time_loop": options.time_loop, "neurokit.steps": str(options.steps)}
        onnx.helper.set_model_props(model, meta)
        onnx.checker.check_model(model, full_check=True)
        return OnnxProgram(model)


def load(path: str | os.PathLike) -> OnnxProgram:
    """Load a saved integer ONNX model into a fresh onnxruntime session. ``ValueError`` for a missing, corrupt
    or invalid file. Example: ``load("net.onnx").run(x)``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"load: no file at {path!r}")
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        return OnnxProgram(model)
    except Exception as err:  # onnx DecodeError / ValidationError / ORT failures, all as one clear error
        raise ValueError(f"load: {path!r} is not a valid ONNX model ({type(err).__name__}: "
                         f"{str(err).strip().splitlines()[0] if str(err).strip() else ''})") from err
