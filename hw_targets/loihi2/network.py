"""Loihi-2 network description: integer layers exactly as lava-dl netx and Lava compute them.

A :class:`LoihiNetwork` is a feed-forward chain of :class:`LoihiLayer` s. Each layer is one
netx ``dense`` block (a Lava ``Dense``, or ``DelayDense`` when it has per-synapse delays), one netx
``dense_rec`` block (a ``Dense`` plus a recurrent ``Dense`` from the layer's own spikes, ``weight_rec``) or one netx
``conv`` block (a Lava ``Conv``, :class:`ConvGeometry`) synapse feeding a bit-accurate CUBA LIF population.
All values are the integers written to the netx file (lava-dl 0.6 ``netx/hdf5.py``; Lava's ``proc/lif``):

- ``weight``: integer synaptic weights, shape ``(out, in)`` (conv: PyTorch's ``(C_out, C_in / groups, kH, kW)``),
  in ``[-256, 254]`` (netx clips to this range). One spike on synapse ``(o, i)`` adds ``weight[o, i]`` to the activation
  ``a_in`` that the
  neuron left-shifts by 6 into its current ``u``.
- ``i_decay``, ``v_decay`` in ``0..4096`` (netx ``iDecay``/``vDecay``; Lava ``du = iDecay - 1``).
- ``vth_mant``: the neuron spikes when ``v > vth_mant << 6``. ``0..131071`` (17 bits) can fire; a file may hold
  more (netx's default integrator ``1 << 18 - 1`` = 131072, slayer's ``Affine`` ``(1 << 18) - 1``): such a layer
  never fires because ``v`` saturates at ``2**23 - 1`` (accepted up to ``VTH_MANT_LIMIT``).
- ``delay``: optional integer per-synapse delays ``(out, in)`` in ``0..62`` (netx ``max_delay``); a file's per-neuron
  ``(out,)`` form is expanded netx's way (``LoihiLayer.netx`` keeps the form written).
- ``bias``: optional per-neuron ``bias_mant`` (13-bit signed), added to ``v`` as ``bias << 6``.

The weights' hardware encoding (netx's ``optimize_weight_bits`` + Lava's Dense) is :mod:`hw_targets.loihi2.weights`.

Layout: every layer's neurons are numbered in PyTorch's ``(C, H, W)`` order (a dense layer: ``(n,)``), which is
the order netx's ``flatten`` gives a dense block reading a conv block (``out.transpose([2, 1, 0]).flatten()`` of
Lava's ``(W, H, C)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurokit.integer import DECAY_UNITY, VTH_BITS

from .sdnn import SigmaDeltaNeuron
from .weights import (  # noqa: F401  (encode_weights, encode_recurrent_weights: still importable from here)
    WEIGHT_MAX,
    WEIGHT_MIN,
    SynapseEncoding,
    check_int_array,
    lava_sign_mode,
    encode_recurrent_weights,
    encode_weights,
)

#: netx/slayer clamp delays to this (``Delay(max_delay=62)``; netx ``DelayDense(max_delay=62)``).
MAX_DELAY = 62
#: Lava ``LIF`` bit-accurate ``vth`` precision is 17 bits (``lava.proc.lif.models``; ``neurokit.integer.VTH_BITS``).
MAX_VTH_MANT = (1 << VTH_BITS) - 1
#: Largest ``vThMant`` accepted from a file: Lava computes ``vth << 6`` in an int32 (never fires above MAX_VTH_MANT).
VTH_MANT_LIMIT = (1 << 25) - 1
#: Decays are 12-bit with an implicit offset so that 4096 (full decay) is representable.
MAX_DECAY = DECAY_UNITY
#: ``bias_mant`` is a 13-bit signed integer in Lava's LIF.
BIAS_MIN, BIAS_MAX = -4096, 4095


def _check_int(name: str, x, lo: int, hi: int) -> int:
    v = int(x)
    if v != x or not lo <= v <= hi:
        raise ValueError(f"{name}: value {x} out of range, expected an integer in {lo}..{hi}")
    return v


@dataclass(frozen=True)
class ConvGeometry:
    """Geometry of a netx ``conv`` block in PyTorch conventions: ``in_shape`` ``(C, H, W)``; ``stride``,
    ``padding``, ``dilation`` ``(h, w)``; ``groups``. netx/Lava hold the same in ``(W, H, C)`` / ``(x, y)`` order.

    Example:
        >>> ConvGeometry((1, 8, 8), padding=(1, 1)).out_shape((4, 1, 3, 3))
        (4, 8, 8)
    """

    in_shape: tuple[int, int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def __post_init__(self) -> None:
        for key in ("in_shape", "stride", "padding", "dilation"):
            object.__setattr__(self, key, tuple(int(v) for v in np.ravel(getattr(self, key))))
        object.__setattr__(self, "groups", int(self.groups))

    def out_shape(self, weight_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """``(C_out, H_out, W_out)`` for a kernel of ``weight_shape`` ``(C_out, C_in / groups, kH, kW)``."""
        o, cg, *k = weight_shape
        if self.in_shape[0] != cg * self.groups or o % self.groups:
            raise ValueError(f"conv: weight {tuple(weight_shape)} does not fit input {self.in_shape} with "
                             f"groups={self.groups}")
        hw = [(n + 2 * p - d * (kk - 1) - 1) // s + 1 for n, p, d, kk, s in
              zip(self.in_shape[1:], self.padding, self.dilation, k, self.stride)]
        if min(hw) < 1:
            raise ValueError(f"conv: output size {hw} for input {self.in_shape}")
        return (int(o), int(hw[0]), int(hw[1]))


@dataclass
class LoihiLayer:
    """One netx ``dense`` block ((Delay)Dense synapse) or, with ``conv``, one netx ``conv`` block (Conv
    synapse), feeding a bit-accurate CUBA LIF population; with ``weight_rec`` ``(out, out)`` a netx ``dense_rec``
    block (Lava ``RecurrentDense``: a second Dense from the population's spikes back into its ``a_in``). With
    ``sdnn`` (a :class:`SigmaDeltaNeuron`) the population is a netx SDNN neuron instead, with graded messages.

    Shapes: ``weight`` and ``delay`` ``(out, in)``, ``bias`` ``(out,)``; conv: ``weight``
    ``(C_out, C_in / groups, kH, kW)``, ``bias`` ``(C_out,)`` (per channel), no ``delay`` (netx ignores conv
    delays). Values are validated on construction and a ``ValueError`` names the bad field and the expected range.

    Example:
        >>> layer = LoihiLayer(np.array([[10, -6]]), i_decay=1024, v_decay=128, vth_mant=20)
        >>> layer.n_in, layer.n_out
        (2, 1)
        >>> LoihiLayer(np.ones((4, 1, 3, 3)), 4096, 0, 5, conv=ConvGeometry((1, 8, 8))).out_shape
        (4, 6, 6)
    """

    weight: np.ndarray
    i_decay: int
    v_decay: int
    vth_mant: int
    delay: np.ndarray | None = None
    bias: np.ndarray | None = None
    name: str = ""
    conv: ConvGeometry | None = None
    weight_rec: np.ndarray | None = None
    sdnn: SigmaDeltaNeuron | None = None
    #: datasets of the netx block this layer was read from, as stored (written back where they still hold)
    netx: dict = field(default_factory=dict, repr=False, compare=False)
    _enc: SynapseEncoding | None = field(default=None, init=False, repr=False, compare=False)
    _enc_rec: SynapseEncoding | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = f"layer {self.name!r}: " if self.name else ""
        self.weight = check_int_array(p + "weight", self.weight, WEIGHT_MIN, WEIGHT_MAX)
        if self.weight.ndim != (4 if self.conv else 2):
            want = "4-D (C_out, C_in / groups, kH, kW)" if self.conv else "2-D (out, in)"
            raise ValueError(f"{p}weight: expected {want}, got shape {self.weight.shape}")
        if self.conv is not None:
            if self.delay is not None:
                raise ValueError(f"{p}delay: netx conv blocks ignore synaptic delays")
            try:
                self.conv.out_shape(self.weight.shape)
            except ValueError as e:
                raise ValueError(p + str(e)) from e
        if self.weight_rec is not None:
            self._check_recurrent(p)
        self.i_decay = _check_int(p + "iDecay", self.i_decay, 0, MAX_DECAY)
        self.v_decay = _check_int(p + "vDecay", self.v_decay, 0, MAX_DECAY)
        self.vth_mant = _check_int(p + "vThMant", self.vth_mant, 0, VTH_MANT_LIMIT)
        if self.delay is not None:
            self.delay = check_int_array(p + "delay", self.delay, 0, MAX_DELAY)
            if self.delay.shape != self.weight.shape:
                raise ValueError(f"{p}delay: shape {self.delay.shape} must equal the weight shape "
                                 f"{self.weight.shape} (out, in)")
        if self.bias is not None:
            self.bias = check_int_array(p + "bias", self.bias, BIAS_MIN, BIAS_MAX)
            want = (self.out_shape[0],)
            if self.bias.shape != want:
                raise ValueError(f"{p}bias: shape {self.bias.shape}, expected {want}")
            if self.i_decay != MAX_DECAY and self.sdnn is None:
                raise ValueError(f"{p}bias: needs iDecay = 4096 (got {self.i_decay}); Lava adds the bias to v, "
                                 "which equals a constant synaptic input only without current memory")

    def _check_recurrent(self, p: str) -> None:
        """A netx ``dense_rec`` block: a square ``(out, out)`` recurrent weight on a dense synapse without delays."""
        self.weight_rec = check_int_array(p + "weight_rec", self.weight_rec, WEIGHT_MIN, WEIGHT_MAX)
        out = int(self.weight.shape[0])
        if self.weight_rec.shape != (out, out):
            raise ValueError(f"{p}weight_rec: shape {self.weight_rec.shape}; a recurrent weight must be square "
                             f"(out, out) = ({out}, {out})")
        if self.conv is not None or self.delay is not None:
            raise ValueError(f"{p}weight_rec: a recurrent (dense_rec) block is a dense synapse without delays")

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The population's shape: ``(out,)``, conv ``(C_out, H_out, W_out)``."""
        return self.conv.out_shape(self.weight.shape) if self.conv else (int(self.weight.shape[0]),)

    @property
    def n_in(self) -> int:
        return int(np.prod(self.conv.in_shape)) if self.conv else int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def exact_weights(self) -> bool:
        """Whether Lava applies exactly ``weight`` (False in netx's sign-mode corner, see encode_weights)."""
        pairs = [(self.synapse, self.weight)] + ([(self.synapse_rec, self.weight_rec)] if self.weight_rec is not None
                                                  else [])
        return all(np.array_equal(enc.mantissa, w << -enc.weight_exp) for enc, w in pairs)

    @property
    def synapse(self) -> SynapseEncoding:
        """The hardware encoding of ``weight`` (computed once). A conv block's weights are Lava ``Conv``'s
        as they are: exponent 0, 8 weight bits (``Conv``'s default)."""
        if self._enc is None:
            if self.conv is not None:
                if not np.any(self.weight):
                    raise ValueError("weight: all-zero kernel")
                self._enc = SynapseEncoding(self.weight, 0, 8, lava_sign_mode(self.weight))
            elif self.weight_rec is not None:
                self._enc, self._enc_rec = encode_recurrent_weights(self.weight, self.weight_rec)
            else:
                self._enc = encode_weights(self.weight)
        return self._enc

    @property
    def synapse_rec(self) -> SynapseEncoding | None:
        """The hardware encoding of ``weight_rec`` (its exponent shared with :attr:`synapse`), None without one."""
        if self.weight_rec is None:
            return None
        self.synapse  # noqa: B018  (encodes both synapses together)
        return self._enc_rec


def require_exact_weights(layer: LoihiLayer, k: int) -> None:
    """``ValueError`` for layer ``k`` of a file when Lava applies other weights than the stored ones (netx's sign-mode
    corner, :attr:`LoihiLayer.exact_weights`): ``nk.from_netx`` cannot train such a layer as stored.

    Example: ``require_exact_weights(LoihiLayer(np.array([[-64, 0]]), 4096, 0, 5), 0)`` raises.
    """
    if not layer.exact_weights:
        why = ("a synapse whose weights are all <= 0, under the one exponent netx gives hstack(weight, weight_rec): "
               "Lava's inhibitory Dense clips and truncates its mantissa" if layer.weight_rec is not None
               else "all weights <= 0 with max 0")
        raise ValueError(f"from_netx: layer {k}: netx's sign-mode corner ({why}) makes Lava apply other weights than "
                         "the stored ones; such a layer cannot be trained as stored")


def is_readout(layer: LoihiLayer) -> bool:
    """Whether ``layer`` has the readout form: no current memory (``iDecay = 4096``) and a threshold of at least
    ``MAX_VTH_MANT`` (the largest 17-bit one; a file's larger value never fires).

    Example: ``is_readout(LoihiLayer(np.ones((2, 3), int), 4096, 205, MAX_VTH_MANT))`` is True.
    """
    return layer.i_decay == MAX_DECAY and layer.vth_mant >= MAX_VTH_MANT


@dataclass
class InputLayer:
    """A netx ``input`` block with a neuron: a CUBA LIF population of ``shape`` (``(C, H, W)`` or ``(n,)``) that
    the network input drives directly, as netx builds it (Lava's ``Input`` block: no synapse, so no latency; the
    input is the neuron's ``a_in``, an integer per neuron and step). netx does not apply the block's ``weight`` /
    ``bias`` (it stores them as an unused ``transform``); they are kept in ``netx`` for the round trip.

    Example:
        >>> InputLayer((2, 3, 3), 4096, 1024, 25).n_out
        18
    """

    shape: tuple[int, ...]
    i_decay: int
    v_decay: int
    vth_mant: int
    name: str = "input"
    sdnn: SigmaDeltaNeuron | None = None
    netx: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) not in (1, 3) or min(self.shape) < 1:
            raise ValueError(f"input: shape {list(self.shape)}, expected (n,) or (C, H, W) of positive sizes")
        self.i_decay = _check_int("input iDecay", self.i_decay, 0, MAX_DECAY)
        self.v_decay = _check_int("input vDecay", self.v_decay, 0, MAX_DECAY)
        self.vth_mant = _check_int("input vThMant", self.vth_mant, 0, VTH_MANT_LIMIT)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def n_out(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class LoihiNetwork:
    """A feed-forward chain of Loihi layers fed by ``n_in`` input spike channels.

    A conv layer reads the input (``n_in = C * H * W`` of its ``conv.in_shape``) or the previous conv layer's
    ``(C, H, W)`` map; a dense layer after a conv layer reads its spikes flattened in ``(C, H, W)`` order (netx
    ``flatten``).

    ``readout=True``: the last layer is a non-spiking readout (``iDecay = 4096``, ``vThMant`` at its maximum) whose
    voltage is the output: with ``vDecay = 4096`` it holds ``(acc + bias) << 6`` (a plain accumulator), with
    ``vDecay < 4096`` it is a leaky integrator of ``(acc + bias) << 6`` (24-bit, saturating).

    ``input_layer``: a netx input block with a neuron (:class:`InputLayer`), driven by the input, feeding layer 0.
    ``netx``: datasets of the file read (``simulation/*``, the input block, ``flatten/<i>/*`` before layer ``i``),
    written back by ``save_netx``.

    Example:
        >>> l1 = LoihiLayer(np.full((3, 2), 8), 4096, 0, 10)
        >>> l2 = LoihiLayer(np.full((1, 3), -4), 4096, 0, 10)
        >>> LoihiNetwork(2, [l1, l2]).sizes
        [2, 3, 1]
    """

    n_in: int
    layers: list[LoihiLayer]
    readout: bool = False
    input_layer: InputLayer | None = None
    netx: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("LoihiNetwork: needs at least one layer")
        first, inp = self.layers[0], self.input_layer
        if inp is not None and (inp.n_out != self.n_in
                                or (first.conv is not None and first.conv.in_shape != inp.shape)):
            raise ValueError(f"input layer of shape {list(inp.shape)} does not match the network input ({self.n_in} "
                             f"values{', conv input ' + str(list(first.conv.in_shape)) if first.conv else ''})")
        last = self.layers[-1]
        if self.readout and not is_readout(last):
            raise ValueError(f"LoihiNetwork: a readout layer needs iDecay = 4096 and vThMant >= {MAX_VTH_MANT}")
        n, shape = int(self.n_in), None
        for i, layer in enumerate(self.layers):
            if layer.n_in != n:
                raise ValueError(f"layer {i} ({layer.name or 'dense'}): weight has {layer.n_in} "
                                 f"inputs but the previous layer has {n} outputs")
            if layer.conv is not None and i and layer.conv.in_shape != shape:
                raise ValueError(f"layer {i} ({layer.name or 'conv'}): a conv block reads the input or a conv "
                                 f"block's map; input shape {layer.conv.in_shape}, previous layer {shape}")
            n, shape = layer.n_out, layer.out_shape

    @property
    def in_shape(self) -> tuple[int, ...]:
        """The input's shape: the input layer's, else ``(C, H, W)`` when the first layer is a conv, else ``(n_in,)``."""
        if self.input_layer is not None:
            return self.input_layer.shape
        first = self.layers[0].conv
        return tuple(first.in_shape) if first is not None else (int(self.n_in),)

    @property
    def sizes(self) -> list[int]:
        """``[n_in, n_1, ..., n_L]``."""
        return [int(self.n_in)] + [layer.n_out for layer in self.layers]
