"""Parity of neurokit's event counts with the real NeuroBench 2.3.0 package (installed --no-deps by
scripts/setup_env.sh; it must import and run without torchaudio or tonic).

Both sides run the identical network on identical data: NeuroBench drives an snnTorch net step by step through
``SNNTorchModel`` + ``Benchmark``; neurokit counts the same snnTorch net stepwise, and a neurokit time-major copy of
it (same weights, ``nk.LIF`` configured as snnTorch ``Leaky``) in one call.
"""
import pytest
import snntorch as snn
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import neurokit as nk
from hw_targets.energy.counting import count_events

T, N_SAMPLES, BATCH = 6, 8, 4
BETA = 0.5                           # snnTorch Leaky(beta) == nk.LIF(tau=1/(1-beta), decay_input=False, ...)


def _nb_run(net, data):
    """NeuroBench's own SynapticOperations and ActivationSparsity on ``data [N, T, ...]``."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel

    loader = DataLoader(TensorDataset(data, torch.zeros(len(data), dtype=torch.long)), batch_size=BATCH)
    bench = Benchmark(SNNTorchModel(net), loader, [], [], [[], [SynapticOperations, ActivationSparsity]])
    return bench.run(quiet=True)


def _leaky(**kw):
    return snn.Leaky(beta=BETA, init_hidden=True, **kw)


def _nk_lif():
    return nk.LIF(tau=1.0 / (1.0 - BETA), decay_input=False, v_reset=None, reset_after_decay=True, backend="torch")


def _mlp_pair():
    torch.manual_seed(1)
    ref = nn.Sequential(nn.Linear(20, 16), _leaky(), nn.Linear(16, 10), _leaky(), nn.Linear(10, 4),
                        _leaky(output=True))
    ours = nn.Sequential(nn.Linear(20, 16), _nk_lif(), nn.Linear(16, 10), _nk_lif(), nn.Linear(10, 4), _nk_lif())
    ours.load_state_dict(ref.state_dict(), strict=False)
    with torch.no_grad():                      # a pruned weight exercises NeuroBench's zero-weight rule
        for m in (ref[2], ours[2]):
            m.weight[0, :5] = 0.0
    data = (torch.rand(N_SAMPLES, T, 20) < 0.3).float()          # binary spikes -> ACs everywhere
    return ref, ours, data


def _conv_pair():
    torch.manual_seed(2)
    ref = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), _leaky(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2),
                        _leaky(), nn.Flatten(), nn.Linear(6, 5), _leaky(output=True))
    ours = nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), _nk_lif(), nk.layers.MaxPool2d(2),
                         nk.layers.Conv2d(4, 6, 3, stride=2), _nk_lif(), nk.layers.Flatten(), nn.Linear(6, 5),
                         _nk_lif())
    for r, o in ((ref[0], ours[0]), (ref[3], ours[3]), (ref[6], ours[6])):
        o.load_state_dict(r.state_dict())
    data = torch.rand(N_SAMPLES, T, 2, 6, 6) * 2.0                 # real-valued frames -> MACs in the first layer
    data[:, :, :, :2] = 0.0                                         # and some zero pixels
    return ref, ours, data


@pytest.mark.parametrize("pair", [_mlp_pair, _conv_pair], ids=["mlp", "conv"])
def test_synops_and_sparsity_equal_neurobench(pair):
    ref, ours, data = pair()
    nb = _nb_run(ref, data)
    x = data.transpose(0, 1).contiguous()                                   # [T, N, ...]

    stepwise = count_events(ref, x, stepwise=True)                          # the same snnTorch net
    ours_counts = count_events(ours, x)                                     # neurokit time-major copy
    for counts in (stepwise, ours_counts):
        got = counts.synops()
        for key in ("Effective_MACs", "Effective_ACs", "Dense"):
            assert got[key] == pytest.approx(float(nb["SynapticOperations"][key]), rel=1e-9, abs=1e-9), key
        assert counts.activation_sparsity() == pytest.approx(nb["ActivationSparsity"], rel=1e-9)
    # the run really exercised both kinds of operations where expected
    if pair is _conv_pair:
        assert nb["SynapticOperations"]["Effective_MACs"] > 0 and nb["SynapticOperations"]["Effective_ACs"] > 0
    else:
        assert nb["SynapticOperations"]["Effective_MACs"] == 0 and nb["SynapticOperations"]["Effective_ACs"] > 0
    assert 0.0 < nb["ActivationSparsity"] < 1.0


def test_neurobench_imports_without_torchaudio_or_tonic():
    """In a fresh interpreter (other tests of this worker may have imported tonic for nk.data.from_tonic)."""
    import subprocess
    import sys

    code = ("import sys, neurobench.benchmarks, neurobench.metrics.workload; "
            "print(sorted({'torchaudio', 'tonic'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
