"""neurokit: define spiking and low-precision networks once in PyTorch; train on GPU; lower to integer ONNX,
a Loihi-2-style fixed-point target and NIR; estimate energy per inference.

    >>> import neurokit as nk
    >>> lif = nk.LIF(tau=2.0)
    >>> spikes = lif(torch.rand(8, 2, 16))    # [T, B, N]
"""

from . import continual, data, encode, layers, models, neurons, surrogate, training
from .neurons import ALIF, IF, LIF, PLIF, CubaLIF, SigmaDelta
from .errors import CompileError
from .training import train
from .layers.time_major import time_major

__version__ = "0.1.0"

__all__ = ["LIF", "IF", "CubaLIF", "ALIF", "PLIF", "SigmaDelta", "surrogate", "encode", "layers", "neurons", "data",
           "training", "train", "energy", "models", "continual", "compile", "CompileError", "from_nir",
           "from_snntorch", "time_major", "from_netx"]


def energy(model_or_cm, x, target="cmos45", **kwargs):
    """Energy per inference of ``model_or_cm`` on ``x [T, B, ...]`` for ``target`` ("cmos45" | "loihi2" |
    "onnx_int" | "gpu"); see :func:`hw_targets.energy.energy` (imported lazily). Returns an ``EnergyReport``.

    Example::

        >>> rep = nk.energy(net, x, target="loihi2"); rep.total_j, rep.to_dict()["shares"]
    """
    from hw_targets.energy import energy as _energy
    return _energy(model_or_cm, x, target, **kwargs)


def compile(model, target="gpu", example_input=None, **options):  # noqa: A001 (public API name)
    """Compile ``model`` for ``target`` ("gpu" | "onnx_int" | "loihi2" | "nir"); see
    :func:`hw_targets.compile_model` (imported lazily). Returns a ``CompiledModel``.

    Example::

        >>> cm = nk.compile(model, target="onnx_int", example_input=x)   # x [T, B, ...]
        >>> cm.run(x); cm.save("model.onnx"); cm.report()
    """
    from hw_targets import compile_model
    return compile_model(model, target, example_input, **options)


def from_nir(graph, dt=None, reset=None, multi_spike=None):
    """Import a NIR graph (``nir.NIRGraph`` or a ``.nir`` path) as a neurokit model that spikes as the exporting
    framework (neurokit, snnTorch, SpikingJelly, Norse, Sinabs, Rockpool, Spyx) runs it; see
    :func:`hw_targets.nir.from_nir` (imported lazily) and :mod:`hw_targets.nir.conventions` for the rules applied
    where the graph records no ``dt`` or reset mode (each choice is named in one warning).

    Example::

        >>> model = nk.from_nir("net.nir")        # nn.Sequential or GraphModel; x [T, B, ...] -> outputs
        >>> model = nk.from_nir(graph, reset="subtract")   # snnTorch Leaky's default reset, one step late
        >>> model = nk.from_nir(sinabs.to_nir(net, x0), multi_spike=False)   # Sinabs layers with SingleSpike
    """
    from hw_targets.nir import from_nir as _from_nir
    return _from_nir(graph, dt=dt, reset=reset, multi_spike=multi_spike)


def from_snntorch(model):
    """Convert an snnTorch ``nn.Sequential`` (``Linear``/``Conv2d``/... and ``Leaky``/``Synaptic`` neurons) into a
    time-major neurokit model with the same spikes; see :func:`neurokit.interop.snntorch.from_snntorch` (snnTorch
    is imported lazily).

    Example::

        >>> model = nk.from_snntorch(net)            # x [T, B, ...] -> spikes [T, B, ...]
        >>> nk.compile(model, target="onnx_int", example_input=x)
    """
    from .interop.snntorch import from_snntorch as _from_snntorch
    return _from_snntorch(model)


def from_netx(path, num_layers=None, skip_layers=0):
    """Read a lava-dl netx ``.net`` file as a trainable model whose forward is Lava's fixed-point run (float shadow
    weights); ``nk.compile(model, target="loihi2", ...)`` writes it back. See
    :func:`hw_targets.loihi2.netx_model.from_netx` (imported lazily).

    Example::

        >>> model = nk.from_netx("ntidigits.net", num_layers=5)   # x: 0/1 spikes [T, B, 64] -> spikes [T, B, 242]
    """
    from hw_targets.loihi2.netx_model import from_netx as _from_netx
    return _from_netx(path, num_layers=num_layers, skip_layers=skip_layers)
