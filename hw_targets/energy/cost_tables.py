"""Cost models as data: one :class:`CostTable` per target, every constant with its source and technology node.

Sources are the primary documents below (and, for the SOP/MAC convention, Zhou et al., Spikformer, ICLR 2023,
arXiv 2209.15425, section on energy). Values are stored in SI units (J, W, s, FLOP/s, B/s); ``unit`` says what one count
means.

* ``cmos45``  Horowitz, "Computing's Energy Problem", ISSCC 2014, 45 nm CMOS at 0.9 V.
* ``loihi2``  Intel publishes no per-operation energy for Loihi 2 (its tech brief "Taking Neuromorphic
  Computing to the Next Level with Loihi 2", 2021, gives none); the Loihi 1 figures of
  Davies et al., IEEE Micro 2018, Table 2 (14 nm FinFET, 0.75 V, pre-silicon SPICE) are used and labelled as such.
* ``onnx_int`` integer-only inference (int8 weights/activations, int32 accumulators) on 45 nm CMOS, Horowitz.
* ``gpu``     roofline estimate for an NVIDIA H100 SXM5 (TSMC 4N) from its datasheet figures, unless NVML measures.

Example::

    >>> t = get_table("cmos45")
    >>> t["ac"].value, t["ac"].source[:8]
    (9e-13, 'Horowitz')
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .counting import EnergyError

__all__ = ["TABLES", "Cost", "CostTable", "get_table", "int_mac_cost"]

PJ = 1e-12
NS = 1e-9


@dataclass(frozen=True)
class Cost:
    """One constant: ``value`` in SI units per ``unit``, its ``source`` and technology ``node``.

    Example::

        >>> Cost(0.9 * PJ, "J per FP32 add", "Horowitz ISSCC 2014", "45 nm, 0.9 V").value
        9e-13
    """

    value: float
    unit: str
    source: str
    node: str

    def as_dict(self) -> dict:
        """``{"value", "unit", "source", "node"}``."""
        return {"value": self.value, "unit": self.unit, "source": self.source, "node": self.node}


@dataclass(frozen=True)
class CostTable:
    """The constants of one target and how they are applied.

    ``accounting``: ``"paper"`` (synaptic ops only, SOP = rate x FLOPs), ``"event"`` (event-driven CMOS: effective
    ops, neuron updates, SRAM bits), ``"neuromorphic"`` (per-op, per-update, per-spike energies plus static power x
    time), ``"dense"`` (every connection computed, integer),
    ``"roofline"`` (time = max(FLOPs / peak, bytes / bandwidth), energy = board power x time).
    ``spiking``: the target needs spiking neuron layers. ``assumptions``: stated modelling choices.
    """

    name: str
    description: str
    accounting: str
    spiking: bool
    costs: Mapping[str, Cost]
    assumptions: tuple[str, ...] = field(default=())

    def __getitem__(self, key: str) -> Cost:
        try:
            return self.costs[key]
        except KeyError:
            raise EnergyError(f"cost table {self.name!r} has no constant {key!r}; "
                              f"it has {sorted(self.costs)}") from None

    def to_dict(self) -> dict:
        """JSON-ready view: name, accounting, assumptions and every constant with its source."""
        return {"name": self.name, "description": self.description, "accounting": self.accounting,
                "spiking": self.spiking, "assumptions": list(self.assumptions),
                "costs": {k: c.as_dict() for k, c in self.costs.items()}}


_HZ = "Horowitz, 'Computing's Energy Problem (and what we can do about it)', ISSCC 2014, Fig. 1.1.9"
_N45 = "45 nm CMOS, 0.9 V"
_HZ_SRAM = _HZ + " (8 KB SRAM cache, 64-bit access = 10 pJ -> 10/64 pJ per bit)"
_DAVIES = "Davies et al., 'Loihi', IEEE Micro 38(1), 2018, Table 2 (pre-silicon SPICE), LOIHI 1 figure used for Loihi 2"
_N14 = "Intel 14 nm FinFET (Loihi 1), 0.75 V"
_H100 = "NVIDIA H100 SXM5 datasheet (via glennklockwood.com/garden/processors/h100)"
_N4 = "TSMC 4N (H100 SXM5)"

# Horowitz 2014 (45 nm, 0.9 V) primitive operations, shared by the cmos45 and onnx_int tables.
FP32_ADD = Cost(0.9 * PJ, "J per FP32 add", _HZ, _N45)
FP32_MULT = Cost(3.7 * PJ, "J per FP32 multiply", _HZ, _N45)
INT32_ADD = Cost(0.1 * PJ, "J per INT32 add", _HZ, _N45)
INT32_MULT = Cost(3.1 * PJ, "J per INT32 multiply", _HZ, _N45)
INT8_ADD = Cost(0.03 * PJ, "J per INT8 add", _HZ, _N45)
INT8_MULT = Cost(0.2 * PJ, "J per INT8 multiply", _HZ, _N45)
SRAM_BIT = Cost(10.0 / 64.0 * PJ, "J per bit read or written", _HZ_SRAM, _N45)


def int_mac_cost(weight_bits: int) -> Cost:
    """Integer MAC with an int32 accumulator: INT8 (<= 8-bit weights) or INT32 multiply + INT32 add (Horowitz).

    Horowitz gives no figure below 8 bits, so narrower weights are costed as INT8 (an upper bound).

    Example::

        >>> round(int_mac_cost(8).value / PJ, 3)
        0.3
    """
    mult = INT8_MULT if weight_bits <= 8 else INT32_MULT
    return Cost(mult.value + INT32_ADD.value, f"J per INT{8 if weight_bits <= 8 else 32} MAC (int32 accumulate)",
                f"{_HZ}: INT{8 if weight_bits <= 8 else 32} mult + INT32 add", _N45)


CMOS45 = CostTable(
    name="cmos45",
    description="45 nm CMOS (Horowitz 2014): the SNN-paper convention E = E_MAC x MACs + E_AC x SOPs",
    accounting="paper",
    spiking=False,
    costs=MappingProxyType({
        "mac": Cost(4.6 * PJ, "J per FP32 MAC (3.7 mult + 0.9 add)", _HZ + "; E_MAC of Spikformer/SDT papers", _N45),
        "ac": Cost(0.9 * PJ, "J per FP32 accumulate", _HZ + "; E_AC of Spikformer/SDT papers", _N45),
        "fp32_add": FP32_ADD, "fp32_mult": FP32_MULT, "int32_add": INT32_ADD, "int32_mult": INT32_MULT,
        "int8_add": INT8_ADD, "int8_mult": INT8_MULT,
        "neuron_update": Cost(FP32_MULT.value + 2 * FP32_ADD.value,
                              "J per neuron state variable update (1 FP32 mult decay + 2 FP32 adds: input, "
                              "threshold compare)", _HZ, _N45),
        "mem_bit": SRAM_BIT,
    }),
    assumptions=(
        "paper convention (models.md §1.5): only synaptic operations are costed; neuron updates, memory and "
        "static power are excluded (pass accounting='event' for SRAM traffic and neuron updates)",
        "encoder layers (real-valued input, called before the first spiking neuron) are MACs = FLOPs; every "
        "later synaptic layer costs SOP = input non-zero rate x FLOPs per step, summed over steps, as accumulates "
        "(also for non-binary values such as residual spike sums or token means, as the papers do; NeuroBench's "
        "counts in the report classify those as MACs); FLOPs = out_numel x fan_in, padding included; a product "
        "of two activations uses the rate of its sparser binary operand",
        "a real-valued input identical at every step (static image repeated over T) is computed once",
    ),
)

LOIHI2 = CostTable(
    name="loihi2",
    description="Loihi 2 (Intel 4) costed with Loihi 1 measured figures: Intel publishes none for Loihi 2",
    accounting="neuromorphic",
    spiking=True,
    costs=MappingProxyType({
        "synop": Cost(23.6 * PJ, "J per synaptic spike op (min)", _DAVIES, _N14),
        "neuron_active": Cost(81.0 * PJ, "J per active neuron update", _DAVIES, _N14),
        "neuron_idle": Cost(52.0 * PJ, "J per inactive neuron update", _DAVIES, _N14),
        "spike_tile": Cost(1.7 * PJ, "J per spike delivered within a tile", _DAVIES, _N14),
        "hop": Cost(3.0 * PJ, "J per tile hop (E-W)", _DAVIES, _N14),
        "hops_per_spike": Cost(1.0, "mesh hops per emitted spike (assumed; needs the core map to be exact)",
                               "assumption (Nengo forum: use average hop counts without a mapping)", "n/a"),
        "t_synop": Cost(3.5 * NS, "s per synaptic op (max)", _DAVIES, _N14),
        "t_neuron_active": Cost(8.4 * NS, "s per active neuron update", _DAVIES, _N14),
        "t_neuron_idle": Cost(5.3 * NS, "s per inactive neuron update", _DAVIES, _N14),
        "t_barrier": Cost(465.0 * NS, "s per time-step barrier (1-32 tiles, worst case)", _DAVIES, _N14),
        "static_w": Cost(3.34 / 32, "W static power per chip",
                         "Frady et al., NICE 2020, Table 1: 3.34 W static for 32 Loihi 1 chips (Pohoiki Springs)",
                         _N14),
        "neurons_per_core": Cost(1024, "compartments per neuron core", _DAVIES, _N14),
        "cores_per_chip": Cost(128, "neuron cores per chip", _DAVIES, _N14),
    }),
    assumptions=(
        "Loihi 1 figures (Davies 2018) stand in for Loihi 2: no per-op energy for Loihi 2 is published",
        "every effective synaptic op costs one synaptic spike op; real-valued inputs travel as graded spikes",
        "active neuron update = non-zero input current at that step; idle = zero input (decay only)",
        "memory energy is inside the per-op figures (in-core SRAM), so it is not added separately",
        "graded (sigma-delta) messages: each costs one spike delivery (spike_tile + hops) and each nonzero "
        "message x nonzero weight one synaptic op, as a binary spike; their payload bits (16 per message, netx's "
        "SDNN messageBits) are counted per layer (payload_bits) but not costed: no published per-payload-bit "
        "energy exists for Loihi (Davies 2018 gives per-spike figures; Intel none for Loihi 2)",
        "time per step = barrier + (synops x 3.5 ns + neuron updates x 8.4/5.3 ns) / cores, neurons spread "
        "evenly over ceil(neurons / 1024) cores; static = chips x 104 mW x steps x time per step",
    ),
)

ONNX_INT = CostTable(
    name="onnx_int",
    description="integer-only ONNX (int8 weights/activations, int32 accumulators) on 45 nm CMOS (Horowitz 2014)",
    accounting="dense",
    spiking=False,
    costs=MappingProxyType({
        "mac_int8": int_mac_cost(8), "mac_int32": int_mac_cost(32),
        "neuron_update": Cost(INT32_MULT.value + 3 * INT32_ADD.value,
                              "J per integer neuron state update (decay multiply, shift, input add, compare)",
                              _HZ + ": INT32 mult + 3 INT32 adds", _N45),
        "mem_bit": SRAM_BIT,
        "act_bits": Cost(8, "bits per activation / spike tensor element (int8 tensors in ONNX)",
                         "compile quantize pass default (quant_onnx.md)", "n/a"),
    }),
    assumptions=(
        "ONNX integer kernels compute every connection: synaptic ops = dense count, each an integer MAC",
        "weights are read from SRAM once per step per inference (no reuse across steps or samples)",
        "activations (spikes included) are stored as int8 tensors; membrane state as int32",
        "an eager (float) model is costed as if quantized to int8 weights; a compiled model uses its bit widths",
    ),
)

GPU_H100 = CostTable(
    name="gpu",
    description="GPU roofline ESTIMATE for an NVIDIA H100 SXM5 (measured with NVML instead when a GPU is present)",
    accounting="roofline",
    spiking=False,
    costs=MappingProxyType({
        "peak_flops": Cost(66.9e12, "FP32 FLOP/s (non-tensor-core FMA peak)", _H100, _N4),
        "bandwidth": Cost(3.35e12, "bytes/s HBM3 bandwidth", _H100, _N4),
        "board_power": Cost(700.0, "W maximum board power (TDP)", _H100, _N4),
        "neuron_flops": Cost(4.0, "FLOPs per neuron state variable update (decay, input, compare, reset)",
                             "NeuroBench NeuronOperations table, 'Leaky': 4 ops (loihi_nir.md §5.3)", "n/a"),
    }),
    assumptions=(
        "ESTIMATE, not a measurement: per layer time = max(FLOPs / peak, bytes / bandwidth), energy = board "
        "power x time; kernel launch overhead and idle power are ignored",
        "the GPU computes every connection (dense): FLOPs = 2 x dense synaptic ops",
        "weights are read once per layer call; activations read and written once, in the model's dtype",
    ),
)

TABLES: Mapping[str, CostTable] = MappingProxyType(
    {t.name: t for t in (CMOS45, LOIHI2, ONNX_INT, GPU_H100)})


def get_table(target: str) -> CostTable:
    """The cost table of ``target`` (``"cmos45" | "loihi2" | "onnx_int" | "gpu"``).

    Raises :class:`EnergyError` naming the known targets for anything else.

    Example::

        >>> get_table("loihi2")["synop"].value
        2.36e-11
    """
    if target not in TABLES:
        raise EnergyError(f"unknown energy target {target!r}; known targets: {sorted(TABLES)}")
    return TABLES[target]
