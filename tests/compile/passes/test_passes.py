"""Each compile pass alone: fold_bn, round_delays, quantize (weights, thresholds, decays, requant), check_limits."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError
from compile.capture import capture
from compile.passes import Limits, check_limits, fold_bn, quantize, round_delays
from compile.passes.quantize import quantize_weights
from hw_targets.gpu import TorchProgram
from neurokit.layers.delays import DelayedLinear

torch.set_num_threads(1)


def _bn_model():
    m = nn.Sequential(nk.layers.Conv2d(2, 3, 3, padding=1), nk.layers.BatchNorm2d(3), nk.LIF(),
                      nk.layers.Flatten(), nn.Linear(3 * 16, 4), nk.layers.BatchNorm1d(4), nk.IF())
    g = torch.Generator().manual_seed(0)
    for bn in (m[1], m[5]):
        bn.running_mean.uniform_(-0.5, 0.5, generator=g)
        bn.running_var.uniform_(0.2, 2.0, generator=g)
        bn.weight.data.uniform_(-1.5, 1.5, generator=g)
        bn.bias.data.uniform_(-0.3, 0.3, generator=g)
    return m


def test_fold_bn_matches_unfolded_float_graph():
    torch.manual_seed(0)
    x = torch.rand(3, 2, 2, 4, 4)
    g = capture(_bn_model(), x)
    folded = fold_bn(g)
    assert [n.op for n in folded] == ["input", "conv", "neuron", "flatten", "dense", "neuron"]
    assert [n.op for n in g].count("batchnorm") == 2  # input graph untouched
    # compare the synapse outputs (pre-spike), which must agree to float tolerance
    for syn, bn in (("0", "1"), ("4", "5")):
        a = TorchProgram(g, torch.device("cpu"))
        b = TorchProgram(folded, torch.device("cpu"))
        g_out, f_out = g.copy(), folded.copy()
        g_out.output, f_out.output = bn, syn
        a.graph, b.graph = g_out, f_out
        torch.testing.assert_close(b(x), a(x), rtol=1e-5, atol=1e-5)


def test_fold_bn_rejects_bn_not_after_synapse():
    m = nn.Sequential(nn.Linear(4, 4), nk.LIF(), nk.layers.BatchNorm1d(4), nk.LIF())
    with pytest.raises(CompileError, match=r"batch norm '2' follows '1' \(neuron\)"):
        fold_bn(capture(m, torch.rand(3, 2, 4)))


def test_round_delays_matches_layer_rounding():
    layer = DelayedLinear(5, 4, max_delay=6, mode="learned", generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        layer.position[0, :3] = torch.tensor([0.5, 1.5, 2.5])  # ties: half to even
    g = round_delays(capture(nn.Sequential(layer, nk.LIF()), torch.rand(3, 2, 5)))
    assert g.node("0").delay.dtype == np.int64
    np.testing.assert_array_equal(g.node("0").delay, layer.round_().delay.numpy())
    assert list(g.node("0").delay[0, :3]) == [0, 2, 2]


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("per_channel", [True, False])
def test_quantize_weights_symmetric(bits, per_channel):
    w = np.random.default_rng(bits).normal(size=(6, 3, 2, 2))
    w_int, scale, used = quantize_weights(w, bits, per_channel)
    qmax = 2 ** (bits - 1) - 1
    assert used == bits and np.abs(w_int).max() == qmax and scale.shape == (6,)
    err = np.abs(w_int * scale.reshape(-1, 1, 1, 1) - w)
    assert (err <= scale.reshape(-1, 1, 1, 1) / 2 + 1e-12).all()
    if not per_channel:
        assert np.all(scale == scale[0])


def test_quantize_weights_binary_is_exact_one_bit():
    alpha = np.array([0.3, 1.7])
    w = np.sign(np.random.default_rng(0).normal(size=(2, 5))) * alpha[:, None]
    w_int, scale, used = quantize_weights(w, 8)
    assert used == 1 and set(np.unique(w_int)) <= {-1, 1}
    np.testing.assert_allclose(w_int * scale[:, None], w)


def test_quantize_thresholds_decays_and_decay_input_fold():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nk.LIF(tau=3.0, v_threshold=0.7, decay_input=True),
                      nn.Linear(3, 2, bias=False), nk.CubaLIF(tau_syn=4.0, tau_mem=2.0, v_reset=None))
    x = (torch.rand(3, 2, 4) < 0.5).float()
    g = quantize(capture(m, x), weight_bits=8, vth_shift=6)
    d0, n1, n3 = g.node("0"), g.node("1").integer, g.node("3").integer
    w_eff = m[0].weight.detach().double().numpy() / 3.0            # 1/tau folded into the synapse
    np.testing.assert_allclose(d0.quant.weight * d0.quant.scale[:, None], w_eff, atol=d0.quant.scale.max() / 2)
    np.testing.assert_array_equal(d0.quant.bias, np.round(m[0].bias.detach().double().numpy() / 3.0 /
                                                          d0.quant.acc_scale))
    np.testing.assert_array_equal(n1.vth, np.round(0.7 / d0.quant.acc_scale))
    assert (n1.decay_u, n1.decay_v, n1.reset) == (4096, round(4096 / 3), "hard")
    assert (n3.decay_u, n3.decay_v, n3.reset) == (1024, 2048, "soft")
    g0 = quantize(capture(m, x), vth_shift=0)
    np.testing.assert_array_equal(g0.node("1").integer.vth, np.round(0.7 / d0.quant.acc_scale * 64))


def test_quantize_requantizes_wide_accumulators_with_multiplier_and_shift():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(300, 4), nk.LIF())
    x = torch.rand(2, 2, 300) * 5
    g = quantize(capture(m, x), input_absmax=5.0, acc_bits=16)
    q = g.node("0").quant
    assert q.requant is not None and q.requant.shift == 16 and not q.requant.floor
    assert (q.requant.multiplier >= 1).all() and (q.requant.multiplier < 2 ** 16).all()
    assert q.acc_max.max() <= 2 ** 15 - 1
    np.testing.assert_allclose(q.acc_scale, q.in_scale * q.scale * 2 ** 16 / q.requant.multiplier)
    assert any("requantized" in w for w in g.warnings)
    with pytest.raises(CompileError, match="input_absmax"):
        quantize(capture(m, x))


def test_quantize_requires_folded_bn_and_scalar_scales():
    x = torch.rand(3, 2, 2, 4, 4)
    with pytest.raises(CompileError, match="fold_bn"):
        quantize(capture(_bn_model(), x), input_absmax=1.0)
    two = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2), nk.LIF())
    with pytest.raises(CompileError, match="reads the accumulator of '0'"):
        quantize(capture(two, torch.rand(3, 2, 4)), input_absmax=1.0)


def test_check_limits():
    torch.manual_seed(0)
    x = (torch.rand(3, 2, 4) < 0.5).float()
    m = nn.Sequential(DelayedLinear(4, 3, max_delay=9, mode="random"), nk.LIF(v_reset=None))
    g = capture(m, x)
    with pytest.raises(CompileError, match="not quantized"):
        check_limits(g, Limits())
    assert check_limits(g, Limits(integer=False, max_delay=None)) is g
    gq = quantize(g)
    with pytest.raises(CompileError, match=r"node '0' \(dense\): delays span \d+..\d+; this target supports 0..2"):
        check_limits(gq, Limits(max_delay=2))
    with pytest.raises(CompileError, match="soft reset not supported"):
        check_limits(gq, Limits(resets=frozenset({"hard"})))
    with pytest.raises(CompileError, match="exceed 4 bits"):
        check_limits(gq, Limits(weight_bits=4))
    with pytest.raises(CompileError, match="op 'dense' is not supported"):
        check_limits(gq, Limits(ops=frozenset({"input", "neuron"})))
    with pytest.raises(CompileError, match=r"needs \(6, 6, 24\)"):
        check_limits(quantize(g, vth_shift=0), Limits(neuron_format=(6, 6, 24)))
    with pytest.raises(CompileError, match="exceeds 3 bits"):
        check_limits(gq, Limits(vth_bits=3))
