"""How a NIR neuron node becomes a discrete-time neurokit neuron: the conventions of every exporter, in one place.

NIR (Pedersen et al., "Neuromorphic intermediate representation", Nature Communications 15, 8122, 2024;
https://neuroir.org/docs) describes neurons in continuous time and leaves the simulation step, the reset mode and
its timing to the consumer. neurokit records its own choices in ``metadata`` (``dt``, ``reset``, ``reset_timing``,
``source: "neurokit"``); no other exporter writes metadata (snnTorch 1.0 ``export_to_nir``, Norse 1.1 ``to_nir``,
Sinabs 3.1 ``to_nir`` all leave it empty), so :func:`neuron_spec` reads their conventions from the node's fields.

**Step ``dt``** (seconds per step), first that applies:

1. ``node.metadata["dt"]``, else the graph's ``metadata["dt"]``, else ``from_nir(..., dt=)``: forward Euler at that
   step (below), no warning.
2. LIF with ``r == tau / 1e-4`` (CubaLIF: ``r == tau_mem / 1e-4`` and ``w_in == tau_syn / 1e-4``): snnTorch's
   signature (``snntorch/export_nir.py`` hard-codes ``dt = 1e-4`` and writes ``r = tau / dt``): ``dt = 1e-4``.
3. LIF / CubaLIF with ``r == 1`` and every time constant ``< 1e-3`` s: Norse <= 1.1's ``to_nir``, which writes
   ``tau = dt / tau_mem_inv`` with its default ``dt = 1e-3`` while its neurons step by ``dt * tau_mem_inv``
   (``norse/torch/utils/export_nir.py``; https://github.com/norse/norse/issues/411): the step factor is
   ``1e-6 / tau`` (``dt = 1e-6``), and Norse's current jumps by the input unscaled (``i <- i + x``,
   ``norse/torch/functional/lif.py``).
4. LIF with ``r == 1`` and ``tau >= 1``: Sinabs's signature (``sinabs/nir.py`` writes ``tau_mem`` in steps, ``r = 1``;
   its LIF decays by ``alpha = exp(-1/tau)`` and, with ``norm_input=True``, adds ``(1 - alpha) x``): exactly
   ``nk.LIF(tau = 1 / (1 - exp(-1/tau)), decay_input=True)``.
5. IF with ``r == 1``: a step-based exporter (Sinabs ``IAF``, Norse ``IAFCell``: ``v <- v + x`` every step):
   input gain 1. (neurokit writes IF this way too, with ``metadata["r_unit"] = "per_step"``: gain ``r`` whatever
   the dt.)
6. Otherwise: ``dt = 1e-4`` (the step of the NIR paper's experiments and of snnTorch), forward Euler.

Rules 2-6 are decisions: :func:`from_nir` names each node and its choice in one warning.

**Forward Euler at ``dt``** (the NIR equations): LIF ``v += dt/tau (v_leak - v + r I)`` -> ``nk.LIF(tau/dt)`` with
input gain ``r dt / tau`` (gain ``1/tau_steps``, i.e. ``r == 1``, is ``decay_input=True``; any other is folded into the
weights, ``decay_input=False``); CubaLIF -> ``nk.CubaLIF(tau_syn/dt, tau_mem/dt)`` with gain
``(w_in dt / tau_syn)(r dt / tau_mem)``; IF ``v += dt r I`` -> ``nk.IF`` with gain ``r dt``; LI -> the leaky integrator
with gain ``r dt / tau``. ``v_leak`` differing from the value neurokit leaks toward (``v_reset``, or 0 with reset by
subtraction) is a constant input ``(dt/tau)(v_leak - v_rest)`` folded into the bias of the synapse feeding the neuron
(LIF, LI; a CubaLIF filters its input through the current, so it is refused there).

**Reset**: ``metadata["reset"]`` (``"zero"``: ``v <- v_reset``, ``"subtract"``: ``v <- v - v_threshold``) and
``metadata["reset_timing"]`` (``"same_step"``, ``"next_step"``: applied after the next step's decay and input,
snnTorch's ``reset_delay=True`` order) when recorded; else ``from_nir(..., reset=)`` (``"zero"``, ``"subtract"``, or a
pair ``(mode, timing)``); else by the exporter's default: snnTorch ``Leaky`` / ``Synaptic`` subtract one step late
(their default ``reset_mechanism="subtract"``, ``reset_delay=True``), Sinabs ``IAF`` / ``LIF`` subtract on the same
step (``MembraneSubtract``), Norse reset to ``v_reset`` (``reset_value``), anything else NIR's own ``v <- v_reset``.
With a given mode the timing is the exporter's: snnTorch ``Synaptic`` resets one step late in both modes, ``Leaky``
with ``"zero"`` on the same step (its ``(1 - reset) * mem`` before the decay is the same-step reset).

Example::

    >>> spec = neuron_spec("lif", nir.LIF(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3),
    ...                                   v_threshold=np.ones(3), v_reset=np.zeros(3)), None, None)
    >>> spec.source, spec.tau, spec.reset, spec.timing        # snnTorch's signature
    ('snntorch', 10.0, 'subtract', 'next_step')
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import nir
import numpy as np

DEFAULT_DT = 1e-4
SNNTORCH_DT = 1e-4
NORSE_DT = 1e-3
SOURCE = "neurokit"
RESETS = ("zero", "subtract")
TIMINGS = ("same_step", "next_step")
#: What each exporter's name stands for in a warning.
SOURCES = {
    "snntorch": "snnTorch's export signature (r = tau / 1e-4): dt = 1e-4",
    "norse": "Norse <= 1.1's export signature (r = 1, tau = dt / tau_mem_inv < 1e-3 s): step factor dt * tau_mem_inv "
             "= 1e-6 / tau",
    "sinabs": "Sinabs's export signature (r = 1, tau in steps): decay exp(-1/tau) per step",
    "steps": "r = 1 with no dt (a step-based exporter: Sinabs IAF, Norse IAFCell): v += I per step",
    "default": f"no dt in the graph: dt = {DEFAULT_DT:g} (the NIR paper's and snnTorch's step)",
}
DEFAULT_RESET = {"snntorch": "subtract", "sinabs": "subtract", "steps": "subtract", "norse": "zero",
                 "default": "zero", "given": "zero"}


@dataclass
class NeuronSpec:
    """A NIR neuron read as a neurokit neuron: ``kind`` (``"lif" | "cuba" | "if" | "li"``), time constants in steps,
    ``decay_input``, the input ``gain`` and constant ``leak_bias`` to fold into the feeding synapse, the threshold,
    reset value, reset mode and timing; ``source``: which rule read it (module docstring); ``notes``: the choices made
    by rule rather than read from the graph (what :func:`from_nir` warns about)."""

    kind: str
    source: str
    v_threshold: float = 1.0
    v_reset: float = 0.0
    tau: float = 1.0
    tau_syn: float = 1.0
    decay_input: bool = False
    gain: float = 1.0
    leak_bias: float = 0.0
    reset: str = "zero"
    timing: str = "same_step"
    notes: list[str] = field(default_factory=list)


def scalar(name: str, fld: str, value) -> float:
    """The one value of a per-neuron NIR field; ``ValueError`` naming the node if the neurons differ.
    Example: ``scalar("lif", "tau", np.full(3, 0.02)) == 0.02``."""
    v = np.unique(np.asarray(value, dtype=np.float64))
    if v.size != 1:
        raise ValueError(f"NIR node {name!r}: field {fld!r} differs across neurons ({v.min()}..{v.max()}); "
                         "neurokit neurons take one value per layer")
    return float(v[0])


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=0.0)


def _source(name: str, node, known_dt: float | None) -> str:
    """Which rule of the module docstring reads ``node`` (``"given"`` when a dt is known)."""
    if known_dt is not None:
        return "given"
    r = scalar(name, "r", node.r)
    if isinstance(node, nir.IF):
        return "steps" if _close(r, 1.0) else "default"
    if isinstance(node, nir.CubaLIF):
        ts, tm = scalar(name, "tau_syn", node.tau_syn), scalar(name, "tau_mem", node.tau_mem)
        if _close(r, tm / SNNTORCH_DT) and _close(scalar(name, "w_in", node.w_in), ts / SNNTORCH_DT):
            return "snntorch"
        return "norse" if _close(r, 1.0) and max(ts, tm) < NORSE_DT else "default"
    tau = scalar(name, "tau", node.tau)
    if isinstance(node, nir.LIF) and _close(r, tau / SNNTORCH_DT):
        return "snntorch"
    if _close(r, 1.0) and 0 < tau < NORSE_DT:
        return "norse"
    if isinstance(node, nir.LIF) and _close(r, 1.0) and tau >= 1.0:
        return "sinabs"
    return "default"


def _reset(name: str, node, spec: NeuronSpec, reset) -> None:
    """Fill ``spec.reset`` / ``spec.timing`` from the metadata, the ``reset`` argument or the exporter's default."""
    meta = node.metadata or {}
    if "reset" in meta:
        spec.reset, spec.timing = meta["reset"], meta.get("reset_timing", "same_step")
        if reset is not None and tuple(_as_pair(reset, spec)) != (spec.reset, spec.timing):
            raise ValueError(f"NIR node {name!r}: its metadata records reset={spec.reset!r} / reset_timing="
                             f"{spec.timing!r}; from_nir(reset={reset!r}) contradicts it")
    else:
        if reset is None:
            spec.reset = DEFAULT_RESET[spec.source]
            spec.notes.append(f"reset not recorded: {spec.reset!r} ({_reset_why(spec)})")
        spec.reset, spec.timing = _as_pair(reset if reset is not None else spec.reset, spec)
    if spec.reset not in RESETS or spec.timing not in TIMINGS:
        raise ValueError(f"NIR node {name!r}: reset={spec.reset!r} / reset_timing={spec.timing!r}; expected one of "
                         f"{RESETS} and one of {TIMINGS}")


def _reset_why(spec: NeuronSpec) -> str:
    return {"snntorch": "snnTorch's default reset_mechanism='subtract', reset_delay=True; pass reset='zero' for "
                        "reset_mechanism='zero'",
            "sinabs": "Sinabs's default MembraneSubtract; pass reset='zero' for MembraneReset",
            "steps": "Sinabs IAF's default MembraneSubtract; pass reset='zero' for Norse's IAFCell or MembraneReset",
            "norse": "Norse's reset_value"}.get(spec.source, "NIR's v <- v_reset; pass reset='subtract' for reset "
                                                           "by subtraction")


def _as_pair(reset, spec: NeuronSpec) -> tuple[str, str]:
    """``reset`` (a mode, or ``(mode, timing)``) as ``(mode, timing)``, the timing by the exporter (docstring)."""
    if isinstance(reset, (tuple, list)) and len(reset) == 2:
        return str(reset[0]), str(reset[1])
    if reset not in RESETS:
        raise ValueError(f"reset: expected None, one of {RESETS} or a pair (mode, timing) with timing in {TIMINGS}; "
                         f"got {reset!r}")
    late = spec.source == "snntorch" and (spec.kind == "cuba" or reset == "subtract")
    return reset, "next_step" if late else "same_step"


def neuron_spec(name: str, node, known_dt: float | None, reset=None) -> NeuronSpec:
    """Read NIR neuron ``node`` (LIF, CubaLIF, IF, LI) by the rules of the module docstring.

    Args:
        name: the node's name (for messages). known_dt: the step from the graph's metadata or ``dt=`` (None:
            unknown; a node's own ``metadata["dt"]`` always wins). reset: ``from_nir``'s ``reset`` argument.
    Returns:
        :class:`NeuronSpec`. ``ValueError`` naming the node for values neurokit cannot take.
    """
    meta = node.metadata or {}
    dt = meta.get("dt", known_dt)
    if dt is not None and not (isinstance(dt, (int, float, np.floating)) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"NIR node {name!r}: metadata 'dt' must be seconds per step > 0, got {dt!r}")
    kind = {nir.LIF: "lif", nir.CubaLIF: "cuba", nir.IF: "if", nir.LI: "li"}[type(node)]
    spec = NeuronSpec(kind, _source(name, node, None if dt is None else float(dt)))
    if spec.source != "given":
        spec.notes.append(SOURCES[spec.source])
    step = {"given": dt, "snntorch": SNNTORCH_DT, "norse": NORSE_DT ** 2, "default": DEFAULT_DT}.get(spec.source)
    r = scalar(name, "r", node.r)
    if kind != "li":
        spec.v_threshold = scalar(name, "v_threshold", node.v_threshold)
        spec.v_reset = scalar(name, "v_reset", getattr(node, "v_reset", 0.0))
        _reset(name, node, spec, reset)
    rest = spec.v_reset if spec.reset == "zero" and kind != "li" else 0.0
    if kind == "if":
        spec.gain = r if spec.source == "steps" or meta.get("r_unit") == "per_step" else r * step
        return spec
    if kind == "cuba":
        ts, tm = scalar(name, "tau_syn", node.tau_syn), scalar(name, "tau_mem", node.tau_mem)
        w_in = scalar(name, "w_in", node.w_in)
        spec.tau_syn, spec.tau = ts / step, tm / step
        spec.gain = (w_in if spec.source == "norse" else w_in * step / ts) * (r * step / tm)
        leak = scalar(name, "v_leak", node.v_leak)
        if not np.isclose(leak, rest):
            raise ValueError(f"NIR node {name!r} (CubaLIF): v_leak={leak} differs from the value neurokit leaks toward "
                             f"({rest}); a CubaLIF filters a constant input through its current, so it cannot be "
                             "folded into the bias (use a LIF, or v_leak = v_reset)")
        return spec
    tau = scalar(name, "tau", node.tau)
    leak = scalar(name, "v_leak", node.v_leak)
    if spec.source == "sinabs":
        spec.tau, spec.decay_input = 1.0 / (1.0 - math.exp(-1.0 / tau)), True
        spec.leak_bias = leak - rest
        return spec
    spec.tau = tau / step
    if kind == "lif" and _close(r, 1.0):  # input gain 1/tau_steps: the decay_input form, no folding
        spec.decay_input, spec.leak_bias = True, leak - rest
    else:
        spec.gain, spec.leak_bias = r * step / tau, (leak - rest) * step / tau
    return spec
