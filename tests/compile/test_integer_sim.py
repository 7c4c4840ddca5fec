"""Integer neuron (Lava's bit-accurate CUBA-LIF) and the integer reference simulator, each against an
independent plain reference; float vs integer fidelity on digits."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import neurokit as nk
from compile import integer_sim
from compile.capture import capture
from compile.integer_neuron import IntNeuronParams, decay_from_tau, integer_cuba_run, integer_cuba_step, trunc_shift
from compile.passes import quantize, round_delays
from neurokit.layers.delays import DelayedLinear, delayed_linear_reference
from tests.helpers.paths import REPO_ROOT

torch.set_num_threads(1)


def lava_step(u, v, a, du, dv, vth, reset, act=6, vsh=6, bits=24):
    """Scalar Python-int transcription of loihi_nir.md §2.2 (sign * (|x| >> 12), explicit wrap/clip)."""
    top = 2 ** (bits - 1)

    def toward_zero(p):
        return (1 if p >= 0 else -1) * (abs(p) >> 12)

    u = toward_zero(u * (4096 - du)) + (a << act)
    if u > top:
        u -= 2 * top
    elif u <= -top:
        u += 2 * top
    v = toward_zero(v * (4096 - dv)) + u
    v = min(max(v, -top + 1), top - 1)
    s = int(v > (vth << vsh))
    if s:
        v = 0 if reset == "hard" else v - (vth << vsh)
    return u, v, s


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("fmt", [(6, 6, 24), (0, 0, 16), (6, 0, 24)])
def test_integer_cuba_step_matches_scalar_lava_reference(reset, fmt):
    rng = np.random.default_rng(hash((reset, fmt)) % 2 ** 32)
    act, vsh, bits = fmt
    for _ in range(8):
        du, dv = int(rng.integers(0, 4097)), int(rng.integers(0, 4097))
        n = 16
        vth = rng.integers(0, 2 ** (bits - 2 - vsh) if vsh else 2 ** (bits - 2), size=n)
        p = IntNeuronParams(du, dv, vth, reset, act, vsh, bits)
        big = 2 ** (bits - 1 - act) * 2  # drives u into wrap-around and v into saturation
        a = rng.integers(-big, big, size=(12, n))
        u = v = np.zeros(n, np.int64)
        ut = vt = torch.zeros(n, dtype=torch.int64)
        ref = [(0, 0)] * n
        for t in range(12):
            u, v, s = integer_cuba_step(u, v, a[t], p)
            ut, vt, st = integer_cuba_step(ut, vt, torch.as_tensor(a[t]), p)
            ref = [lava_step(ref[i][0], ref[i][1], int(a[t, i]), du, dv, int(vth[i]), reset, act, vsh, bits)
                   for i in range(n)]
            np.testing.assert_array_equal(u, [r[0] for r in ref])
            np.testing.assert_array_equal(v, [r[1] for r in ref])
            np.testing.assert_array_equal(s, [r[2] for r in ref])
            assert torch.equal(ut, torch.from_numpy(u)) and torch.equal(st, torch.from_numpy(s))
            ref = [(r[0], r[1]) for r in ref]


def test_neuron_helpers_and_validation():
    assert trunc_shift(np.array([-5000, -4097, 5000, -1]), 12).tolist() == [-1, -1, 1, 0]
    assert decay_from_tau(2.0) == 2048 and decay_from_tau(None) == 0 and decay_from_tau(1.0) == 4096
    with pytest.raises(ValueError, match="tau"):
        decay_from_tau(0.5)
    with pytest.raises(ValueError, match="decay_v"):
        IntNeuronParams(4096, 5000, np.array([1]))
    with pytest.raises(ValueError, match="vth"):
        IntNeuronParams(4096, 0, np.array([-1]))
    with pytest.raises(ValueError, match="reset"):
        IntNeuronParams(4096, 0, np.array([1]), reset="zero")
    s = integer_cuba_run(np.full((4, 1, 2), 11), IntNeuronParams(4096, 2048, np.array([10, 20])))
    assert s[:, 0].tolist() == [[1, 0], [1, 0], [1, 0], [1, 1]]


def _q(model, x, **kw):
    return quantize(round_delays(capture(model, x)), **kw)


def test_dense_conv_pool_against_float64_torch_on_integers():
    torch.manual_seed(0)
    m = nn.Sequential(nk.layers.Conv2d(4, 6, 3, padding=1, stride=2, dilation=1, groups=2), nk.LIF(),
                      nk.layers.AvgPool2d(2, padding=1), nk.layers.MaxPool2d(2), nk.layers.Flatten(),
                      nn.Linear(6, 3), nk.IF())
    x = (torch.rand(3, 2, 4, 9, 9) < 0.5).float()
    g = _q(m, x)
    _, vals = integer_sim.run(g, x, record=True)
    xi = torch.from_numpy(vals["input"]).double().flatten(0, 1)
    c = g.node("0")
    ref = F.conv2d(xi, torch.from_numpy(c.quant.weight).double(), torch.from_numpy(c.quant.bias).double(),
                   c.stride, c.padding, c.dilation, c.groups)
    np.testing.assert_array_equal(vals["0"].reshape(ref.shape), ref.numpy())
    s = torch.from_numpy(vals["1"]).double().flatten(0, 1)
    pooled = F.avg_pool2d(s, 2, padding=1) * 4
    np.testing.assert_array_equal(vals["2"].reshape(pooled.shape), pooled.numpy())
    np.testing.assert_array_equal(vals["3"].reshape(-1), F.max_pool2d(pooled, 2).numpy().reshape(-1))
    d = g.node("5")
    np.testing.assert_array_equal(vals["5"], vals["4"] @ d.quant.weight.T + d.quant.bias)
    assert g.scales["2"] == pytest.approx(0.25)


def test_delays_against_delayed_linear_reference_and_latency():
    torch.manual_seed(0)
    layer = DelayedLinear(5, 4, max_delay=4, mode="random", generator=torch.Generator().manual_seed(2))
    m = nn.Sequential(layer, nk.LIF())
    x = (torch.rand(9, 3, 5) < 0.5).float()
    g = _q(m, x)
    _, vals = integer_sim.run(g, x, record=True)
    w = torch.from_numpy(g.node("0").quant.weight).double()
    ref = delayed_linear_reference(x.double(), w, layer.delay)
    np.testing.assert_array_equal(vals["0"], ref.numpy())
    _, late = integer_sim.run(g, x, latency=1, record=True)
    np.testing.assert_array_equal(late["0"][1:], vals["0"][:-1])
    assert (late["0"][0] == 0).all()


def test_latency_mode_applies_the_bias_from_step_zero():
    """latency=1 (Lava's timing): acc[t] = W x[t-1] + b, the bias acting from t = 0 in every layer; latency=0 as is."""
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(5, 4), nk.LIF(tau=2.0, v_threshold=0.3), nn.Linear(4, 3), nk.LIF(v_threshold=0.3))
    x = (torch.rand(12, 2, 5) < 0.5).float()
    g = _q(m, x)
    _, now = integer_sim.run(g, x, record=True)
    _, late = integer_sim.run(g, x, latency=1, record=True)
    b0, b2 = g.node("0").quant.bias, g.node("2").quant.bias
    assert np.any(b0) and np.any(b2)
    np.testing.assert_array_equal(now["0"], x.numpy() @ g.node("0").quant.weight.T + b0)
    np.testing.assert_array_equal(late["0"][0], np.broadcast_to(b0, (2, 4)))
    np.testing.assert_array_equal(late["0"][1:], now["0"][:-1])
    np.testing.assert_array_equal(late["2"][0], np.broadcast_to(b2, (2, 3)))
    np.testing.assert_array_equal(late["2"][1:], late["1"][:-1] @ g.node("2").quant.weight.T + b2)


def test_integer_sim_rejects_bad_input():
    m = nn.Sequential(nn.Linear(4, 2), nk.LIF())
    x = (torch.rand(3, 2, 4) < 0.5).float()
    g = _q(m, x)
    with pytest.raises(ValueError, match=r"\[T, B, 4\]"):
        integer_sim.run(g, torch.rand(3, 2, 5))
    with pytest.raises(ValueError, match="spike"):
        integer_sim.run(g, torch.rand(3, 2, 4) + 0.1)
    with pytest.raises(ValueError, match="quantized"):
        integer_sim.run(capture(m, x), x)


def test_digits_integer_accuracy_within_one_point_of_float_qat():
    """Trains three small QAT models briefly (the README command trains longer): the integer model's accuracy
    (integer simulator == onnxruntime, bit for bit) is within 1 point of the float QAT model's."""
    import importlib.util

    path = REPO_ROOT / "benchmarks" / "fidelity.py"
    spec = importlib.util.spec_from_file_location("neurokit_fidelity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.fidelity(["quant_snn", "binary_mlp", "quant_cnn"], epochs=2)
    for row in rows:
        assert row["bit_identical"], row
        assert row["int_acc"] == row["onnx_acc"]
        assert abs(row["float_acc"] - row["int_acc"]) <= 1.0, row
    assert rows[0]["float_acc"] > 60 and rows[1]["float_acc"] > 60
