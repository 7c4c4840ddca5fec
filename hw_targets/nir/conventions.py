"""How a NIR neuron node becomes a discrete-time neurokit neuron: the conventions of every exporter, in one place.

NIR (Pedersen et al., "Neuromorphic intermediate representation", Nature Communications 15, 8122, 2024;
https://neuroir.org/docs) describes neurons in continuous time and leaves the simulation step, the reset mode and
its timing to the consumer. neurokit records its own choices in ``metadata`` (``dt``, ``reset``, ``reset_timing``,
``source: "neurokit"``); no other exporter writes metadata (snnTorch 1.0 ``export_to_nir``, Norse 1.1 ``to_nir``,
Sinabs 3.1 ``to_nir`` all leave it empty), so :func:`neuron_spec` reads their conventions from the node's fields.

**Step ``dt``** (seconds per step), first that applies:

1. ``node.metadata["dt"]``, else the graph's ``metadata["dt"]``, else ``from_nir(..., dt=)``: forward Euler at that
   step (below), no warning (rules 2 and 3 are still checked at a ``dt=`` argument).
2. Rockpool's signature, LIF / LI with ``r == tau exp(-dt/tau) / dt`` (CubaLIF: ``tau_mem`` in it, ``w_in == 1``) at
   ``dt = 1e-3`` (Rockpool's default step) or the ``dt=`` given (``rockpool/nn/modules/torch/nir.py``): Rockpool's
   own exact-exponential step, decay ``exp(-dt/tau)`` per step (``lif_torch.py``, ``lif_neuron_torch.py``,
   ``exp_syn_torch.py``): ``LIFNeuronTorch`` ``v <- a v + x`` -> ``nk.LIF(1 / (1 - a), decay_input=False)``;
   ``LIFTorch`` / ``ExpSynTorch`` decay the current after adding the input (``i <- b (i + x)``): input gain
   ``b = exp(-dt/tau_syn)``. Several spikes per step (``StepPWL``), reset by subtraction on the same step.
   Rockpool's ``to_nir`` writes ``v_leak = 0`` whatever the neuron's ``bias`` (a bias is lost on export).
3. Spyx's signature, LIF with ``0 < r < 1`` and ``tau (1 - r) == dt`` (CubaLIF: ``tau_mem``, ``w_in == 1``) at
   ``dt = 1`` (``spyx.nir.to_nir``'s default) or the ``dt=`` given: ``spyx/nir.py`` writes ``tau = dt / (1 - beta)``,
   ``r = beta``, and its neurons run ``v <- beta v + x`` (``spyx/nn.py``): ``nk.LIF(1 / (1 - r), decay_input=False)``
   (CubaLIF: ``tau / dt`` steps, gain 1). Spyx fires from the membrane *before* the step's input
   (``spikes = H(V - threshold)`` first), i.e. one step after neurokit's neuron and with the subtraction applied
   before the next decay (CubaLIF: on the same step as neurokit's, the LIF: one step late): imported as the neurokit
   neuron wrapped in :class:`~hw_targets.nir.spiking.OneStepLate`. An IF with ``r == 1`` in a graph with a Spyx
   LIF / CubaLIF is read as Spyx's ``IF`` the same way (alone it is rule 7's: ``spyx.nir.to_nir`` writes
   ``IF(r=1, v_threshold)``, field for field what Sinabs writes for ``IAF``). In such a graph a Linear / Affine fed by
   the ``Flatten`` of a ``(C, H, W)`` tensor reads Spyx's channels-last ``(H, W, C)`` order (Spyx runs ``(B, H, W, C)``
   and writes the Conv2d and neuron nodes channels-first, the kernel after the flatten unchanged): its columns are
   put in NIR's order (named in the warning).
4. LIF with ``r == tau / 1e-4`` (CubaLIF: ``r == tau_mem / 1e-4`` and ``w_in == tau_syn / 1e-4``): snnTorch's
   signature (``snntorch/export_nir.py`` hard-codes ``dt = 1e-4`` and writes ``r = tau / dt``): ``dt = 1e-4``.
   SpikingJelly 2.0's ``export_to_nir`` writes the same fields for ``LIFNode(decay_input=False)`` and
   ``CUBALIFNode`` at its default ``dt = 1e-4`` (``spikingjelly/activation_based/nir_exchange/to_nir.py``) and
   resets to ``v_reset`` on the same step: ``reset=("zero", "same_step")`` reads them as SpikingJelly runs them.
5. LIF / CubaLIF / LI with ``r == 1`` and every time constant ``< 1e-4`` s (shorter than the default step, so not an
   Euler step at it): Norse <= 1.1's ``to_nir``, which writes ``tau = dt / tau_mem_inv`` with its default
   ``dt = 1e-3`` while its neurons step by ``dt * tau_mem_inv`` (``norse/torch/utils/export_nir.py``;
   https://github.com/norse/norse/issues/411): the step factor is ``1e-6 / tau`` (``dt = 1e-6``), and Norse's
   current jumps by the input unscaled (``i <- i + x``, ``norse/torch/functional/lif.py``).
6. LIF / LI with ``r == 1`` and ``tau >= 1``: Sinabs's signature (``sinabs/nir.py`` writes ``tau_mem`` in steps,
   ``r = 1``, for ``LIF`` and ``ExpLeak``); its layers decay by ``alpha = exp(-1/tau)``. ``LIF`` (default
   ``norm_input=True``) adds ``(1 - alpha) x``: exactly ``nk.LIF(tau = 1 / (1 - exp(-1/tau)), decay_input=True)``;
   ``ExpLeak`` (default ``norm_input=False``) adds ``x``: the leaky integrator with ``tau = 1 / (1 - alpha)``.
7. IF with ``r == 1``: a step-based exporter (Sinabs ``IAF``, Norse ``IAFCell``: ``v <- v + x`` every step):
   input gain 1. (neurokit writes IF this way too, with ``metadata["r_unit"] = "per_step"``: gain ``r`` whatever
   the dt.)
8. Otherwise: ``dt = 1e-4`` (the step of the NIR paper's experiments, snnTorch's and SpikingJelly's export default),
   forward Euler: SpikingJelly's ``LIFNode(decay_input=True)`` (``r = 1``, ``tau = tau_steps * dt``) and ``IFNode``
   (``r = 1 / dt``) read exactly, with NIR's reset to ``v_reset`` on the same step (SpikingJelly exports only its hard
   reset).

Rules 2-8 are decisions: :func:`from_nir` names each node and its choice in one warning.

**Lava-dl**: no exporter to read. lava-dl 0.6.0 and lava-nc 0.10.0 have no NIR module (nothing in their ``lava`` package
imports ``nir``), nor has lava-dl's main branch (https://github.com/lava-nc/lava-dl at d825ac5); an unmerged pull
request (https://github.com/lava-nc/lava-dl/pull/218) added ``lava/lib/dl/netx/nir_lava.py``, and NIR's documentation
has a stand-alone netx -> NIR script (https://github.com/neuromorphs/NIR, ``docs/source/examples/lava/lava_to_nir.py``:
CubaLIF with snnTorch's fields at ``dt = 1e-4``, decays / 4096, threshold and dense weights / 64, which rule 4 would
read, lava-dl's reset needing ``reset=("zero", "same_step")``; untested, as neither is installable). A lava-dl user's
netx file is read by ``nk.from_netx`` (Lava's fixed-point run); the ``nir`` target exports it with Lava's integers in
the node metadata, which ``nk.from_nir`` reads back exactly (a float CubaLIF alone cannot carry Lava's integer decays,
which truncate toward zero every step): :mod:`hw_targets.nir.lava`.

**Spikes per step**: one, except by rules 2 (Rockpool's ``StepPWL``: ``floor(v / v_threshold)``, at most ``2**16``),
6 and 7 (Sinabs's ``IAF`` / ``LIF`` default ``spike_fn=MultiSpike``, ``sinabs/layers/iaf.py``, ``lif.py``; its
``to_nir`` does not record the spike function): a count, :class:`~hw_targets.nir.spiking.MultiSpike`.
``from_nir(..., multi_spike=False)`` gives one spike per step (Sinabs ``SingleSpike``, Norse's ``IAFCell``),
``True`` a count for every neuron.

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
step (``MembraneSubtract``), Rockpool and Spyx subtract (Spyx's LIF one step late), Norse reset to ``v_reset``
(``reset_value``), anything else NIR's own ``v <- v_reset``.
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
ROCKPOOL_DT = 1e-3
SPYX_DT = 1.0
ROCKPOOL_MAX_SPIKES = 2 ** 16
SOURCE = "neurokit"
RESETS = ("zero", "subtract")
TIMINGS = ("same_step", "next_step")
#: What each exporter's name stands for in a warning.
SOURCES = {
    "snntorch": "snnTorch's export signature (r = tau / 1e-4): dt = 1e-4 (SpikingJelly's LIFNode(decay_input=False) "
                "/ CUBALIFNode write the same; pass reset=('zero', 'same_step') for them)",
    "rockpool": "Rockpool's export signature (r = tau exp(-dt/tau) / dt, dt = 1e-3 or dt=): decay exp(-dt/tau) per "
                "step (LIF / CubaLIF: several spikes per step, StepPWL)",
    "spyx": "Spyx's export signature (r = beta, tau = dt / (1 - beta)): v <- beta v + x, spikes one step late "
            "(Spyx fires from the membrane before the step's input)",
    "norse": "Norse <= 1.1's export signature (r = 1, tau = dt / tau_mem_inv < 1e-4 s): step factor dt * tau_mem_inv "
             "= 1e-6 / tau",
    "sinabs": "Sinabs's export signature (r = 1, tau in steps): decay exp(-1/tau) per step (LIF: norm_input=True, "
              "LI: ExpLeak's norm_input=False)",
    "steps": "r = 1 with no dt (a step-based exporter: Sinabs IAF, Norse IAFCell): v += I per step",
    "default": f"no dt in the graph: dt = {DEFAULT_DT:g} (the NIR paper's, snnTorch's and SpikingJelly's step)",
}
DEFAULT_RESET = {"snntorch": "subtract", "sinabs": "subtract", "steps": "subtract", "norse": "zero",
                 "rockpool": "subtract", "spyx": "subtract", "default": "zero", "given": "zero"}


@dataclass
class NeuronSpec:
    """A NIR neuron read as a neurokit neuron: ``kind`` (``"lif" | "cuba" | "if" | "li"``), time constants in steps,
    ``decay_input``, the input ``gain`` and constant ``leak_bias`` to fold into the feeding synapse, the threshold,
    reset value, reset mode and timing, ``max_spikes`` (1: one spike per step; None or N > 1: a spike count, at most
    N) and ``late`` (spikes one step later, Spyx); ``source``: which rule read it (module docstring); ``notes``: the
    choices made by rule rather than read from the graph (what :func:`from_nir` warns about)."""

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
    max_spikes: int | None = 1
    late: bool = False
    notes: list[str] = field(default_factory=list)


def scalar(name: str, fld: str, value) -> float:
    """The one value of a per-neuron NIR field; ``ValueError`` naming the node if the neurons differ.
    Example: ``scalar("lif", "tau", np.full(3, 0.02)) == 0.02``. A torch tensor is read too (Rockpool 3.1's
    ``to_nir`` stores ``ExpSynTorch``'s ``tau`` as the module's parameter)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    v = np.unique(np.asarray(value, dtype=np.float64))
    if v.size != 1:
        raise ValueError(f"NIR node {name!r}: field {fld!r} differs across neurons ({v.min()}..{v.max()}); "
                         "neurokit neurons take one value per layer")
    return float(v[0])


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=0.0)


def _tau(name: str, node) -> float:
    return scalar(name, "tau_mem", node.tau_mem) if isinstance(node, nir.CubaLIF) else scalar(name, "tau", node.tau)


def _signature(name: str, node, dt: float | None) -> str | None:
    """``"rockpool"`` / ``"spyx"`` when ``node`` (LIF, CubaLIF, LI) has that exporter's fields at ``dt`` (None: its
    default step), else None (rules 2 and 3)."""
    if isinstance(node, nir.IF):
        return None
    r, tau = scalar(name, "r", node.r), _tau(name, node)
    if isinstance(node, nir.CubaLIF) and not _close(scalar(name, "w_in", node.w_in), 1.0):
        return None
    d = ROCKPOOL_DT if dt is None else dt
    if tau > 0 and _close(r, tau * math.exp(-d / tau) / d):
        return "rockpool"
    d = SPYX_DT if dt is None else dt
    if not isinstance(node, nir.LI) and 0 < r < 1 and _close(tau * (1 - r), d):
        return "spyx"
    return None


def graph_context(nodes: dict, dt: float | None) -> set[str]:
    """The exporters whose signature some neuron of ``nodes`` (name -> NIR node) carries (``{"spyx"}`` makes an IF
    with ``r == 1`` a Spyx IF, rule 3). Example: ``graph_context(graph.nodes, None)``."""
    found = set()
    for name, node in nodes.items():
        if isinstance(node, (nir.LIF, nir.CubaLIF)) and "dt" not in (node.metadata or {}):
            found.add(_signature(name, node, dt))
    return found - {None}


def _source(name: str, node, known_dt: float | None, arg_dt: bool, context: set[str]) -> str:
    """Which rule of the module docstring reads ``node`` (``"given"`` when a dt is known)."""
    if known_dt is not None:
        return (_signature(name, node, known_dt) if arg_dt else None) or "given"
    r = scalar(name, "r", node.r)
    if isinstance(node, nir.IF):
        if _close(r, 1.0):
            return "spyx" if "spyx" in context else "steps"
        return "default"
    sig = _signature(name, node, None)
    if sig:
        return sig
    if isinstance(node, nir.CubaLIF):
        ts, tm = scalar(name, "tau_syn", node.tau_syn), scalar(name, "tau_mem", node.tau_mem)
        if _close(r, tm / SNNTORCH_DT) and _close(scalar(name, "w_in", node.w_in), ts / SNNTORCH_DT):
            return "snntorch"
        return "norse" if _close(r, 1.0) and max(ts, tm) < DEFAULT_DT else "default"
    tau = scalar(name, "tau", node.tau)
    if isinstance(node, nir.LIF) and _close(r, tau / SNNTORCH_DT):
        return "snntorch"
    if _close(r, 1.0) and 0 < tau < DEFAULT_DT:
        return "norse"
    if _close(r, 1.0) and tau >= 1.0:
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
            "rockpool": "Rockpool's subtractive reset",
            "spyx": "Spyx's subtractive reset",
            "norse": "Norse's reset_value"}.get(spec.source, "NIR's v <- v_reset; pass reset='subtract' for reset "
                                                           "by subtraction")


def _as_pair(reset, spec: NeuronSpec) -> tuple[str, str]:
    """``reset`` (a mode, or ``(mode, timing)``) as ``(mode, timing)``, the timing by the exporter (docstring)."""
    if isinstance(reset, (tuple, list)) and len(reset) == 2:
        return str(reset[0]), str(reset[1])
    if reset not in RESETS:
        raise ValueError(f"reset: expected None, one of {RESETS} or a pair (mode, timing) with timing in {TIMINGS}; "
                         f"got {reset!r}")
    late = (spec.source == "snntorch" and (spec.kind == "cuba" or reset == "subtract")) or \
        (spec.source == "spyx" and spec.kind == "lif")
    return reset, "next_step" if late else "same_step"


def _spikes(name: str, spec: NeuronSpec, multi_spike) -> None:
    """``spec.max_spikes`` from ``from_nir(multi_spike=)`` or the exporter (docstring, "Spikes per step")."""
    if multi_spike is None:
        if spec.source == "rockpool":
            spec.max_spikes = ROCKPOOL_MAX_SPIKES
        elif spec.source in ("sinabs", "steps"):
            spec.max_spikes = None
            spec.notes.append("spike function not recorded: several spikes per step (Sinabs's default MultiSpike); "
                              "pass multi_spike=False for SingleSpike" + (" or Norse's IAFCell" if spec.source ==
                                                                          "steps" else ""))
    elif not isinstance(multi_spike, bool):
        raise ValueError(f"multi_spike: expected None, True or False, got {multi_spike!r}")
    else:
        spec.max_spikes = None if multi_spike else 1
    if spec.max_spikes != 1 and spec.timing == "next_step":
        raise ValueError(f"NIR node {name!r}: several spikes per step are reset on the same step (Sinabs, Rockpool); "
                         f"reset_timing='next_step' cannot be combined with them")


def neuron_spec(name: str, node, known_dt: float | None, reset=None, multi_spike=None, arg_dt: bool = False,
                context: frozenset | set = frozenset()) -> NeuronSpec:
    """Read NIR neuron ``node`` (LIF, CubaLIF, IF, LI) by the rules of the module docstring.

    Args:
        name: the node's name (for messages). known_dt: the step from the graph's metadata or ``dt=`` (None:
            unknown; a node's own ``metadata["dt"]`` always wins). reset / multi_spike: ``from_nir``'s arguments.
        arg_dt: ``known_dt`` is ``from_nir``'s ``dt=`` (rules 2 and 3 are checked at it). context:
            :func:`graph_context` of the graph.
    Returns:
        :class:`NeuronSpec`. ``ValueError`` naming the node for values neurokit cannot take.
    """
    meta = node.metadata or {}
    dt = meta.get("dt", known_dt)
    if dt is not None and not (isinstance(dt, (int, float, np.floating)) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"NIR node {name!r}: metadata 'dt' must be seconds per step > 0, got {dt!r}")
    kind = {nir.LIF: "lif", nir.CubaLIF: "cuba", nir.IF: "if", nir.LI: "li"}[type(node)]
    spec = NeuronSpec(kind, _source(name, node, None if dt is None else float(dt), arg_dt and "dt" not in meta,
                                    context))
    if spec.source != "given":
        spec.notes.append(SOURCES[spec.source])
    step = float(dt) if dt is not None else {"snntorch": SNNTORCH_DT, "norse": NORSE_DT ** 2, "rockpool": ROCKPOOL_DT,
                                             "spyx": SPYX_DT, "default": DEFAULT_DT}.get(spec.source)
    r = scalar(name, "r", node.r)
    spec.late = spec.source == "spyx"
    if kind != "li":
        spec.v_threshold = scalar(name, "v_threshold", node.v_threshold)
        spec.v_reset = scalar(name, "v_reset", getattr(node, "v_reset", 0.0))
        _reset(name, node, spec, reset)
        _spikes(name, spec, multi_spike)
    rest = spec.v_reset if spec.reset == "zero" and kind != "li" else 0.0
    if kind == "if":
        spec.gain = r if spec.source in ("steps", "spyx") or meta.get("r_unit") == "per_step" else r * step
        return spec
    if spec.source in ("rockpool", "spyx"):
        return _exponential(name, node, spec, step)
    if kind == "cuba":
        ts, tm = scalar(name, "tau_syn", node.tau_syn), scalar(name, "tau_mem", node.tau_mem)
        w_in = scalar(name, "w_in", node.w_in)
        spec.tau_syn, spec.tau = ts / step, tm / step
        spec.gain = (w_in if spec.source == "norse" else w_in * step / ts) * (r * step / tm)
        _no_cuba_leak(name, node, rest)
        return spec
    tau = scalar(name, "tau", node.tau)
    leak = scalar(name, "v_leak", node.v_leak)
    if spec.source == "sinabs":
        spec.tau, spec.decay_input = 1.0 / (1.0 - math.exp(-1.0 / tau)), kind == "lif"
        spec.leak_bias = leak - rest
        return spec
    spec.tau = tau / step
    if kind == "lif" and _close(r, 1.0):  # input gain 1/tau_steps: the decay_input form, no folding
        spec.decay_input, spec.leak_bias = True, leak - rest
    else:
        spec.gain, spec.leak_bias = r * step / tau, (leak - rest) * step / tau
    return spec


def _no_cuba_leak(name: str, node, rest: float) -> None:
    leak = scalar(name, "v_leak", node.v_leak)
    if not np.isclose(leak, rest):
        raise ValueError(f"NIR node {name!r} (CubaLIF): v_leak={leak} differs from the value neurokit leaks toward "
                         f"({rest}); a CubaLIF filters a constant input through its current, so it cannot be "
                         "folded into the bias (use a LIF, or v_leak = v_reset)")


def _exponential(name: str, node, spec: NeuronSpec, step: float) -> NeuronSpec:
    """Rules 2 (Rockpool: decay ``exp(-dt/tau)``) and 3 (Spyx: decay ``1 - dt/tau``) at ``step``."""
    decay = (lambda t: math.exp(-step / t)) if spec.source == "rockpool" else (lambda t: 1.0 - step / t)
    tau = _tau(name, node)
    spec.tau = 1.0 / (1.0 - decay(tau))
    if isinstance(node, nir.CubaLIF):
        _no_cuba_leak(name, node, 0.0)
        b = decay(scalar(name, "tau_syn", node.tau_syn))
        spec.tau_syn = 1.0 / (1.0 - b)
        spec.gain = b if spec.source == "rockpool" else 1.0
    elif isinstance(node, nir.LI):
        spec.gain = decay(tau)      # ExpSynTorch: i <- b (i + x)
    else:                           # v <- a v + x leaking toward v_leak: constant input (1 - a) v_leak
        spec.leak_bias = scalar(name, "v_leak", node.v_leak) / spec.tau
    return spec
