"""Binary layers and models: estimator gradients against their formulas, integer view, digits training."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import neurokit as nk
from neurokit.data.digits import digits
from neurokit.layers import (BinaryConv2d, BinaryLinear, binary_regularizer, reste_o_schedule,
                             set_estimator_params)
from neurokit.models.binary import binary_cnn, binary_mlp


# ---------------------------------------------------------------- reference formulas (written from the papers' code)
def ste_grad(w, clip=None):
    return torch.ones_like(w) if clip is None else (w.abs() <= clip).double()


def reste_grad(w, o, t, interval):
    """ReSTE backward (quant_onnx.md section 1): power law, secant slope inside interval, zero beyond t."""
    out = torch.empty_like(w)
    for idx, value in enumerate(w.flatten().tolist()):
        a = abs(value)
        if a > t:
            g = 0.0
        elif a <= interval:
            g = interval ** (1 / o) / interval
        else:
            g = (1 / o) * a ** ((1 - o) / o)
        out.view(-1)[idx] = g
    return out


def biper_grad(w, freq):
    return freq * torch.cos(freq * w)


@pytest.mark.parametrize("estimator,params,formula", [
    ("ste", {}, lambda w: ste_grad(w)),
    ("ste", {"clip": 0.5}, lambda w: ste_grad(w, 0.5)),
    ("reste", {"o": 3.0, "t": 1.5, "interval": 0.1}, lambda w: reste_grad(w, 3.0, 1.5, 0.1)),
    ("reste", {"o": 1.7, "t": 1.0, "interval": 0.2}, lambda w: reste_grad(w, 1.7, 1.0, 0.2)),
    ("biper", {"freq": 20.0}, lambda w: biper_grad(w, 20.0)),
])
def test_weight_gradient_matches_estimator_formula(estimator, params, formula):
    torch.manual_seed(0)
    fc = BinaryLinear(7, 5, estimator=estimator, estimator_params=params).double()
    with torch.no_grad():
        fc.weight.uniform_(-2.0, 2.0)
    x = torch.randn(3, 4, 7, dtype=torch.float64)
    g = torch.randn(3, 4, 5, dtype=torch.float64)
    (fc(x) * g).sum().backward()
    # dL/dw_b[i, j] = alpha_i * sum_{t,b} g[t,b,i] x[t,b,j]; chain rule through the estimator.
    dl_dwb = fc.alpha.detach()[:, None] * torch.einsum("tbi,tbj->ij", g, x)
    expected = dl_dwb * formula(fc.weight.detach())
    torch.testing.assert_close(fc.weight.grad, expected, rtol=1e-10, atol=1e-10)


def test_reste_gradient_values_from_research_note():
    """o = 3: 4.64 inside |x| <= 0.1, 0.333 at |x| = 1, 0.254 at |x| = 1.5, 0 beyond t = 1.5."""
    sg = nk.surrogate.get("reste", o=3.0, t=1.5, interval=0.1)
    got = sg.derivative(torch.tensor([0.05, -1.0, 1.5, 1.6], dtype=torch.float64))
    torch.testing.assert_close(got, torch.tensor([0.1 ** (1 / 3) / 0.1, 1 / 3, (1 / 3) * 1.5 ** (-2 / 3), 0.0],
                                                 dtype=torch.float64))
    assert abs(float(got[0]) - 4.64) < 0.01 and abs(float(got[2]) - 0.254) < 0.001


def test_forward_is_integer_weights_times_channel_scale():
    torch.manual_seed(1)
    for estimator in ("ste", "reste", "biper"):
        fc = BinaryLinear(9, 4, estimator=estimator)
        w_int = fc.int_weight()
        assert w_int.dtype == torch.int8 and set(w_int.unique().tolist()) <= {-1, 1}
        x = torch.randint(0, 2, (2, 3, 9)).float()        # spikes
        acc = x @ w_int.float().T                          # exact integer accumulation
        torch.testing.assert_close(fc(x), acc * fc.weight_scale())
        torch.testing.assert_close(fc.output_unit().detach(), fc.weight_scale())
    biper = BinaryLinear(9, 4, estimator="biper", estimator_params={"freq": 20.0})
    expected = torch.where(torch.sin(20.0 * biper.weight.detach()) >= 0, 1, -1).to(torch.int8)
    assert torch.equal(biper.int_weight(), expected)


def test_sign_of_zero_is_plus_one():
    fc = BinaryLinear(3, 2, estimator="ste")
    with torch.no_grad():
        fc.weight.zero_()
    assert torch.equal(fc.int_weight(), torch.ones(2, 3, dtype=torch.int8))


def test_input_binarization_forward_and_gradient():
    fc = BinaryLinear(4, 3, estimator="ste", binarize_input=True)      # activation estimator: ste(clip=1)
    x = torch.tensor([[[-2.0, -0.5, 0.0, 0.7]]], requires_grad=True)
    y = fc(x)
    w_b = fc.int_weight().float()
    torch.testing.assert_close(y, (torch.tensor([[[-1.0, -1.0, 1.0, 1.0]]]) @ w_b.T) * fc.weight_scale())
    y.sum().backward()
    expected = (fc.weight_scale()[:, None] * w_b).sum(0) * torch.tensor([0.0, 1.0, 1.0, 1.0])
    torch.testing.assert_close(x.grad[0, 0], expected)


def test_binary_conv_matches_conv_with_sign_kernels():
    torch.manual_seed(2)
    conv = BinaryConv2d(2, 3, 3, padding=1, estimator="reste")
    x = torch.rand(2, 4, 2, 6, 6)
    y = conv(x)
    ref = F.conv2d(x.reshape(8, 2, 6, 6), conv.int_weight().float(), padding=1) * conv.weight_scale().view(1, -1, 1, 1)
    torch.testing.assert_close(y, ref.reshape(2, 4, 3, 6, 6))


def test_mean_abs_scale_is_computed_from_the_weights_with_its_gradient():
    """ReSTE's scaler (model/binary_module/binarized_modules.py of DravenALG/ReSTE): sign(W) * mean(|W|), the
    gradient flowing through both; no parameter."""
    torch.manual_seed(3)
    conv = BinaryConv2d(2, 3, 3, padding=1, estimator="ste", scale="mean_abs").double()
    assert conv.alpha is None and [n for n, _ in conv.named_parameters()] == ["weight"]
    x = torch.rand(2, 4, 2, 6, 6, dtype=torch.float64)
    g = torch.randn(2, 4, 3, 6, 6, dtype=torch.float64)
    (conv(x) * g).sum().backward()
    w = conv.weight.detach().clone().requires_grad_()
    w_b = w + (torch.where(w >= 0, 1.0, -1.0) - w).detach()                 # sign forward, identity backward
    ref = F.conv2d(x.reshape(8, 2, 6, 6), w_b, padding=1) * w.abs().mean()
    (ref.reshape(2, 4, 3, 6, 6) * g).sum().backward()
    torch.testing.assert_close(conv.weight.grad, w.grad, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(conv.weight_scale(), w.detach().abs().mean().expand(3))
    torch.testing.assert_close(conv.output_unit().detach(), conv.weight_scale())
    with pytest.raises(ValueError, match=r"scale='channel' is not a binary-layer scale; expected one of "
                                         r"\('learned', 'mean_abs'\)"):
        BinaryLinear(4, 3, scale="channel")


def test_reste_o_schedule_and_setting():
    assert reste_o_schedule(0, 10) == 1.0
    assert math.isclose(reste_o_schedule(10, 10, o_end=3.0), 3.0)
    assert math.isclose(reste_o_schedule(5, 10, o_end=3.0), 1 + 2 * (1 - math.cos(math.pi / 4)))
    model = binary_mlp(16, (8, 8), estimator="reste")
    assert set_estimator_params(model, o=2.0) == 3
    assert all(m.estimator.params["o"] == 2.0 for m in model.modules() if isinstance(m, BinaryLinear))


def test_biper_regularizer_value_and_gradient():
    torch.manual_seed(3)
    model = binary_mlp(6, (5,), num_classes=3, estimator="biper", estimator_params={"freq": 20.0})
    reg = binary_regularizer(model, tau=0.5)
    weights = [m.weight for m in model.modules() if isinstance(m, BinaryLinear)]
    expected = sum(0.5 * torch.mean(0.5 - 0.5 * torch.cos(40.0 * w)) for w in weights)
    torch.testing.assert_close(reg, expected)
    reg.backward()
    w = weights[0].detach()
    torch.testing.assert_close(weights[0].grad, 0.5 * 20.0 * torch.sin(40.0 * w) / w.numel())
    assert float(binary_regularizer(binary_mlp(6, (5,), estimator="ste"), tau=0.5)) == 0.0


@pytest.mark.parametrize("kwargs,match", [
    ({"estimator": "sign"}, "estimator='sign'"),
    ({"estimator": "atan"}, "estimator='atan'"),
    ({"estimator": "reste", "estimator_params": {"o": 0.5}}, "o=0.5"),
    ({"estimator": "reste", "estimator_params": {"freq": 2.0}}, "freq"),
])
def test_bad_estimator_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BinaryLinear(4, 2, **kwargs)
    with pytest.raises(ValueError, match=match):
        binary_mlp(4, (3,), **kwargs)


def test_bad_model_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="act_estimator='biper'"):
        BinaryLinear(4, 2, binarize_input=True, act_estimator="biper")
    with pytest.raises(ValueError, match="preset='huge'"):
        binary_cnn(preset="huge")
    with pytest.raises(ValueError, match="image_size=12"):
        binary_cnn(image_size=12)
    with pytest.raises(ValueError, match="hidden="):
        binary_mlp(4, ())
    with pytest.raises(ValueError, match=r"expected input \[..., 4\]"):
        BinaryLinear(4, 2)(torch.rand(2, 3, 5))


@pytest.mark.parametrize("spiking", [True, False])
def test_binary_cnn_tiny_learns_digits_batch(spiking):
    torch.manual_seed(4)
    model = binary_cnn(1, 10, image_size=8, preset="tiny", estimator="ste", spiking=spiking)
    train, _ = digits(T=2, encoding="direct", seed=0, flatten=False)
    x, y = train.x[:32].transpose(0, 1), train.y[:32]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = F.cross_entropy(model(x).mean(0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert model(x).shape == (2, 32, 10)
    assert losses[-1] < 0.8 * losses[0], losses


def _fit_digits(model, estimator=None, epochs=12, T=4, seed=0):
    torch.manual_seed(seed)
    train, test = digits(T=T, encoding="direct", seed=0)
    x_tr, y_tr = train.x.transpose(0, 1), train.y
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(epochs):
        if estimator == "reste":
            set_estimator_params(model, o=reste_o_schedule(epoch, epochs))
        for idx in torch.randperm(x_tr.shape[1]).split(64):
            loss = F.cross_entropy(model(x_tr[:, idx]).mean(0), y_tr[idx])
            if estimator == "biper":
                loss = loss + binary_regularizer(model, tau=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    with torch.no_grad():
        return float((model(test.x.transpose(0, 1)).mean(0).argmax(1) == test.y).float().mean())


def test_spiking_binary_mlp_each_estimator_trains_near_float_on_digits():
    torch.manual_seed(0)
    float_acc = _fit_digits(nn.Sequential(nn.Linear(64, 128), nk.LIF(), nn.Linear(128, 10)))
    accs = {}
    for estimator in ("ste", "reste", "biper"):
        torch.manual_seed(0)
        accs[estimator] = _fit_digits(binary_mlp(64, (128,), estimator=estimator), estimator)
    assert float_acc > 0.9
    assert accs["ste"] > 0.85
    assert accs["reste"] >= float_acc - 0.03, (accs, float_acc)
    assert accs["biper"] >= float_acc - 0.03, (accs, float_acc)
