"""Event counting from a real run: per layer and per time step, measured from the actual tensors.

For every synapse (``nn.Linear``, ``nn.Conv1d/2d/3d`` including neurokit's time-major subclasses,
``DelayedLinear``) and every activation product (``SpikeMatMul``, ``SpikeMask``) a forward hook counts, per step
(summed over the batch):

* ``ac`` / ``mac``: effective synaptic operations = number of (non-zero input x non-zero weight) products. A step
  whose input holds only values in {-1, 0, 1} counts as accumulates (spikes), otherwise as multiply-accumulates.
  This is NeuroBench's ``SynapticOperations`` rule (neurobench 2.3.0,
  ``neurobench/metrics/workload/synaptic_operations.py``), classified per call per step.
* ``dense``: every in-bounds connection (input and weights set to one; padding excluded), NeuroBench's "Dense".
* ``flops``: ``out_numel x fan_in`` (padding included), the paper FLOPs of models.md §1.5 (``k^2 h w c_in c_out``).
* ``in_nnz`` / ``in_numel``: non-zero and total input elements (firing rate of the layer input).

For every neuron module (neurokit ``LIF``/``IF``/``PLIF``/``CubaLIF``/``ALIF``, any snnTorch ``SpikingNeuron``) and
``nn.ReLU``/``nn.Sigmoid`` activations: ``updates`` (neurons x steps), ``active`` (updates whose input current is
non-zero; the rest are idle updates that only decay), ``spikes`` (non-zero outputs).

Memory traffic is derived from these counts and the recorded bit widths (``weight_bits``, ``state_bits``,
``act_bits``) by the cost model (:mod:`.estimate`), so every memory figure also comes from the measured events.

Two ways to drive a model: time-major (``model(x)`` with ``x [T, B, ...]``, neurokit's convention; layers that fold
time into batch are unfolded using ``T`` and ``B``) or ``stepwise=True`` (``model(x[t])`` per step after a reset,
how NeuroBench runs snnTorch nets).

Example::

    >>> net = nn.Sequential(nn.Linear(4, 3), nk.LIF())
    >>> c = count_events(net, (torch.rand(5, 2, 4) > 0.5).float())
    >>> c.layer("0").ac.shape, c.synops()["Effective_ACs"] >= 0
    ((5,), True)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .synops import CONVS, delayed_ops, product_ops, rate_operand, spiking_steps, synapse_ops

__all__ = ["EnergyError", "EventCounts", "LayerCounts", "count_events"]


class EnergyError(ValueError):
    """Energy estimation cannot be done as asked (unknown target, nothing to count, no spiking layer, ...)."""


# Number of state variables (membrane, synaptic current, adaptation) by neuron class name.
_STATE_VARS = {"LIF": 1, "IF": 1, "PLIF": 1, "CubaLIF": 2, "ALIF": 2, "Leaky": 1, "RLeaky": 1, "Lapicque": 1,
               "Synaptic": 2, "RSynaptic": 2, "Alpha": 3}


@dataclass
class LayerCounts:
    """Measured events of one layer. Every array has shape ``[T]`` and is summed over the batch.

    ``kind``: ``"synapse"`` (weights), ``"product"`` (activation x activation), ``"neuron"`` (stateful spiking) or
    ``"activation"`` (stateless ReLU/Sigmoid). ``weight_words``: weights per step (0 for products);
    ``repeated_input``: a real-valued input identical at every step (a static image repeated over T).

    Example::

        >>> lc = LayerCounts.empty("fc", "synapse", "Linear", steps=4)
        >>> lc.ac.tolist()
        [0.0, 0.0, 0.0, 0.0]
    """

    name: str
    kind: str
    op: str
    ac: np.ndarray
    mac: np.ndarray
    dense: np.ndarray
    flops: np.ndarray
    in_nnz: np.ndarray
    in_numel: np.ndarray
    out_numel: np.ndarray
    updates: np.ndarray
    active: np.ndarray
    spikes: np.ndarray
    spiking_input: np.ndarray            # bool [T]: every call at this step had a {-1, 0, 1} input
    calls: int = 0
    first_call: int = -1                 # global call order of this layer's first call in the run
    weight_words: int = 0
    weight_bits: int = 0
    state_vars: int = 0
    state_bits: int = 0
    act_bits: int = 32
    repeated_input: bool = False
    payload_bits: np.ndarray | None = None   # [T]: bits of graded payload sent (sigma-delta messages, :mod:`.graded`)
    message_bits: int = 0                    # payload bits per graded message (0: binary spikes)

    @classmethod
    def empty(cls, name: str, kind: str, op: str, steps: int) -> LayerCounts:
        """All-zero counts for ``steps`` time steps (``spiking_input`` starts True, and-ed per call)."""
        z = lambda: np.zeros(steps, dtype=np.float64)
        return cls(name, kind, op, z(), z(), z(), z(), z(), z(), z(), z(), z(), z(),
                   np.ones(steps, dtype=bool), payload_bits=z())

    @property
    def synops(self) -> np.ndarray:
        """Effective synaptic operations per step, ``ac + mac``."""
        return self.ac + self.mac


@dataclass
class EventCounts:
    """All measured events of one run: ``layers`` in call order, ``steps`` (T) and ``batch`` (B).

    Totals are over the whole batch; divide by ``batch`` for per-inference figures (:meth:`per_sample`).

    Example::

        >>> c = count_events(net, x)                       # x [T, B, ...]
        >>> c.synops()                                     # NeuroBench-style, per sample
        {'Effective_MACs': 0.0, 'Effective_ACs': 42.0, 'Dense': 120.0}
    """

    layers: list[LayerCounts]
    steps: int
    batch: int
    notes: list[str] = field(default_factory=list)

    def layer(self, name: str) -> LayerCounts:
        """The counts of the layer called ``name`` (module path)."""
        for lc in self.layers:
            if lc.name == name:
                return lc
        raise KeyError(f"no counted layer named {name!r}; have {[lc.name for lc in self.layers]}")

    def of_kind(self, *kinds: str) -> list[LayerCounts]:
        """Layers whose ``kind`` is one of ``kinds``."""
        return [lc for lc in self.layers if lc.kind in kinds]

    def per_sample(self, field_name: str) -> float:
        """``field_name`` summed over layers and steps, divided by the batch size."""
        return float(sum(getattr(lc, field_name).sum() for lc in self.layers)) / self.batch

    def synops(self) -> dict[str, float]:
        """Per-sample ``{"Effective_MACs", "Effective_ACs", "Dense"}``, NeuroBench's ``SynapticOperations``."""
        return {"Effective_MACs": self.per_sample("mac"), "Effective_ACs": self.per_sample("ac"),
                "Dense": self.per_sample("dense")}

    def activation_sparsity(self) -> float:
        """Zero outputs / all outputs over neuron and activation layers (NeuroBench ``ActivationSparsity``)."""
        acts = self.of_kind("neuron", "activation")
        total = sum(float(lc.updates.sum()) for lc in acts)
        if total == 0:
            return 0.0
        return (total - sum(float(lc.spikes.sum()) for lc in acts)) / total

    def firing_rate(self) -> float:
        """Spikes / neuron updates over all spiking neuron layers (0 when there are none)."""
        neurons = self.of_kind("neuron")
        total = sum(float(lc.updates.sum()) for lc in neurons)
        return sum(float(lc.spikes.sum()) for lc in neurons) / total if total else 0.0


def _bits(t: torch.Tensor) -> int:
    return t.element_size() * 8


def _neuron_classes() -> tuple:
    classes: list = []
    try:
        from neurokit.neurons import Neuron
        classes.append(Neuron)
    except ImportError:     # neurokit core not importable: only snnTorch neurons are recognised
        pass
    try:
        import snntorch
        classes.append(snntorch.SpikingNeuron)
    except ImportError:     # snnTorch is optional
        pass
    return tuple(classes)


def _product_classes() -> tuple:
    try:
        from neurokit.layers.attention import SpikeMask, SpikeMatMul
        return (SpikeMatMul, SpikeMask)
    except ImportError:
        return ()


def _delayed_class():
    try:
        from neurokit.layers.delays import DelayedLinear
        return DelayedLinear
    except ImportError:
        return None


class EventCounter:
    """Holds the per-layer counts and converts hooked tensors to ``[steps, ...]`` views."""

    def __init__(self, steps: int, batch: int, stepwise: bool):
        self.T, self.B, self.stepwise = steps, batch, stepwise
        self.step = 0
        self.n_calls = 0
        self.counts: dict[str, LayerCounts] = {}

    def get(self, name: str, kind: str, op: str) -> LayerCounts:
        if name not in self.counts:
            self.counts[name] = LayerCounts.empty(name, kind, op, self.T)
        return self.counts[name]

    def by_step(self, t: torch.Tensor, rank: int | None, name: str) -> torch.Tensor:
        """View ``t`` as ``[S, B, ...]``; S = T (time-major or folded) or 1 (stepwise call)."""
        if self.stepwise:
            return t.unsqueeze(0)
        T, B = self.T, self.B
        if rank is not None:                       # convs: rank of one sample ([C, L], [C, H, W], ...)
            if t.dim() == rank + 2:
                return t
            if t.dim() == rank + 1 and t.shape[0] == T * B:
                return t.reshape(T, B, *t.shape[1:])
        else:
            if t.dim() >= 3 and tuple(t.shape[:2]) == (T, B):
                return t
            if t.dim() >= 2 and t.shape[0] == T * B:
                return t.reshape(T, B, *t.shape[1:])
        raise EnergyError(f"layer {name!r}: cannot find the time axis of an input of shape {tuple(t.shape)} "
                          f"(model input has T={T}, B={B}); run time-major [T, B, ...] or use stepwise=True")

    def called(self, lc: LayerCounts) -> None:
        if lc.first_call < 0:
            lc.first_call = self.n_calls
        self.n_calls += 1
        lc.calls += 1

    def add(self, lc: LayerCounts, attr: str, per_step: torch.Tensor) -> None:
        arr = getattr(lc, attr)
        vals = per_step.detach().to(torch.float64).cpu().numpy()
        if self.stepwise:
            arr[self.step] += vals[0]
        else:
            arr += vals


def record_synapse(ctr: EventCounter, lc: LayerCounts, xs: torch.Tensor, ops, spiking: torch.Tensor) -> None:
    """Add one call's counts; ``xs [S, B, ...]`` is the input whose firing rate the paper convention uses."""
    eff, dense, flops, out_numel = ops
    S = xs.shape[0]
    zero = torch.zeros_like(eff)
    ctr.add(lc, "ac", torch.where(spiking, eff, zero))
    ctr.add(lc, "mac", torch.where(spiking, zero, eff))
    ctr.add(lc, "dense", dense)
    ctr.add(lc, "flops", flops)
    ctr.add(lc, "out_numel", out_numel)
    ctr.add(lc, "in_nnz", (xs != 0).reshape(S, -1).sum(1))
    ctr.add(lc, "in_numel", torch.full((S,), float(xs[0].numel())))
    if ctr.stepwise:
        lc.spiking_input[ctr.step] &= bool(spiking[0])
    else:
        lc.spiking_input &= spiking.numpy()
    lc.act_bits = _bits(xs)
    ctr.called(lc)
    if not bool(spiking.all()):
        lc.repeated_input = (not ctr.stepwise) and S > 1 and all(torch.equal(xs[0], xs[s]) for s in range(1, S))


def record_neuron(ctr: EventCounter, lc: LayerCounts, xs: torch.Tensor, ys: torch.Tensor) -> None:
    S = ys.shape[0]
    ctr.add(lc, "updates", torch.full((S,), float(ys[0].numel())))
    ctr.add(lc, "active", (xs != 0).reshape(S, -1).sum(1))
    ctr.add(lc, "spikes", (ys != 0).reshape(S, -1).sum(1))
    lc.state_bits = _bits(xs) if lc.kind == "neuron" else 0
    lc.act_bits = _bits(ys)
    ctr.called(lc)


def _binary_as_torch(mod: nn.Module):
    """A torch ``Linear``/``Conv2d`` view (same weight tensor, geometry) of a neurokit binary synapse, or None.

    Binary weights are ``sign(latent) * alpha`` with every connection present, so counting on the latent weight
    (all non-zero after binarization) gives the same effective/dense ops as the deployed layer."""
    try:
        from neurokit.layers.binary import BinaryConv2d, BinaryLinear
    except ImportError:  # pragma: no cover - neurokit always ships the binary layers
        return None
    if isinstance(mod, BinaryLinear):
        view = nn.Linear(mod.in_features, mod.out_features, bias=False, device="meta")
    elif isinstance(mod, BinaryConv2d):
        view = nn.Conv2d(mod.in_channels, mod.out_channels, mod.weight.shape[-1], stride=mod.stride,
                         padding=mod.padding, bias=False, device="meta")
    else:
        return None
    view.weight = nn.Parameter(torch.ones_like(mod.weight, device=mod.weight.device), requires_grad=False)
    return view


def _install(model: nn.Module, ctr: EventCounter) -> list:
    """Register counting hooks on every countable module; returns the hook handles."""
    neurons, products, delayed = _neuron_classes(), _product_classes(), _delayed_class()
    from .graded import graded_classes, graded_hook
    from .recurrent_counts import recurrent_class, recurrent_hook
    recurrent, graded = recurrent_class(), graded_classes()
    handles = []
    for name, mod in model.named_modules():
        name = name or type(mod).__name__
        op = type(mod).__name__
        binary_view = _binary_as_torch(mod)
        if recurrent is not None and isinstance(mod, recurrent):
            hook = recurrent_hook(ctr, name, mod)
        elif graded and isinstance(mod, graded):
            hook = graded_hook(ctr, name, mod)
        elif isinstance(mod, nn.Linear) or isinstance(mod, tuple(CONVS)) or binary_view is not None:
            ops_layer = binary_view if binary_view is not None else mod
            rank = None if isinstance(ops_layer, nn.Linear) else 2 + [nn.Conv1d, nn.Conv2d, nn.Conv3d].index(
                next(c for c in CONVS if isinstance(ops_layer, c)))
            lc = ctr.get(name, "synapse", op)
            lc.weight_words = mod.weight.numel()
            lc.weight_bits = 1 if binary_view is not None else _bits(mod.weight)

            def hook(_m, inp, _out, lc=lc, rank=rank, name=name, ops_layer=ops_layer):
                xs = ctr.by_step(inp[0], rank, name)
                record_synapse(ctr, lc, xs, synapse_ops(ops_layer, xs, rank), spiking_steps(xs))
        elif delayed is not None and isinstance(mod, delayed):
            lc = ctr.get(name, "synapse", op)
            lc.weight_words, lc.weight_bits = mod.weight.numel(), _bits(mod.weight)

            def hook(m, inp, _out, lc=lc, name=name):
                if ctr.stepwise:
                    raise EnergyError(f"{name}: DelayedLinear needs the whole sequence; run time-major")
                xs = ctr.by_step(inp[0], None, name)
                record_synapse(ctr, lc, xs, delayed_ops(m, xs), spiking_steps(xs))
        elif products and isinstance(mod, products):
            lc = ctr.get(name, "product", op)

            def hook(m, inp, _out, lc=lc, name=name):
                a, b = (ctr.by_step(t, None, name) for t in inp[:2])
                spiking, operand = rate_operand(a, b)
                record_synapse(ctr, lc, operand, product_ops(m, a, b), spiking)
        elif (neurons and isinstance(mod, neurons)) or isinstance(mod, (nn.ReLU, nn.Sigmoid)):
            is_neuron = bool(neurons) and isinstance(mod, neurons)
            lc = ctr.get(name, "neuron" if is_neuron else "activation", op)
            lc.state_vars = _STATE_VARS.get(op, 1) if is_neuron else 0

            def hook(_m, inp, out, lc=lc, name=name):
                y = out[0] if isinstance(out, tuple) else out
                record_neuron(ctr, lc, ctr.by_step(inp[0], None, name), ctr.by_step(y, None, name))
        else:
            continue
        handles.append(mod.register_forward_hook(hook))
    return handles


def _reset_stepwise(model: nn.Module) -> None:
    if hasattr(model, "reset") and callable(model.reset):
        model.reset()
        return
    try:
        from snntorch import utils as snn_utils
        snn_utils.reset(model)
    except ImportError:     # no snnTorch: the model's own state handling applies
        pass


def count_events(model: nn.Module, x: torch.Tensor, stepwise: bool = False,
                 reset: Callable[[nn.Module], None] | None = None) -> EventCounts:
    """Run ``model`` on ``x`` once (no grad) and count its events per layer and per step.

    Args:
        model: an eager ``nn.Module``.
        x: time-major input ``[T, B, ...]``.
        stepwise: call ``model(x[t])`` for each step after a reset (snnTorch nets keeping hidden state), instead of
            one time-major call ``model(x)``.
        reset: for ``stepwise``, how to reset the model (default: ``model.reset()`` or ``snntorch.utils.reset``).

    Returns: :class:`EventCounts` (totals over the batch; per-sample helpers divide by B).

    Raises: :class:`EnergyError` if ``x`` is not at least ``[T, B, ...]`` or nothing countable ran.

    Example::

        >>> c = count_events(nn.Sequential(nn.Linear(4, 3), nk.LIF()), torch.rand(5, 2, 4))
        >>> c.steps, c.batch, [lc.kind for lc in c.layers]
        (5, 2, ['synapse', 'neuron'])
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise EnergyError(f"x must be a time-major tensor [T, B, ...], got "
                          f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise EnergyError(f"x of shape {tuple(x.shape)} has T={x.shape[0]} steps and B={x.shape[1]} samples; "
                          "expected T >= 1 and B >= 1")
    T, B = int(x.shape[0]), int(x.shape[1])
    ctr = EventCounter(T, B, stepwise)
    entered: list[str] = []
    handles = _install(model, ctr) + [m.register_forward_pre_hook(lambda _m, _i, name=name: entered.append(name))
                                      for name, m in model.named_modules() if not any(m.children())]
    try:
        with torch.no_grad():
            if stepwise:
                (reset or _reset_stepwise)(model)
                for t in range(T):
                    ctr.step = t
                    model(x[t])
            else:
                model(x)
    except RuntimeError as err:  # a shape mismatch inside torch: name the layer it happened in
        where = f" at {entered[-1]!r} ({type(model.get_submodule(entered[-1])).__name__})" if entered else ""
        raise EnergyError(f"x of shape {tuple(x.shape)} does not fit the model{where}: "
                          f"{str(err).strip().splitlines()[0]}") from err
    finally:
        for h in handles:
            h.remove()
    layers = sorted((lc for lc in ctr.counts.values() if lc.calls > 0), key=lambda lc: lc.first_call)
    if not layers:
        raise EnergyError(f"{type(model).__name__}: no countable layer (Linear/Conv/DelayedLinear/SpikeMatMul/"
                          "neuron) ran on this input; nothing to estimate")
    notes = [f"{lc.name}: real-valued input identical at every step (counted once in the paper convention)"
             for lc in layers if lc.repeated_input]
    return EventCounts(layers, T, B, notes)
