"""nk.SigmaDelta: hand-worked cases, module == the reference loop (forward and gradient), equality with lava-dl's
slayer sigma-delta neuron (real package, run in the lava venv), and bad input."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

import neurokit as nk
from hw_targets.loihi2.lava_bridge import lava_python
from neurokit.neurons import sigma_delta_reference
from neurokit.neurons.sigma_delta import quantized_threshold
from tests.helpers.paths import REPO_ROOT


def _col(values):
    return torch.tensor(values, dtype=torch.float32).reshape(-1, 1, 1)


def test_hand_worked_threshold_and_residual():
    # sigma 0.5, 0.55, 0.75, 0.45, -0.05 -> relu 0.5, 0.55, 0.75, 0.45, 0
    x = _col([0.5, 0.05, 0.2, -0.3, -0.5])
    y = nk.SigmaDelta(threshold=0.1, scale=None)(x).flatten().tolist()
    # d: 0.5 sent; 0.05 kept (r=0.05); 0.2+0.05=0.25 sent; -0.3 sent; -0.45 sent
    assert y == pytest.approx([0.5, 0.0, 0.25, -0.3, -0.45], abs=1e-6)
    assert sum(y) == pytest.approx(0.0, abs=1e-6)  # the messages sum to the activation (0 at the end)


def test_hand_worked_identity_cum_error_and_flooring():
    x = _col([0.04, 0.04, 0.04, -0.2])
    # identity, no cum_error: d = 0.04, 0.08 (r carried), 0.12 >= 0.1 sent, then -0.2 sent
    y = nk.SigmaDelta(0.1, activation="identity", scale=None)(x).flatten().tolist()
    assert y == pytest.approx([0.0, 0.0, 0.12, -0.2], abs=1e-6)
    # cum_error: e = 0.04, 0.04 + 0.08 = 0.12 >= 0.1 -> sends d = 0.08; r = 0, e reset; d = 0.04, e = 0.04
    y = nk.SigmaDelta(0.1, activation="identity", cum_error=True, scale=None)(x).flatten().tolist()
    assert y == pytest.approx([0.0, 0.08, 0.0, -0.16], abs=1e-6)
    # scale=64: messages floored to the grid 1/4096 (threshold 0.25 is on the weight grid 1/64): the third
    # message is 0.2 + 0.1 (residual) = 0.3 -> floor(0.3 * 4096) / 4096 = 1228 / 4096
    y = nk.SigmaDelta(0.25)(_col([1.0, 0.1, 0.2])).flatten().tolist()
    assert y == [1.0, 0.0, 1228 / 4096]


def test_threshold_quantization_rule_and_warning():
    assert quantized_threshold(0.1, 64) == 6 / 64
    assert quantized_threshold(0.001, 64) == 1 / 4096          # at least one state step
    assert quantized_threshold(0.1, None) == 0.1
    with pytest.warns(UserWarning, match="threshold=0.1 is quantized to 0.09375"):
        sd = nk.SigmaDelta(0.1)
    assert sd.threshold == 0.09375


@pytest.mark.parametrize("cum_error", [False, True])
@pytest.mark.parametrize("activation,scale", [("relu", 64), ("identity", None)])
def test_module_equals_reference_forward_and_gradient(cum_error, activation, scale):
    torch.manual_seed(0)
    x = (torch.randn(12, 3, 2, 5) * 0.2).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    g = torch.randn(12, 3, 2, 5)
    sd = nk.SigmaDelta(0.125, activation=activation, cum_error=cum_error, scale=scale)
    y = sd(x)
    ref = sigma_delta_reference(x2, 0.125, activation, cum_error, scale)
    assert torch.equal(y, ref)
    assert 0 < float(sd.message_rate) < 1
    (y * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-6)
    assert x.grad.abs().sum() > 0


def test_equals_lava_dl_slayer_sigma_delta(tmp_path):
    """lava-dl's slayer ``sigma_delta.Neuron`` (scale 64) on the same input: same messages, same input gradient.

    Without ``cum_error`` only: lava-dl 0.6's ``cum_error=True`` path raises under torch 2 (``1 - bool_tensor`` in
    ``slayer/axon/delta.py``), so that option is covered by the hand-worked case and the reference alone."""
    rng = np.random.default_rng(1)
    cfgs = [(0.125, False, True), (0.25, False, True), (0.0625, False, False), (0.5, False, False)]
    cases = {}
    for i, cfg in enumerate(cfgs):
        cases[f"x{i}"] = (rng.standard_normal((10, 2, 6)) * 0.3).astype(np.float32)
        cases[f"g{i}"] = rng.standard_normal((10, 2, 6)).astype(np.float32)
        cases[f"cfg{i}"] = np.array(cfg, np.float64)
    np.savez(tmp_path / "cases.npz", **cases)
    script = REPO_ROOT / "tests" / "helpers" / "slayer_sigma_delta.py"
    proc = subprocess.run([str(lava_python()), str(script), str(tmp_path / "cases.npz"), str(tmp_path / "out.npz")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lava = np.load(tmp_path / "out.npz")
    for i, (threshold, cum_error, relu) in enumerate(cfgs):
        x = torch.tensor(cases[f"x{i}"], requires_grad=True)
        sd = nk.SigmaDelta(threshold, activation="relu" if relu else "identity", cum_error=cum_error)
        y = sd(x)
        (y * torch.tensor(cases[f"g{i}"])).sum().backward()
        np.testing.assert_array_equal(y.detach().numpy(), lava[f"y{i}"], err_msg=f"case {i}: messages")
        assert (lava[f"y{i}"] != 0).any() and (lava[f"y{i}"] == 0).any(), f"case {i}: vacuous"
        np.testing.assert_allclose(x.grad.numpy(), lava[f"dx{i}"], rtol=1e-5, atol=1e-6, err_msg=f"case {i}: grad")


def test_bad_input_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"threshold must be >= 0.*threshold=-0.5"):
        nk.SigmaDelta(threshold=-0.5)
    with pytest.raises(TypeError, match="threshold must be a finite number"):
        nk.SigmaDelta(threshold=float("nan"))
    with pytest.raises(ValueError, match="activation must be one of"):
        nk.SigmaDelta(0.25, activation="tanh")
    with pytest.raises(ValueError, match="scale must be a positive int"):
        nk.SigmaDelta(0.25, scale=0)
    with pytest.raises(ValueError, match="time-major"):
        nk.SigmaDelta(0.25)(torch.zeros(4))
