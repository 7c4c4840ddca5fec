"""``nk.train`` warns once per layer, naming it, when a spiking layer emits no spike during an epoch."""
import warnings

import pytest
import torch
from torch import nn

import neurokit as nk


def _data(n=32, T=4, features=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = (torch.rand(n, T, features, generator=g) < 0.3).float()
    ys = torch.randint(0, 4, (n,), generator=g)
    return [(xs[i], int(ys[i])) for i in range(n)]


def _train(model, epochs=2):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nk.train(model, _data(), epochs=epochs, batch_size=16, device="cpu", progress=False)
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and "nk.train" in str(w.message)]


def test_dead_layer_warned_once_per_layer_by_name():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nk.LIF(v_threshold=1e6), nn.Linear(32, 32), nk.LIF(v_threshold=1e6),
                          nn.Linear(32, 4))
    messages = _train(model, epochs=3)
    assert len(messages) == 2, messages                   # two dead layers, three epochs: one warning each
    assert "neuron layer '1'" in messages[0] and "epoch 1" in messages[0]
    assert "neuron layer '3'" in messages[1]
    assert "v_threshold" in messages[0] and "BatchNorm" in messages[0]


def test_live_layers_do_not_warn():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nk.LIF(v_threshold=0.05), nn.Linear(32, 4))
    assert _train(model) == []


def test_recorder_counts_per_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nk.LIF(v_threshold=0.05), nn.Linear(8, 8), nk.LIF(v_threshold=1e6))
    x = torch.stack([s for s, _ in _data(4)], 1)
    with torch.no_grad(), nk.training.SpikeRecorder(model) as rec:
        spikes = model[:2](x)
        model[2:](spikes)
    assert rec.names == ["1", "3"]
    assert rec.layer_counts[0].tolist() == [float(spikes.sum()), float(spikes.numel())]
    assert rec.layer_counts[1, 0] == 0 and rec.layer_counts[1, 1] == spikes.numel()
    assert float(rec.spikes) == pytest.approx(float(spikes.sum()))
