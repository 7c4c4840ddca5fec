"""The small typed IR that every compile pass and hardware target works on.

A :class:`Graph` is an ordered list of nodes (topological order, the input first). Every node has

* ``name``   - the module path in the captured model (``"features.3"``) or a generated name (``"add_1"``);
* ``inputs`` - names of the nodes it reads;
* ``shape``  - its per-step output shape **without** the leading ``[T, B]`` (time-major everywhere).

Node kinds (``node.op``):

=============  ==============================================================================
``input``      the graph input; after :func:`compile.passes.quantize.quantize` carries ``scale``
``dense``      ``y[t] = W x[t] + b`` (``nn.Linear``); with ``delay`` set it is a delayed synapse
               ``y[t, o] = sum_j W[o, j] x[t - d[o, j], j] + b[o]`` (``DelayedLinear``)
``conv``       2-D convolution on ``[C, H, W]`` per step
``batchnorm``  per-channel affine ``(x - mean) / sqrt(var + eps) * gamma + beta`` over ``axis`` (0: channels of
               ``[C, ...]``; the last axis: tokens ``[N, C]``)
``pool``       ``max`` or ``avg`` 2-D pooling
``flatten``    ``[C, H, W] -> [C*H*W]``
``reshape``    row-major per-step reshape to ``shape`` (image -> tokens, attention heads)
``permute``    per-step axis permutation ``perm`` (``transpose`` of two per-step axes)
``mean``       mean over per-step ``axes`` (``keepdim`` as torch)
``add``        element-wise sum of all inputs (residual connections)
``matmul``     ``scale * (a @ b)`` of two activation tensors (``SpikeMatMul``, attention)
``mask``       ``a * b`` of two activation tensors, optionally summed over the token axis (``SpikeMask``)
``neuron``     LIF / IF / CUBA-LIF / ALIF (float parameters; after quantization also ``integer``)
``integrator`` non-spiking leaky readout ``v[t] = v[t-1] (1 - 1/tau) + x[t]``, output the trace ``v``
``recurrent``  neuron population with a recurrent synapse ``s[t] = cell(x[t] + V s[t-1] + b_rec)``; its input is the
               feed-forward ``dense`` node of the same layer (``<name>.ff``)
``sigma_delta`` sigma-delta unit with graded messages (``nk.SigmaDelta``; ``sigma=False``: a delta encoder)
``sigma``      sigma decoder read-out ``y[t] = sum_{k<=t} x[k] + bias`` (``nk.neurons.Sigma``)
=============  ==============================================================================

The token ops of spiking transformers (``TOKEN_OPS``: ``reshape``, ``permute``, ``mean``, ``matmul``, ``mask``) run on
``gpu`` and, quantized (:mod:`compile.passes.quantize_tokens`), on ``onnx_int``; ``loihi2`` refuses them, and every
integer target refuses ALIF neurons, with the reason (:func:`compile.passes.check_supported`).

After :func:`compile.passes.quantize.quantize` every synapse node (``dense``/``conv``) carries a
:class:`QuantSynapse` (``node.quant``), every neuron an :class:`neurokit.integer.IntNeuronParams`
and every integrator an :class:`neurokit.integer.IntIntegratorParams` (``node.integer``); tensors between
nodes are then integers whose real value is ``scale * int`` (``Graph.scales``). That quantized graph is what
:mod:`compile.integer_sim` runs and what integer targets lower.

Example::

    g = Graph([Input("input", (), (4,)),
               Dense("fc", ("input",), (3,), weight=np.ones((3, 4), np.float32)),
               Neuron("lif", ("fc",), (3,), kind="lif", tau=2.0, v_threshold=1.0)])
    g.node("fc").weight.shape      # (3, 4)
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from neurokit.errors import CompileError
from neurokit.integer import SD_ACTIVATIONS, IntIntegratorParams, IntNeuronParams, IntSigmaDeltaParams

Shape = tuple[int, ...]


@dataclass
class Requant:
    """Integer-only rescaling of an int32 accumulator: ``acc' = trunc(acc * multiplier / 2**shift)``.

    ``multiplier``: int64 ``[O]`` (one per output channel, ``1 <= m <= 2**shift``); ``shift``: int.
    Division rounds toward zero (ONNX integer ``Div``), or down with ``floor=True`` (an arithmetic right shift,
    the accumulator shift of QAT ``QuantLIF`` layers). Example: ``Requant(np.array([3]), 2)`` maps ``acc=-7``
    to ``trunc(-21 / 4) = -5`` (``floor=True``: -6).
    """

    multiplier: np.ndarray
    shift: int
    floor: bool = False


@dataclass
class QuantSynapse:
    """Integer parameters of a synapse (set by the quantize pass).

    weight:   integer weights (int64 array, same shape as the float weight), ``|w| <= 2**(bits-1) - 1``
              (``bits == 1``: values in ``{-1, +1}``)
    scale:    float64 ``[O]``; the float weight is ``scale[o] * weight[o]``
    in_scale: real value of one integer unit of the input tensor
    bias:     int64 ``[O]`` in accumulator units (added to the int32 accumulator) or ``None``
    requant:  optional :class:`Requant` applied to the accumulator before the neuron
    acc_scale: float64 ``[O]``: real value of one unit of the (requantized) accumulator
    in_max:   largest ``|x|`` of the integer input tensor (1 for spikes)
    acc_max:  int64 ``[O]``: worst-case ``|acc|`` after requantization (bias included)
    """

    bits: int
    weight: np.ndarray
    scale: np.ndarray
    in_scale: float
    bias: np.ndarray | None
    requant: Requant | None
    acc_scale: np.ndarray
    in_max: int
    acc_max: np.ndarray


@dataclass
class Node:
    """Base node: ``name`` (module path), ``inputs`` (node names), ``shape`` (per-step, no T/B)."""

    name: str
    inputs: tuple[str, ...]
    shape: Shape
    op = "node"


@dataclass
class Input(Node):
    """Graph input. ``scale``/``zero_point``/``signed``: integer encoding of the input after quantization
    (``scale == 1.0`` and ``spikes=True`` for 0/1 spike inputs)."""

    spikes: bool = False
    scale: float | None = None
    zero_point: int = 0
    signed: bool = True
    op = "input"


@dataclass
class Dense(Node):
    """Fully connected synapse on the last axis. weight ``[O, I]``, bias ``[O]`` or None, delay ``[O, I]`` or
    None (float while learned, int64 after :func:`compile.passes.delays.round_delays`). ``weight_bits``: the bit
    width a binary/QAT layer was trained at (used by quantization), else None. ``input_levels``: the layer
    quantizes its (graph) input in [0, 1] to ``round(x * L) / L`` (QAT ``input_bits``), else None. ``int_weight``
    (int64, ``weight``'s shape) and ``weight_scale`` (float64 ``[O]``): the exact integers and per-channel scale of a
    binary / QAT layer, taken from the layer (``weight == int_weight * weight_scale``), else None. ``netx``: the
    datasets of the lava-dl netx block a ``nk.from_netx`` layer was read from (``{"block": ..., "network": ...}``),
    written back by the ``loihi2`` target, else None."""

    weight: np.ndarray = None
    bias: np.ndarray | None = None
    delay: np.ndarray | None = None
    weight_bits: int | None = None
    input_levels: int | None = None
    int_weight: np.ndarray | None = None
    weight_scale: np.ndarray | None = None
    quant: QuantSynapse | None = None
    netx: dict | None = None
    op = "dense"


@dataclass
class Conv(Node):
    """2-D convolution: weight ``[O, C/groups, kH, kW]``, bias ``[O]`` or None; stride/padding/dilation
    are ``(h, w)`` tuples; ``weight_bits``, ``input_levels``, ``int_weight``, ``weight_scale`` as for :class:`Dense`."""

    weight: np.ndarray = None
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    weight_bits: int | None = None
    input_levels: int | None = None
    int_weight: np.ndarray | None = None
    weight_scale: np.ndarray | None = None
    quant: QuantSynapse | None = None
    netx: dict | None = None
    op = "conv"


@dataclass
class BatchNorm(Node):
    """Inference batch norm ``(x - mean)/sqrt(var+eps)*gamma+beta`` over per-step axis ``axis``: 0 for channels
    ``[C, H, W]`` / ``[C]`` (``BatchNorm2d``/``1d``), ``len(shape) - 1`` for tokens ``[N, C]`` (``TokenBatchNorm``)."""

    mean: np.ndarray = None
    var: np.ndarray = None
    gamma: np.ndarray = None
    beta: np.ndarray = None
    eps: float = 1e-5
    axis: int = 0
    op = "batchnorm"


@dataclass
class Pool(Node):
    """2-D pooling on ``[C, H, W]``: ``kind`` is ``"max"``, ``"avg"`` (count_include_pad=True) or ``"sum"`` (the
    window's plain sum: ``AvgPool2d(divisor_override=1)``, NIR's ``SumPool2d``)."""

    kind: str = "max"
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: tuple[int, int] = (0, 0)
    op = "pool"


@dataclass
class Flatten(Node):
    """Flatten the per-step shape to one axis."""

    op = "flatten"


@dataclass
class Reshape(Node):
    """Row-major per-step reshape ``[T, B, *in] -> [T, B, *shape]`` (same element count per step).
    Example: ``Reshape("tok", ("conv",), (32, 16))`` after a ``[32, 4, 4]`` conv (``x.flatten(3)``)."""

    op = "reshape"


@dataclass
class Permute(Node):
    """Per-step axis permutation: output axis ``i`` is input axis ``perm[i]`` (``[T, B]`` stay in place).
    Example: ``Permute("t", ("tok",), (16, 32), perm=(1, 0))`` is ``x.transpose(-1, -2)`` on ``[T, B, 32, 16]``."""

    perm: tuple[int, ...] = ()
    op = "permute"


@dataclass
class Mean(Node):
    """Mean over per-step ``axes`` (tokens: ``x.mean(2)`` on ``[T, B, N, C]`` is ``axes=(0,)``), ``keepdim`` as torch.
    ``requant`` (set by quantization when the integer sum feeding a synapse may leave the int8 input range):
    integer-only rescaling of the sum, as for :class:`MatMul`.
    Example: ``Mean("pool", ("tok",), (32,), axes=(0,))``."""

    axes: tuple[int, ...] = ()
    keepdim: bool = False
    requant: Requant | None = None
    op = "mean"


@dataclass
class Add(Node):
    """Element-wise sum of all inputs (same shapes). ``rescale`` (set by quantization when the inputs have different
    scales, e.g. a membrane-level residual stream of synapse accumulators): one :class:`Requant` (or None) per input
    that brings it to the common integer unit before the sum; ``()``: inputs added as they are."""

    rescale: tuple[Requant | None, ...] = ()
    op = "add"


@dataclass
class MatMul(Node):
    """``scale * (a @ b)`` of two activation tensors ``inputs = (a, b)`` (``nk.layers.SpikeMatMul``): per step
    ``a [..., N, K]``, ``b [..., K, M]`` (same rank) -> ``[..., N, M]``. With 0/1 spikes ``a @ b`` is an integer
    count. ``requant`` (set by quantization when the worst-case count exceeds the accumulator width): integer-only
rescaling of the count, as for a synapse; ``scale`` itself is never applied, it lives in ``Graph.scales`` (and so in
the next neuron's integer threshold). Example: ``MatMul("kv", ("kT", "v"), (2, 16, 16), scale=1.0)``."""

    scale: float = 1.0
    requant: Requant | None = None
    op = "matmul"


@dataclass
class Mask(Node):
    """``a * b`` of two activation tensors ``inputs = (a, b)`` (broadcast as torch; ``nk.layers.SpikeMask``),
    with ``sum_tokens`` summed over per-step axis -2 (kept). Example: ``Mask("kv", ("k", "v"), (1, 32),
    sum_tokens=True)``
    on ``[16, 32]`` spikes. ``requant`` as for :class:`MatMul`."""

    sum_tokens: bool = False
    requant: Requant | None = None
    op = "mask"


@dataclass
class Neuron(Node):
    """Spiking neuron population.

    kind: ``"lif"`` (also PLIF, with its learned tau), ``"if"``, ``"cuba"`` (CUBA-LIF) or ``"alif"`` (adaptive
    threshold ``v_threshold + beta * b``, ``b = b (1 - 1/tau_adapt) + s_prev / tau_adapt``; float targets only);
    tau, tau_syn (cuba only), tau_adapt and beta (alif only), v_threshold, v_reset (a number: hard reset; ``None``: soft
    reset by subtraction), decay_input (LIF form), reset_after_decay (snnTorch's one-step-late reset; integer:
    ``IntNeuronParams.reset_next_step``).
    act_shift / uv_bits: integer format a QAT neuron was trained with (``QuantLIF``: input_shift,
    membrane_bits), else None (the target's). unit (QAT neurons only): the real value of one integer input unit
    exactly as the eager ``QuantLIF`` sees it (float64 ``[C]``: the synapse's ``output_unit()`` inside an
    ``IntegerSpikingLayer``; ``()`` holding 1.0 for a bare ``QuantLIF``), so the ``gpu`` target can run the
    module's own integer forward. ``layer_integer`` and ``acc_shift`` (QAT neurons only): the layer's own integer
    neuron (``QuantLIF.integer_neuron``: its integer thresholds) and accumulator right shift ``r``, taken from the layer
    (``integer_params()``), which the quantize pass uses as they are when the synapse keeps the layer's integers.
    ``integer`` is set by the quantize pass.
    """

    kind: str = "lif"
    tau: float = 2.0
    tau_syn: float | None = None
    tau_adapt: float | None = None
    beta: float | None = None
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    decay_input: bool = False
    reset_after_decay: bool = False
    act_shift: int | None = None
    uv_bits: int | None = None
    unit: np.ndarray | None = None
    layer_integer: IntNeuronParams | None = None
    acc_shift: int | None = None
    integer: IntNeuronParams | None = None
    op = "neuron"


@dataclass
class Integrator(Node):
    """Non-spiking leaky integrator (``nk.layers.LeakyIntegrator``): ``v[t] = v[t-1] * (1 - 1/tau) + x[t]`` from
    ``v = 0``; the output is the membrane trace ``v`` (not spikes). ``integer`` is set by the quantize pass
    (:class:`neurokit.integer.IntIntegratorParams`). Example: ``Integrator("ro", ("fc",), (4,), tau=20.0)``.
    """

    tau: float = 2.0
    integer: IntIntegratorParams | None = None
    op = "integrator"


@dataclass
class Recurrent(Node):
    """Neuron population with a recurrent dense synapse (``nk.layers.Recurrent``, its feed-forward product being the
    preceding ``dense`` node): ``s[t] = cell(x[t] + V s[t-1] + b_rec)``, ``s[-1] = 0``, the output the spikes ``s``.

    weight: ``V [O, O]`` (``V[o, j]`` weights the spike of neuron ``j`` into neuron ``o``); bias: ``b_rec [O]`` or None;
    cell: the neuron's dynamics as an :class:`Neuron` node (its ``name`` is ``<name>.neuron``, ``inputs`` empty).
    After quantization (:mod:`compile.passes.quantize_recurrent`) ``quant`` holds ``V``'s integers in the unit of the
    feed-forward accumulator (``bias``: ``b_rec`` in that unit; ``requant``: the rescaling of the SUM
    ``W x + b + V s[t-1] + b_rec``; ``acc_max``: the sum's worst case) and ``cell.integer`` the integer neuron.
    Example: ``Recurrent("rec", ("rec.ff",), (4,), weight=np.zeros((4, 4)), cell=Neuron("rec.neuron", (), (4,)))``.
    """

    weight: np.ndarray = None
    bias: np.ndarray | None = None
    cell: Neuron = None
    quant: QuantSynapse | None = None
    op = "recurrent"


@dataclass
class SigmaDelta(Node):
    """Sigma-delta unit with graded messages (``nk.SigmaDelta``, lava-dl slayer's sigma-delta neuron, time-major):
    ``sigma=True``: ``s[t] = s[t-1] + x[t]``, ``a[t] = act(s[t] + bias)``; ``sigma=False``: ``a[t] = x[t]`` (a delta
    encoder, Lava's ``Delta``: no bias, no activation); then the delta encoder sends ``a[t] - a[t-1] + residue`` when
    its magnitude (``cum_error``: the error accumulated since the last message) reaches ``threshold``.

    threshold: float ``>= 0`` (the module's, already on lava-dl's grid when ``scale`` is set); activation: ``"relu"`` |
    ``"identity"`` (Lava's ``ActivationMode`` RELU / UNIT: the only lowerable ones; the node refuses others);
    cum_error; scale: lava-dl's weight scale (messages on the grid ``1 / (64 * scale)``) or None (float messages);
    bias: float ``[C]`` (dim 0 of the per-step shape) or None. ``integer`` (set by the quantize pass,
    :mod:`compile.passes.quantize_sdnn`): :class:`neurokit.integer.IntSigmaDeltaParams` (Lava's fixed-point unit).
    Example: ``SigmaDelta("2", ("1",), (8, 4, 4), threshold=0.05, bias=np.zeros(8))``.
    """

    threshold: float = 0.0
    activation: str = "relu"
    cum_error: bool = False
    sigma: bool = True
    scale: int | None = None
    bias: np.ndarray | None = None
    integer: IntSigmaDeltaParams | None = None
    op = "sigma_delta"

    def __post_init__(self) -> None:
        if self.activation not in SD_ACTIVATIONS:
            raise CompileError(f"IR node {self.name!r} (sigma_delta): activation {self.activation!r} has no integer "
                               f"or Lava form; lowerable activations: {SD_ACTIVATIONS} (Lava's RELU and UNIT)")


@dataclass
class Sigma(Node):
    """Sigma decoder read-out (``nk.neurons.Sigma``, netx's ``sigma_output``): ``y[t] = sum_{k<=t} x[k] + bias``;
    bias float ``[C]`` or None. ``integer``: :class:`neurokit.integer.IntSigmaDeltaParams` with ``kind="sigma"``.
    Example: ``Sigma("out", ("fc",), (10,))``."""

    bias: np.ndarray | None = None
    integer: IntSigmaDeltaParams | None = None
    op = "sigma"


#: Every IR node class, in the order of the table above (interpreters dispatch on these types: ``compile.dispatch``).
NODE_TYPES: tuple[type[Node], ...] = (Input, Dense, Conv, BatchNorm, Pool, Flatten, Reshape, Permute, Mean, Add, MatMul,
                                      Mask, Neuron, Integrator, Recurrent, SigmaDelta, Sigma)
#: ``node.op`` string -> node class (``NODE_BY_OP["dense"] is Dense``).
NODE_BY_OP: dict[str, type[Node]] = {t.op: t for t in NODE_TYPES}

SYNAPSES = ("dense", "conv")
TOKEN_OPS = ("reshape", "permute", "mean", "matmul", "mask")  # spiking-transformer ops (compile.passes.quantize_tokens)
PRODUCTS = ("matmul", "mask")  # products of two activation tensors (may carry an integer ``requant``)
STATEFUL = ("neuron", "integrator", "sigma_delta", "sigma")  # nodes with ``node.integer`` after quantization
SDNN = ("sigma_delta", "sigma")  # sigma-delta nodes (graded messages; :mod:`compile.passes.quantize_sdnn`)


@dataclass
class Graph:
    """Ordered nodes (topological, input first); the output is ``output`` (default: the last node).

    ``scales`` (filled by quantization): node name -> real value of one integer unit of its output
    (a float, or an array broadcastable to the node's shape for accumulators). ``warnings``: precision-loss
    and limit warnings collected by the passes (shown by ``CompiledModel.report()``).
    """

    nodes: list[Node]
    output: str | None = None
    scales: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.output is None and self.nodes:
            self.output = self.nodes[-1].name
        self.check()

    def check(self) -> None:
        """Raise :class:`CompileError` unless names are unique, inputs precede use and one input exists."""
        seen: set[str] = set()
        for i, n in enumerate(self.nodes):
            if n.name in seen:
                raise CompileError(f"IR node name {n.name!r} appears twice")
            if (n.op == "input") != (i == 0):
                raise CompileError(f"IR node {n.name!r} ({n.op}): the graph must start with exactly one input")
            for src in n.inputs:
                if src not in seen:
                    raise CompileError(f"IR node {n.name!r} ({n.op}) reads {src!r}, which is not defined before it")
            seen.add(n.name)
        if self.output is not None and self.output not in seen:
            raise CompileError(f"IR output {self.output!r} is not a node")

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def input(self) -> Input:
        """The input node."""
        return self.nodes[0]

    def node(self, name: str) -> Node:
        """The node called ``name`` (KeyError naming the known nodes otherwise)."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no IR node {name!r}; nodes: {[n.name for n in self.nodes]}")

    def consumers(self, name: str) -> list[Node]:
        """Nodes that read ``name``."""
        return [n for n in self.nodes if name in n.inputs]

    def copy(self) -> Graph:
        """Deep copy (passes never modify their input graph)."""
        return copy.deepcopy(self)

    def without(self, name: str) -> Graph:
        """A copy with the single-input node ``name`` removed and its consumers rewired to its input."""
        gone = self.node(name)
        if len(gone.inputs) != 1:
            raise CompileError(f"cannot remove IR node {name!r} ({gone.op}): it has {len(gone.inputs)} inputs")
        g = self.copy()
        g.nodes = [n for n in g.nodes if n.name != name]
        for n in g.nodes:
            n.inputs = tuple(gone.inputs[0] if s == name else s for s in n.inputs)
        if g.output == name:
            g.output = gone.inputs[0]
        g.scales.pop(name, None)
        g.check()
        return g

    @property
    def quantized(self) -> bool:
        """True once every synapse has integer parameters and every neuron / integrator integer parameters."""
        return all(
            (n.quant is not None) if n.op in SYNAPSES else (n.integer is not None) if n.op in STATEFUL
            else (n.quant is not None and n.cell.integer is not None) if n.op == "recurrent" else True
            for n in self.nodes
        )

    def summary(self) -> str:
        """One line per node: ``name  op  inputs -> shape``."""
        return "\n".join(f"{n.name:24s} {n.op:10s} {','.join(n.inputs):24s} -> {n.shape}" for n in self.nodes)
