"""Partition a :class:`LoihiNetwork` onto Loihi neuro-cores under per-core limits.

Per-core limits (:class:`CoreLimits`) and their sources:

- ``neurons_per_core = 8192``: Loihi 2 holds up to 1,048,576 neurons on 128 neuro-cores (Intel, "Taking
  Neuromorphic Computing to the Next Level with Loihi 2", technology brief, 2021; 1,048,576 / 128).
- ``synapse_bits_per_core = 1,048,576`` (128 KiB) and ``fan_in_per_core = 4096`` input axons: the Loihi
  per-core synapse memory and input-axon limits as nengo-loihi enforces them (``nengo_loihi/block.py``:
  ``MAX_SYNAPSE_BITS``, ``MAX_IN_AXONS``). Intel has not published Loihi 2's per-core synapse memory split,
  so the Loihi 1 figures are used as a conservative bound (Davies et al., IEEE Micro 38(1), 2018).
- ``cores_per_chip = 128`` neuro-cores (same Intel brief).

A synapse costs its weight bits (``num_weight_bits`` of the netx/Lava encoding) plus 6 delay bits when
the layer has synaptic delays (Loihi 2 stores a 6-bit delay per synapse). Layers are split into equal
slices of neurons; every core of a dense layer sees the layer's whole fan-in (dense connectivity; a recurrent
layer's own spikes count as inputs too). A conv layer is sliced in its ``(C, H, W)`` neuron order; each neuron
stores its whole receptive field
(``C_in / groups * kH * kW`` synapses, no weight sharing: a conservative bound) and a core's fan-in is the
number of input neurons inside its neurons' receptive fields (the slices are refined until that fits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn.grad import conv2d_input

from compile.ir import CompileError

from .network import LoihiLayer, LoihiNetwork

DELAY_BITS = 6


@dataclass(frozen=True)
class CoreLimits:
    """Per-core and per-chip capacity (see the module docstring for the sources)."""

    neurons_per_core: int = 8192
    synapse_bits_per_core: int = 1_048_576
    fan_in_per_core: int = 4096
    cores_per_chip: int = 128
    chips: int = 1


@dataclass
class Core:
    """One neuro-core: ``layer`` index (0-based), neuron slice ``[start, stop)``, memory use."""

    core: int
    layer: int
    name: str
    start: int
    stop: int
    fan_in: int
    synapse_bits: int

    @property
    def neurons(self) -> int:
        return self.stop - self.start


@dataclass
class CoreMap:
    """Result of :func:`map_cores`: the cores, in layer order, and the limits used."""

    cores: list[Core]
    limits: CoreLimits
    _dest: list[np.ndarray] = field(default_factory=list, repr=False)
    _rec_dest: list[np.ndarray | None] = field(default_factory=list, repr=False)

    @property
    def cores_used(self) -> int:
        return len(self.cores)

    def report(self) -> dict[str, object]:
        """Plain dict: cores used, per-core neurons / fan-in / synapse memory (bytes), and the limits.

        Example:
            >>> cm = map_cores(LoihiNetwork(2, [LoihiLayer(np.ones((3, 2), int), 4096, 0, 1)]))
            >>> cm.report()["cores_used"]
            1
        """
        return {
            "cores_used": self.cores_used,
            "per_core": [{"core": c.core, "layer": c.layer, "name": c.name, "neurons": c.neurons,
                          "fan_in": c.fan_in, "synapse_bytes": math.ceil(c.synapse_bits / 8)} for c in self.cores],
            "limits": dict(self.limits.__dict__),
        }

    def traffic(self, input_spikes: np.ndarray, layer_spikes: Sequence[np.ndarray]) -> dict[str, object]:
        """Spike messages between cores for one run, per sample.

        A spike of source neuron ``i`` is one message to every core of the next layer that holds a
        non-zero synapse from ``i``. ``input_spikes`` ``[T, B, n_in]`` come from off-chip (the host);
        ``layer_spikes[l]`` ``[T, B, n_l]`` are the simulator's (``simulate(..., record=True).spikes``).

        A recurrent (``dense_rec``) layer's spikes are also one message to every core of that same layer holding a
        non-zero recurrent synapse from the spiking neuron (``"recurrent"``, per layer, 0 for the others).

        Returns:
            ``{"per_boundary": [messages into layer 1 (from the input), into layer 2, ...], "recurrent": [...],
            "total": sum of both, "from_host": messages into layer 1}`` (messages per sample, summed over T).
        """
        sources = [np.asarray(input_spikes)] + [np.asarray(s) for s in layer_spikes[:-1]]
        per, rec = [], []
        for src, dest in zip(sources, self._dest):
            per.append(_messages(src, dest))
        for own, dest in zip(layer_spikes, self._rec_dest or [None] * len(self._dest)):
            rec.append(0.0 if dest is None else _messages(np.asarray(own), dest))
        return {"per_boundary": per, "recurrent": rec, "total": float(sum(per) + sum(rec)),
                "from_host": per[0] if per else 0.0}


def _messages(src: np.ndarray, dest: np.ndarray) -> float:
    """Messages per sample: each spike (or nonzero graded message) of source neuron ``i`` ``[T, B, n]`` to its
    ``dest[i]`` destination cores."""
    return float(((src != 0).reshape(-1, src.shape[-1]).sum(0) * dest).sum() / max(src.shape[1], 1))


def _conv_reach(layer: LoihiLayer, bounds: np.ndarray) -> np.ndarray:
    """bool ``[n_cores, n_in]``: the input neurons inside the receptive fields of each core's neuron slice."""
    g = layer.conv
    n_cores = len(bounds) - 1
    sel = np.zeros((n_cores, layer.n_out))
    for k in range(n_cores):
        sel[k, bounds[k]:bounds[k + 1]] = 1.0
    grad = torch.from_numpy(sel.reshape(n_cores, *layer.out_shape))
    w = torch.from_numpy((layer.weight != 0).astype(np.float64))
    reach = conv2d_input((n_cores, *g.in_shape), w, grad, stride=g.stride, padding=g.padding,
                         dilation=g.dilation, groups=g.groups)
    return reach.numpy().reshape(n_cores, -1) > 0


def map_cores(net: LoihiNetwork, limits: CoreLimits = CoreLimits()) -> CoreMap:
    """Assign every layer's neurons to cores; raise :class:`CompileError` if the model cannot fit.

    Errors name the layer and the limit: a fan-in above ``fan_in_per_core``, a single neuron whose
    synapses exceed a core's synapse memory, or more cores than ``cores_per_chip * chips``.

    Args:
        net: the lowered network.
        limits: capacity to respect.

    Returns:
        :class:`CoreMap`.

    Example:
        >>> net = LoihiNetwork(2, [LoihiLayer(np.ones((10000, 2), int), 4096, 0, 1)])
        >>> map_cores(net).cores_used          # 10000 neurons > 8192 per core
        2
    """
    cores: list[Core] = []
    dests: list[np.ndarray] = []
    rec_dests: list[np.ndarray | None] = []
    for li, layer in enumerate(net.layers):
        name = layer.name or f"layer{li + 1}"
        bits = layer.synapse.num_weight_bits + (DELAY_BITS if layer.delay is not None else 0)
        n_rec = 0 if layer.weight_rec is None else layer.n_out  # a dense_rec block's own spikes are inputs too
        syn = int(np.prod(layer.weight.shape[1:])) if layer.conv else layer.n_in + n_rec  # synapses per neuron
        if layer.conv is None and layer.n_in + n_rec > limits.fan_in_per_core:
            raise CompileError(f"loihi2: layer {name!r} has fan-in {layer.n_in + n_rec} > {limits.fan_in_per_core} "
                               "input axons per core; split the layer's inputs")
        per_neuron = syn * bits
        fit = min(limits.neurons_per_core, limits.synapse_bits_per_core // per_neuron)
        if fit == 0:
            raise CompileError(f"loihi2: layer {name!r}: one neuron needs {per_neuron} synapse bits "
                               f"({syn} inputs x {bits} bits) > {limits.synapse_bits_per_core} per core")
        n_cores = math.ceil(layer.n_out / fit)
        while True:
            bounds = np.linspace(0, layer.n_out, n_cores + 1).round().astype(int)
            if layer.conv is None:  # (cores, in): every core sees the inputs with a non-zero synapse into it
                nz = layer.weight != 0
                reach = np.stack([nz[bounds[k]:bounds[k + 1]].any(0) for k in range(n_cores)])
                fan_in = np.full(n_cores, layer.n_in + n_rec)
            else:
                reach = _conv_reach(layer, bounds)
                fan_in = reach.sum(1)
            if fan_in.max() <= limits.fan_in_per_core:
                break
            if n_cores == layer.n_out:
                raise CompileError(f"loihi2: layer {name!r}: one neuron's receptive field has {int(fan_in.max())} "
                                   f"inputs > {limits.fan_in_per_core} input axons per core")
            n_cores = min(2 * n_cores, layer.n_out)
        for k in range(n_cores):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            cores.append(Core(len(cores), li, name, lo, hi, int(fan_in[k]), (hi - lo) * per_neuron))
        dests.append(reach.sum(0))
        rec_dests.append(None if layer.weight_rec is None else
                         np.stack([(layer.weight_rec[bounds[k]:bounds[k + 1]] != 0).any(0)
                                   for k in range(n_cores)]).sum(0))
    budget = limits.cores_per_chip * limits.chips
    if len(cores) > budget:
        raise CompileError(f"loihi2: model too large: needs {len(cores)} neuro-cores, the target has {budget} "
                           f"({limits.chips} chip(s) x {limits.cores_per_chip}); largest layer: "
                           f"{max(net.layers, key=lambda layer: layer.n_out * layer.n_in).name or 'unnamed'}")
    return CoreMap(cores, limits, dests, rec_dests)
