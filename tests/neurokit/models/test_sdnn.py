"""SDNN preset and ANN -> SDNN conversion: with threshold 0 the SDNN equals the ANN on every frame, larger thresholds
send fewer messages per layer, a video whose frames change little saves messages, bias/Sigma semantics, bad input."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import neurokit as nk
from neurokit.models import ann_to_sdnn, message_stats, sdnn_cnn
from neurokit.neurons import Sigma, sigma_delta_reference


def _ann(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 8), nn.ReLU(), nn.Linear(8, 3))


def _video(T=6, B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(B, 1, 8, 8, generator=g)
    drift = 0.02 * torch.randn(T, B, 1, 8, 8, generator=g).cumsum(0)
    return base + drift                                                  # [T, B, 1, 8, 8], slowly changing


def test_threshold_zero_equals_the_ann_on_every_frame():
    ann, x = _ann(), _video()
    sdnn = ann_to_sdnn(ann, threshold=0.0)
    with torch.no_grad():
        want = torch.stack([ann(x[t]) for t in range(x.shape[0])])
        got = sdnn(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_larger_threshold_sends_fewer_messages_and_static_frames_send_once():
    ann, x = _ann(), _video()
    counts = [[s["messages"] for s in message_stats(ann_to_sdnn(ann, th), x)] for th in (0.0, 0.02, 0.1)]
    assert len(counts[0]) == 4  # input encoder + 3 hidden layers
    for lo, hi in zip(counts, counts[1:]):
        assert all(a >= b for a, b in zip(lo, hi)) and sum(hi) < sum(lo), counts
    static = x[:1].expand(5, *x.shape[1:])
    stats = message_stats(ann_to_sdnn(ann, 0.0), static)
    for s in stats:  # a frame that does not change is sent once: at most 1/T of the dense ANN's messages
        assert s["messages"] <= s["dense"] / 5 and s["saved"] >= 0.8 - 1e-9, s
    with torch.no_grad():  # and the read-out still holds the ANN's answer at every step
        torch.testing.assert_close(ann_to_sdnn(ann, 0.0)(static), ann(x[0]).expand(5, -1, -1), rtol=1e-5, atol=1e-5)


def test_preset_shapes_and_training_step():
    sdnn = sdnn_cnn(in_channels=1, n_out=10, channels=(4, 8), hidden=16, threshold=0.05)
    x = torch.rand(4, 2, 1, 8, 8)
    y = sdnn(x)
    assert y.shape == (4, 2, 10)
    y[-1].sum().backward()                      # straight-through gradient reaches every weight and bias
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in sdnn.parameters())


def test_bias_is_added_after_sigma_and_sigma_false_encodes_the_input():
    x = torch.tensor([[[1.0]], [[0.0]], [[0.5]]])
    sd = nk.SigmaDelta(0.0, activation="identity", scale=None, bias=torch.tensor([0.25]))
    assert sd(x).flatten().tolist() == [1.25, 0.0, 0.5]                  # act = 1.25, 1.25, 1.75
    enc = nk.SigmaDelta(0.3, activation="identity", scale=None, sigma=False)
    assert enc(x).flatten().tolist() == [1.0, -1.0, 0.5]                 # changes of x: 1, -1, 0.5
    ref = sigma_delta_reference(x, 0.3, "identity", scale=None, sigma=False)
    assert torch.equal(ref, enc(x))
    assert Sigma(torch.tensor([1.0]))(x).flatten().tolist() == [2.0, 2.0, 2.5]


def test_bad_input():
    with pytest.raises(ValueError, match="threshold must be a number >= 0, got threshold=-1"):
        ann_to_sdnn(_ann(), threshold=-1)
    with pytest.raises(ValueError, match=r"ann\[0\]: Tanh has no sigma-delta conversion"):
        ann_to_sdnn(nn.Sequential(nn.Tanh(), nn.Linear(2, 1)), 0.1)
    with pytest.raises(ValueError, match=r"ann\[0\] \(Linear\): only the last synapse"):
        ann_to_sdnn(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)), 0.1)
    with pytest.raises(ValueError, match="bias has 3 channels"):
        nk.SigmaDelta(0.1, scale=None, bias=torch.zeros(3))(torch.zeros(2, 1, 4))
    with pytest.raises(ValueError, match="bias must be a finite 1-D float tensor"):
        nk.SigmaDelta(0.1, scale=None, bias=torch.zeros(2, 2))


def _digits_ann():
    train, test = nk.data.digits(T=1, encoding="direct", flatten=False)
    x_tr, x_te = (torch.stack([d[i][0][0] for i in range(len(d))]) for d in (train, test))
    y_tr, y_te = (torch.tensor([int(d[i][1]) for i in range(len(d))]) for d in (train, test))
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 32),
                        nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(ann.parameters(), lr=1e-2)
    for step in range(150):
        idx = torch.randint(0, len(x_tr), (128,), generator=torch.Generator().manual_seed(step))
        loss = nn.functional.cross_entropy(ann(x_tr[idx]), y_tr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return ann, x_te, y_te


def test_conversion_report_on_digits():
    ann, x, y = _digits_ann()
    rep = nk.models.conversion_report(ann, x, y, thresholds=(0.0, 0.1, 0.5), T=4)
    assert rep["ann_accuracy"] > 0.85, rep["ann_accuracy"]
    exact, mid, coarse = rep["sdnn"]
    assert exact["accuracy"] == rep["ann_accuracy"]             # threshold 0: the ANN's predictions
    assert exact["saved"] >= 0.75 - 1e-9                        # static frames: each value sent once in T = 4
    assert coarse["messages"] < mid["messages"] < exact["messages"]
    assert all(0 <= s["saved"] <= 1 for row in rep["sdnn"] for s in row["layers"])
    assert mid["accuracy"] > 0.8, mid


def test_nir_refuses_sigma_delta_naming_the_module():
    sdnn = sdnn_cnn(threshold=0.1)
    with pytest.raises(nk.CompileError, match=r"node '0' \(sigma_delta\).*NIR \(1.0\) has no sigma-delta node"):
        nk.compile(sdnn, target="nir", example_input=torch.rand(4, 1, 1, 8, 8))


def test_rate_snn_has_the_ann_shapes_and_relays_the_input_spikes():
    from neurokit.models import rate_snn
    ann = _ann()
    snn = rate_snn(ann, seed=3)
    syn = lambda net: [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert [tuple(p.weight.shape) for p in syn(snn)] == [tuple(p.weight.shape) for p in syn(ann)]
    assert all(isinstance(s, nk.layers.Conv2d) for s in syn(snn) if isinstance(s, nn.Conv2d))
    assert sum(isinstance(m, nk.LIF) and not isinstance(m, nk.IF) for m in snn) == 3     # one after each hidden layer
    torch.testing.assert_close(rate_snn(ann, seed=3)[1].weight, snn[1].weight)          # seeded initialisation
    spikes = (torch.rand(6, 2, 1, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    assert torch.equal(snn[0](spikes), spikes)                                           # the input relay
    assert snn(spikes).shape == (6, 2, 3)
    with pytest.raises(ValueError, match=r"ann\[1\]: Sigmoid"):
        rate_snn(nn.Sequential(nn.Linear(4, 4), nn.Sigmoid()))
