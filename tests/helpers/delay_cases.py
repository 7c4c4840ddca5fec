"""The product demo's delay SNN with random weights that spike and a batch norm whose folded bias is non-zero.

Shared by tests/hw_targets/loihi2/test_loihi2.py (loihi2 == integer reference, latency=1) and
tests/hw_targets/loihi2/test_lava_parity.py (== Lava).
"""
import torch

import neurokit as nk

N_IN = 2


def demo_delay_snn(seed: int) -> nk.models.DelaySNN:
    """``nk.models.delay_snn`` exactly as the demo builds it (2 inputs, 4 classes, 64 hidden, delays <= 12, readout
    tau 20), rounded and in eval mode, with batch-norm statistics from random spikes and random ``gamma``/``beta``
    (so the folded per-neuron bias is non-zero and some neurons are driven by it alone).

    Example: ``demo_delay_snn(0)((torch.rand(50, 1, 2) < 0.3).float()).shape == (50, 1, 4)``.
    """
    torch.manual_seed(seed)
    m = nk.models.delay_snn(in_features=N_IN, num_classes=4, hidden=64, layers=1, max_delay=12, dropout=0.0,
                            readout_tau=20.0, sigma_final=0.1, anneal_fraction=0.5, seed=seed)
    nk.models.round_delays(m)
    g = torch.Generator().manual_seed(1000 + seed)
    m.train()
    with torch.no_grad():  # running statistics of the delayed input current
        for _ in range(20):
            m((torch.rand(40, 8, N_IN, generator=g) < 0.3).float())
        bn = m.hidden[0][1]
        bn.weight.copy_(0.5 + torch.rand(bn.weight.shape, generator=g))        # gamma in [0.5, 1.5)
        bn.bias.copy_(torch.rand(bn.bias.shape, generator=g) - 0.3)           # beta in [-0.3, 0.7)
        m.output.weight.mul_(4.0)                                             # a readout that moves
    return m.eval()


def spikes(seed: int, T: int = 60, B: int = 1, p: float = 0.3) -> torch.Tensor:
    """Random 0/1 input ``[T, B, 2]``."""
    return (torch.rand(T, B, N_IN, generator=torch.Generator().manual_seed(seed)) < p).float()
