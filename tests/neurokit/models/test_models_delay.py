"""DelayedLinear (continuous + integer delays), round_delays, sigma schedule, LeakyIntegrator and delay_snn."""

import pytest
import torch

import neurokit as nk
from neurokit.layers.delays import (DelayedLinear, delayed_linear_reference, gaussian_delay_reference,
                                    gaussian_delay_taps, round_delays, sigma_schedule)
from neurokit.layers.readout import LeakyIntegrator
from neurokit.models import delay_snn
from neurokit.training.loop import call_anneal_hooks
from neurokit.training.metrics import evaluate


def _per_synapse_loop(x, weight, delay, bias=None):
    """out[t,b,o] = bias[o] + sum_j W[o,j] x[t-d[o,j],b,j], written as explicit loops (slow, tiny sizes only)."""
    T, B, n_in = x.shape
    out = torch.zeros(T, B, weight.shape[0], dtype=torch.float64)
    for t in range(T):
        for o in range(weight.shape[0]):
            for j in range(n_in):
                s = t - int(delay[o, j])
                if s >= 0:
                    out[t, :, o] += float(weight[o, j]) * x[s, :, j].double()
            if bias is not None:
                out[t, :, o] += float(bias[o])
    return out


def test_reference_matches_explicit_loop():
    torch.manual_seed(0)
    x, w = torch.randn(7, 2, 3), torch.randn(4, 3)
    d, b = torch.randint(0, 6, (4, 3)), torch.randn(4)
    ref = delayed_linear_reference(x, w, d, b)
    torch.testing.assert_close(ref.double(), _per_synapse_loop(x, w, d, b), rtol=0, atol=1e-5)


@pytest.mark.parametrize("mode", ["learned", "random", "none"])
@pytest.mark.parametrize("bias", [False, True])
def test_integer_delay_forward_matches_reference(mode, bias):
    torch.manual_seed(1)
    layer = DelayedLinear(5, 3, max_delay=6, mode=mode, bias=bias)
    with torch.no_grad():
        if bias:
            layer.bias.normal_()
    round_delays(layer)
    x = torch.randn(11, 4, 5)
    ref = delayed_linear_reference(x, layer.weight, layer.delay, layer.bias)
    torch.testing.assert_close(layer(x), ref, rtol=1e-5, atol=1e-5)
    if mode == "none":
        assert int(layer.delay.abs().sum()) == 0
        torch.testing.assert_close(layer(x), x @ layer.weight.t() + (layer.bias if bias else 0), rtol=1e-5, atol=1e-5)


def test_integer_delay_shifts_a_single_spike_exactly():
    layer = DelayedLinear(2, 2, max_delay=5, mode="none")
    with torch.no_grad():
        layer.weight.copy_(torch.eye(2))
        layer.delay.copy_(torch.tensor([[3, 0], [0, 5]]))
    x = torch.zeros(8, 1, 2)
    x[1, 0, 0] = 1.0
    x[2, 0, 1] = 1.0
    out = layer(x)[:, 0]
    assert out[:, 0].nonzero().flatten().tolist() == [4]          # 1 + 3
    assert out[:, 1].nonzero().flatten().tolist() == [7]          # 2 + 5


@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0])
def test_continuous_forward_matches_reference(sigma):
    torch.manual_seed(2)
    layer = DelayedLinear(4, 3, max_delay=8, bias=True)
    layer.set_sigma(sigma)
    x = torch.randn(10, 2, 4)
    ref = gaussian_delay_reference(x, layer.weight, layer.position, sigma, 8, layer.bias)
    torch.testing.assert_close(layer(x), ref, rtol=1e-5, atol=1e-5)


def test_gaussian_taps_normalised_and_peak_at_position():
    pos = torch.tensor([[0.0, 2.6, 7.0]])
    taps = gaussian_delay_taps(pos, 0.7, 7)
    torch.testing.assert_close(taps.sum(-1), torch.ones(1, 3))
    assert taps.argmax(-1).tolist() == [[0, 3, 7]]


def test_gradients_reach_weights_and_positions():
    torch.manual_seed(3)
    layer = DelayedLinear(3, 2, max_delay=5)
    layer(torch.rand(9, 2, 3)).square().sum().backward()
    assert layer.weight.grad.abs().sum() > 0 and layer.position.grad.abs().sum() > 0


def test_round_delays_matches_continuous_at_small_sigma_and_is_integer():
    torch.manual_seed(4)
    layer = DelayedLinear(6, 4, max_delay=9)
    with torch.no_grad():
        layer.position.copy_(torch.randint(0, 10, (4, 6)).float() + 0.2 * torch.rand(4, 6) - 0.1)
    layer.set_sigma(0.05)
    x = torch.randn(15, 3, 6)
    continuous = layer(x)
    model = torch.nn.Sequential(layer)
    assert round_delays(model) is model
    assert layer.is_rounded and layer.delay.dtype == torch.int64
    assert int(layer.delay.min()) >= 0 and int(layer.delay.max()) <= 9
    torch.testing.assert_close(layer.delay, layer.position.detach().round().long())
    torch.testing.assert_close(layer(x), continuous, rtol=1e-4, atol=1e-4)


def test_positions_clamped_into_range_during_training():
    layer = DelayedLinear(2, 2, max_delay=4)
    with torch.no_grad():
        layer.position.copy_(torch.tensor([[-3.0, 2.0], [9.0, 4.0]]))
    layer(torch.rand(5, 1, 2))
    assert float(layer.position.detach().min()) == 0.0 and float(layer.position.detach().max()) == 4.0


def test_rounded_state_survives_state_dict_round_trip():
    torch.manual_seed(5)
    trained = round_delays(delay_snn(in_features=3, num_classes=2, hidden=4, layers=1, max_delay=5))
    fresh = delay_snn(in_features=3, num_classes=2, hidden=4, layers=1, max_delay=5)
    fresh.load_state_dict(trained.state_dict())
    assert fresh.output.is_rounded and torch.equal(fresh.output.delay, trained.output.delay)
    x = torch.rand(8, 2, 3)
    torch.testing.assert_close(fresh.eval()(x), trained.eval()(x))


def test_random_mode_is_seeded_integer_and_fixed():
    a = DelayedLinear(5, 4, 7, mode="random", generator=torch.Generator().manual_seed(0))
    b = DelayedLinear(5, 4, 7, mode="random", generator=torch.Generator().manual_seed(0))
    assert a.is_rounded and a.position is None and torch.equal(a.delay, b.delay)
    assert int(a.delay.max()) <= 7 and len(list(a.parameters())) == 1


def test_sigma_schedule_exponential_decay():
    assert sigma_schedule(0, 100, 12.0) == 12.0
    assert sigma_schedule(25, 100, 12.0) == pytest.approx(0.5)
    assert sigma_schedule(80, 100, 12.0) == pytest.approx(0.5)
    mid = sigma_schedule(10, 100, 12.0, 0.5, 0.2)
    assert mid == pytest.approx((12.0 * 0.5) ** 0.5)          # geometric mean halfway
    with pytest.raises(ValueError, match="anneal_fraction"):
        sigma_schedule(0, 10, 1.0, anneal_fraction=0.0)


def test_anneal_hooks_of_training_loop_set_sigma():
    net = delay_snn(in_features=2, num_classes=2, hidden=4, layers=2, max_delay=10, anneal_fraction=0.5)
    call_anneal_hooks(net, 0, 10)
    assert [layer.sigma for layer in nk.layers.delays.delay_layers(net)] == [5.0, 5.0, 5.0]
    call_anneal_hooks(net, 7, 10)
    assert all(layer.sigma == pytest.approx(0.5) for layer in nk.layers.delays.delay_layers(net))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="mode"):
        DelayedLinear(2, 2, 3, mode="fixed")
    with pytest.raises(ValueError, match="max_delay"):
        DelayedLinear(2, 2, -1)
    with pytest.raises(ValueError, match=r"\[T, B, 2\]"):
        DelayedLinear(2, 2, 3)(torch.rand(4, 3))
    with pytest.raises(ValueError, match="sigma"):
        DelayedLinear(2, 2, 3).set_sigma(0.0)
    with pytest.raises(ValueError, match="delays"):
        delay_snn(delays="learnt")
    with pytest.raises(ValueError, match="tau"):
        LeakyIntegrator(0.5)


def test_leaky_integrator_matches_closed_form():
    x = torch.randn(6, 2, 3)
    tau = 4.0
    out = LeakyIntegrator(tau)(x)
    decay = 1 - 1 / tau
    expected = torch.stack([sum(decay ** (t - s) * x[s] for s in range(t + 1)) for t in range(6)])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("delays", ["learned", "random", "none"])
def test_delay_snn_forward_backward_shapes(delays):
    net = delay_snn(in_features=6, num_classes=3, hidden=8, layers=2, max_delay=4, delays=delays, seed=0)
    x = torch.rand(10, 5, 6)
    out = net(x)
    assert out.shape == (10, 5, 3)
    out.mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_learned_delays_beat_no_delays_on_delay_task():
    """Brief training (a few seconds per mode): learned delays clearly beat the same network without delays."""
    torch.manual_seed(0)
    train_ds, test_ds = nk.data.delay_task(n_train=384, n_test=256, T=40, n_classes=4, gap_step=3, seed=0)
    acc = {}
    for mode in ("learned", "none"):
        net = delay_snn(in_features=2, num_classes=4, hidden=64, layers=1, max_delay=12, delays=mode, dropout=0.0,
                        readout_tau=20.0, sigma_final=0.1, anneal_fraction=0.5, seed=0)
        nk.train(net, train_ds, 10, lr=5e-3, weight_decay=1e-5, batch_size=32, lr_scale={"position": 20.0},
                 progress=False)
        acc[mode] = evaluate(round_delays(net), test_ds, batch_size=256)["acc"]
    assert acc["learned"] >= 0.7, acc                      # chance is 0.25
    assert acc["learned"] - acc["none"] >= 0.25, acc
