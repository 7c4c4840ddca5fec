"""Quantized layers: Brevitas per-channel weights, the integer-membrane LIF (bit-exact vs int64), QAT on digits."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import neurokit as nk
from neurokit.data.digits import digits
from neurokit.layers import BinaryLinear, IntegerSpikingLayer, QuantLIF, QuantLinear
from neurokit.layers.quant import QuantConv2d, check_bits, quant_lif_reference
from neurokit.models.binary import binary_mlp, quant_mlp, quant_snn

warnings.filterwarnings("ignore", module="brevitas")


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quant_linear_is_per_channel_integer_weights(bits):
    torch.manual_seed(0)
    fc = QuantLinear(12, 5, weight_bits=bits)
    w_int, scale = fc.int_weight(), fc.weight_scale()
    q_max = 2 ** (bits - 1) - 1
    assert w_int.dtype == torch.int8 and int(w_int.abs().max()) == q_max     # narrow symmetric range, used fully
    # Brevitas MaxStats per-channel scale: max |W_i| / (2^(k-1) - 1)
    torch.testing.assert_close(scale, fc.layer.weight.detach().abs().amax(1) / q_max)
    x = torch.randint(0, 2, (3, 4, 12)).float()
    torch.testing.assert_close(fc(x), (x @ w_int.float().T) * scale, rtol=1e-6, atol=1e-6)


def test_quant_conv_time_major_matches_integer_conv():
    torch.manual_seed(1)
    conv = QuantConv2d(2, 3, 3, padding=1, weight_bits=4)
    x = torch.randint(0, 2, (2, 3, 2, 5, 5)).float()
    ref = F.conv2d(x.reshape(6, 2, 5, 5), conv.int_weight().float(), padding=1)
    torch.testing.assert_close(conv(x), (ref * conv.weight_scale().view(1, -1, 1, 1)).reshape(2, 3, 3, 5, 5),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("arg,value", [("weight_bits", 3), ("weight_bits", 16), ("weight_bits", 1),
                                       ("input_bits", 5), ("weight_bits", "8"), ("weight_bits", True)])
def test_unsupported_bit_widths_are_clear_errors(arg, value):
    kwargs = {"weight_bits": 8, arg: value}
    with pytest.raises(ValueError, match=f"{arg}={value!r} is not a supported bit width; expected {{2, 4, 8}}"):
        QuantLinear(4, 2, **kwargs)
    with pytest.raises(ValueError, match="bits=6"):
        quant_mlp(4, (3,), bits=6)
    with pytest.raises(ValueError, match=r"membrane_bits=3 .*\[4, 24\]"):
        QuantLIF(membrane_bits=3)
    with pytest.raises(ValueError, match=r"membrane_bits=32"):
        quant_snn(4, (3,), membrane_bits=32)
    assert check_bits(4, "weight_bits") == 4


def test_quant_lif_argument_errors():
    with pytest.raises(ValueError, match="input_shift=9"):
        QuantLIF(membrane_bits=8, input_shift=9)
    with pytest.raises(ValueError, match="v_threshold"):
        QuantLIF(v_threshold=-1.0)
    with pytest.raises(ValueError, match="unit has 3 channels"):
        QuantLIF()(torch.zeros(2, 1, 4), torch.ones(3))
    with pytest.raises(TypeError, match="neuron=LIF"):
        IntegerSpikingLayer(QuantLinear(3, 2), nk.LIF())


@pytest.mark.parametrize("bits,tau,shift,unit", [(8, 2.0, 0, 1.0), (6, 4.0, 0, 0.05), (12, 1.5, 2, 0.01),
                                                 (16, float("inf"), 6, 0.002), (24, 3.0, 6, 1e-5)])
def test_quant_lif_matches_integer_reference_and_stays_in_range(bits, tau, shift, unit):
    torch.manual_seed(bits)
    C = 6
    units = unit * (0.5 + torch.rand(C, dtype=torch.float64))
    lif = QuantLIF(tau=tau, v_threshold=1.0, membrane_bits=bits, input_shift=shift, store_v_seq=True)
    vth = lif.int_threshold(units)
    r = lif.accumulator_shift(units)
    # integer accumulations, heavy-tailed so that both saturation ends are hit
    a = (torch.randn(20, 5, C, dtype=torch.float64) * torch.logspace(0, 1, C, dtype=torch.float64)
         * float(vth.max()) / 2 ** shift * 2 ** r).round()
    a[3:6] = 4 * 2 ** (bits - 1) * 2 ** r                    # saturate high
    a[8:12] = -4 * 2 ** (bits - 1) * 2 ** r                  # saturate low
    spikes = lif((a * units).float(), units.float())
    ref_spikes, ref_v = quant_lif_reference(a.long(), vth, lif.decay, bits, shift, r)
    assert torch.equal(spikes, ref_spikes.float())
    assert torch.equal(lif.v_seq, ref_v.double())
    v_max = 2 ** (bits - 1) - 1
    assert int(ref_v.abs().max()) == v_max                   # the range is reached ...
    assert ((ref_v >= -v_max) & (ref_v <= v_max)).all()      # ... and never left
    assert 1 <= int(vth.min()) and int(vth.max()) <= 2 ** (bits - 2)


def test_quant_lif_decay_is_lava_toward_zero():
    """v * (4096 - d) >> 12 rounds toward zero for negative membranes (Lava), not toward -inf."""
    a = torch.tensor([-5, 0, 0]).view(3, 1, 1)
    _, v = quant_lif_reference(a, torch.tensor([50]), decay=2048, membrane_bits=8)
    assert v.flatten().tolist() == [-5, -2, -1]
    lif = QuantLIF(tau=2.0, membrane_bits=8, v_threshold=50.0, store_v_seq=True)
    lif(a.float())
    assert lif.v_seq.flatten().tolist() == [-5.0, -2.0, -1.0]


def test_quant_lif_surrogate_gradient():
    """One step: s = H((a - vth)/vth), a = x/unit; ds/dx = surrogate'((a - vth)/vth) / (vth * unit)."""
    unit = torch.tensor([0.1, 0.2], dtype=torch.float64)
    lif = QuantLIF(tau=2.0, membrane_bits=10, v_threshold=1.0, surrogate="atan")
    x = torch.tensor([[[0.93, 0.43]]], dtype=torch.float64, requires_grad=True)
    lif(x, unit).sum().backward()
    vth = lif.int_threshold(unit).double()
    a = torch.round(x.detach() / unit)
    expected = nk.surrogate.get("atan").derivative((a - vth) / vth) / vth / unit
    torch.testing.assert_close(x.grad, expected)


def _integer_forward(model: nn.Sequential, x: torch.Tensor):
    """Run a quant_snn / integer binary_mlp with integers only: returns (hidden spikes list, readout accumulation)."""
    first = model[0].synapse
    levels = 2 ** first.input_bits - 1 if first.input_bits else 1
    h = torch.clamp(torch.round(x.double() * levels), 0, levels).long()
    spikes = []
    for block in model[:-1]:
        p = block.integer_params()
        acc = torch.einsum("tbi,oi->tbo", h, p["weight"].long())
        s, _ = quant_lif_reference(acc, p["threshold"], p["decay"], p["membrane_bits"], p["input_shift"],
                                   p["accumulator_shift"])
        h = s.long()
        spikes.append(s)
    return spikes, torch.einsum("tbi,oi->tbo", h, model[-1].int_weight().long())


@pytest.mark.parametrize("builder", [
    lambda: quant_snn(16, (12, 8), num_classes=3, weight_bits=4, membrane_bits=10, input_bits=8),
    lambda: quant_snn(16, (12,), num_classes=3, weight_bits=8, membrane_bits=16, input_bits=4, tau=4.0),
    lambda: binary_mlp(16, (12, 8), num_classes=3, estimator="ste", membrane_bits=8, input_bits=8),
])
def test_integer_model_equals_training_forward(builder):
    """The trained float graph and the integer-only graph give the same spikes and readout, bit for bit."""
    torch.manual_seed(5)
    model = builder()
    with torch.no_grad():                     # make every layer fire a fair amount
        for block in model[:-1]:
            if isinstance(block.synapse, BinaryLinear):
                block.synapse.alpha.mul_(8.0)
            else:
                block.synapse.layer.weight.mul_(3.0).add_(0.15)
    x = torch.rand(6, 4, 16)
    spikes_int, readout_int = _integer_forward(model, x)
    h = x
    for block, s_int in zip(model[:-1], spikes_int):
        h = block(h)
        assert torch.equal(h, s_int.float())
        assert 0.02 < float(h.detach().mean()) < 0.98
    unit = model[-1].output_unit().detach() if not isinstance(model[-1], BinaryLinear) else model[-1].weight_scale()
    torch.testing.assert_close(model[-1](h).double() / unit.double(), readout_int.double(), rtol=0, atol=1e-3)


def _fit(model, T, epochs, seed=0):
    torch.manual_seed(seed)
    train, test = digits(T=T, encoding="direct", seed=0)
    x_tr, y_tr = train.x.transpose(0, 1), train.y
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        for idx in torch.randperm(x_tr.shape[1]).split(64):
            loss = F.cross_entropy(model(x_tr[:, idx]).mean(0), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        return float((model(test.x.transpose(0, 1)).mean(0).argmax(1) == test.y).float().mean())


def test_qat_mlp_8_and_4_bit_close_to_float_on_digits():
    torch.manual_seed(0)
    float_acc = _fit(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)), T=1, epochs=15)
    torch.manual_seed(0)
    acc8 = _fit(quant_mlp(64, (128,), bits=8), T=1, epochs=15)
    torch.manual_seed(0)
    acc4 = _fit(quant_mlp(64, (128,), bits=4), T=1, epochs=15)
    assert float_acc > 0.93
    assert acc8 >= float_acc - 0.01, (acc8, float_acc)
    assert acc4 >= float_acc - 0.03, (acc4, float_acc)


def test_quant_snn_trains_on_digits_with_8_bit_membrane():
    torch.manual_seed(0)
    model = quant_snn(64, (64,), weight_bits=4, membrane_bits=8, input_bits=8)
    assert _fit(model, T=4, epochs=8) > 0.9
    assert int(model[0].integer_params()["threshold"].max()) <= 2 ** 6


@pytest.mark.parametrize("bits,shift,decay", [(8, 0, 2048), (16, 6, 1024), (24, 6, 0)])
def test_quant_lif_reference_equals_compiler_integer_neuron(bits, shift, decay):
    """QuantLIF == compile.integer_neuron's CUBA-LIF with decay_u=4096, act_shift=vth_shift=input_shift,
    uv_bits=membrane_bits, vth mantissa = threshold >> input_shift (while one step's input fits the range)."""
    from compile.integer_neuron import IntNeuronParams, integer_cuba_run

    torch.manual_seed(bits)
    vth = torch.randint(1, 2 ** (bits - 3 - shift), (5,)) << shift
    a = torch.randint(-(2 ** (bits - 2 - shift)), 2 ** (bits - 2 - shift), (30, 4, 5))
    ours, _ = quant_lif_reference(a, vth, decay, bits, shift)
    params = IntNeuronParams(decay_u=4096, decay_v=decay, vth=(vth >> shift).numpy(), act_shift=shift,
                             vth_shift=shift, uv_bits=bits)
    theirs = integer_cuba_run(a.numpy(), params)
    assert ours.float().mean() > 0.05
    assert (ours.numpy() == theirs).all()
