"""neurokit: define spiking and low-precision networks once in PyTorch; train on GPU; lower to integer ONNX,
a Loihi-2-style fixed-point target and NIR; estimate energy per inference.

    >>> import neurokit as nk
    >>> lif = nk.LIF(tau=2.0)
    >>> spikes = lif(torch.rand(8, 2, 16))    # [T, B, N]
"""
from . import encode, layers, neurons, surrogate
from .neurons import ALIF, IF, LIF, PLIF, CubaLIF
from . import data, training
from .training import train

__version__ = "0.1.0"

__all__ = ["LIF", "IF", "CubaLIF", "ALIF", "PLIF", "surrogate", "encode", "layers", "neurons", "data", "training", "train"]
