"""Spiking conv networks for the loihi2 tests (tests/hw_targets/loihi2/test_loihi2_compile.py,
tests/hw_targets/loihi2/test_lava_parity.py).

``conv_example``: the documented example, ``Conv2d(1, 4, 3, padding=1) -> LIF -> Flatten -> Linear(256, 10)``
readout, input ``[T, B, 1, 8, 8]``. ``conv_geometry``: a non-square ``[T, B, 2, 6, 8]`` input through a conv with
a non-square kernel, stride and padding and a folded batch norm (a per-channel bias), then a grouped, dilated conv
into CUBA-LIF, Flatten, a LIF dense layer; it tells (C, H, W) from (W, H, C) apart in every layout.
"""
import torch
from torch import nn

import neurokit as nk

#: builder name -> per-step input shape
SHAPES = {"conv_example": (1, 8, 8), "conv_geometry": (2, 6, 8)}


def conv_example(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1, bias=False),
                         nk.LIF(tau=2.0, decay_input=False, v_threshold=0.3),
                         nk.layers.Flatten(), nn.Linear(4 * 8 * 8, 10, bias=False))


def conv_geometry(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    bn = nk.layers.BatchNorm2d(4)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.bias.uniform_(-0.1, 0.1)
    return nn.Sequential(
        nk.layers.Conv2d(2, 4, (3, 2), stride=(1, 2), padding=(1, 0), bias=False), bn,
        nk.LIF(tau=2.0, decay_input=False, v_threshold=0.3),
        nk.layers.Conv2d(4, 6, 3, padding=(2, 1), dilation=(2, 1), groups=2, bias=False),
        nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.2),
        nk.layers.Flatten(), nn.Linear(6 * 6 * 4, 5, bias=False), nk.LIF(tau=2.0, v_threshold=0.2)).eval()


def frames(name: str, seed: int, T: int = 60, B: int = 1, p: float = 0.3) -> torch.Tensor:
    """0/1 spike frames ``[T, B, *SHAPES[name]]``."""
    return (torch.rand(T, B, *SHAPES[name], generator=torch.Generator().manual_seed(100 + seed)) < p).float()
