"""Delays at the cost of their support: the event-driven shift-and-accumulate path of `DelayedLinear` vs the dense
formulation and the plain references."""
import math

import pytest
import torch

from neurokit.kernels.delay_shift import shift_accumulate
from neurokit.kernels.delay_taps import gaussian_taps, tap_accumulate
from neurokit.layers import DelayedLinear
from neurokit.layers import delays
from neurokit.layers.delays import _causal_delay_conv, delayed_linear_reference, gaussian_delay_reference

T, B, IN, OUT, D = 30, 3, 17, 9, 8


@pytest.fixture
def scatter(monkeypatch):
    """Make the event-driven path win the cost rule at these small sizes, so the tests exercise it."""
    monkeypatch.setattr(delays, "SCATTER_COST", 1)


def _spikes(seed, p=0.15):
    return (torch.rand(T, B, IN, generator=torch.Generator().manual_seed(seed)) < p).float()


def _layer(seed=0, **kw):
    torch.manual_seed(seed)
    return DelayedLinear(IN, OUT, max_delay=D, **kw)


@pytest.mark.usefixtures("scatter")
def test_rounded_is_bit_identical_to_dense_conv_with_exact_weights():
    layer = _layer(bias=True).round_()
    with torch.no_grad():   # small integers: every partial sum is exact, so summation order cannot matter
        layer.weight.copy_(torch.randint(-4, 5, layer.weight.shape).float())
        layer.bias.copy_(torch.randint(-2, 3, layer.bias.shape).float())
    x = _spikes(1)
    assert layer.support_taps().shape == (OUT, IN, 1) and layer.path(x) == "scatter"
    got = layer(x)
    assert torch.equal(got, _causal_delay_conv(x, layer.tap_kernel(), layer.bias))
    assert torch.equal(got, delayed_linear_reference(x, layer.weight, layer.delay, layer.bias))


@pytest.mark.usefixtures("scatter")
def test_rounded_float_weights_match_reference_and_gradients():
    layer = _layer(1).round_()
    x = _spikes(2).requires_grad_()
    got = layer(x)
    ref_w = layer.weight.detach().clone().requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    ref = delayed_linear_reference(x_ref, ref_w, layer.delay)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-6)
    g = torch.randn(got.shape, generator=torch.Generator().manual_seed(3))
    (got * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(layer.weight.grad, ref_w.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sigma", [D / 2, 0.5])
def test_event_driven_taps_are_exact_at_every_sigma(sigma):
    layer = _layer(2)
    layer.set_sigma(sigma)
    x = _spikes(4).requires_grad_()
    assert layer.path(x) == "taps"
    x_ref = x.detach().clone().requires_grad_()
    ref_w = layer.weight.detach().clone().requires_grad_()
    ref_p = layer.position.detach().clone().requires_grad_()
    got = layer(x)
    ref = gaussian_delay_reference(x_ref, ref_w, ref_p, sigma, D)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    g = torch.randn(got.shape, generator=torch.Generator().manual_seed(9))
    (got * g).sum().backward()
    (ref * g).sum().backward()
    for a, b in ((layer.weight.grad, ref_w.grad), (layer.position.grad, ref_p.grad), (x.grad, x_ref.grad)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_tap_accumulate_exact_with_integer_kernel_and_thread_independent():
    kernel = torch.randint(-3, 4, (IN, D + 1, OUT)).float().requires_grad_()
    x = _spikes(13)
    conv = _causal_delay_conv(x, kernel.detach().permute(2, 0, 1), None)
    runs = []
    before = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            kernel.grad = None
            out = tap_accumulate(x, kernel)
            out.backward(torch.ones_like(out))
            runs.append((out.detach(), kernel.grad.clone()))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(runs[0][0], conv) and torch.equal(runs[1][0], conv)
    assert torch.equal(runs[0][1], runs[1][1])
    with pytest.raises(ValueError, match="kernel"):
        tap_accumulate(x, torch.zeros(IN + 1, 2, OUT))
    with pytest.raises(ValueError, match="float32"):
        tap_accumulate(x.double(), kernel.detach().double())
    with pytest.raises(ValueError, match="sigma > 0"):
        gaussian_taps(torch.ones(2, 3), torch.ones(2, 3), 0.0, D + 1)


@pytest.mark.usefixtures("scatter")
@pytest.mark.parametrize("sigma", [0.3, 0.7, 1.0])
def test_windowed_learning_within_the_dropped_tail_bound(sigma):
    layer = _layer(3)
    layer.set_sigma(sigma)
    taps = layer.support_taps()
    assert taps.shape[-1] == 2 * math.ceil(3 * sigma) + 1 < D + 1
    x = _spikes(5) * 1.5
    assert layer.path(x) == "scatter"
    got = layer(x)
    ref = gaussian_delay_reference(x, layer.weight, layer.position.detach(), sigma, D)
    from neurokit.layers.delays import gaussian_delay_taps
    tail = 1 - gaussian_delay_taps(layer.position.detach(), sigma, D).gather(-1, taps).sum(-1)   # [out, in]
    bound = (layer.weight.detach().abs() * tail).sum(1) * x.abs().max()                         # [out]
    assert bool((tail < 3e-3).all())
    assert bool(((got - ref).abs() <= bound + 1e-5).all())


@pytest.mark.usefixtures("scatter")
def test_windowed_gradients_match_dense_on_the_window():
    layer = _layer(4)
    layer.set_sigma(0.5)
    x = _spikes(6)
    dense = _layer(4, support_sigmas=None)
    dense.set_sigma(0.5)
    g = torch.randn(T, B, OUT, generator=torch.Generator().manual_seed(7))
    (layer(x) * g).sum().backward()
    (dense(x) * g).sum().backward()
    torch.testing.assert_close(layer.weight.grad, dense.weight.grad, rtol=1e-2, atol=1e-3)
    torch.testing.assert_close(layer.position.grad, dense.position.grad, rtol=1e-2, atol=1e-3)


def test_cost_rule_at_the_benchmarked_shape():
    """DelayedLinear(700, 256, 25) on 5 % spikes: learning takes the event-driven dense taps, the rounded layer
    the one-tap scatter, float64 the convolution."""
    x = (torch.rand(20, 4, 700, generator=torch.Generator().manual_seed(0)) < 0.05).float()
    layer = DelayedLinear(700, 256, max_delay=25)
    for sigma in (12.5, 1.8, 0.5):     # every tap for the events is cheaper than a 5-tap window scatter here
        layer.set_sigma(sigma)
        assert layer.path(x) == "taps"
    layer.round_()
    assert layer.path(x) == "scatter" and layer.double().path(x.double()) == "conv"


def test_dense_input_falls_back_to_the_convolution():
    layer = _layer(5).round_()
    x = torch.rand(T, B, IN) + 0.1     # density 1: both event-driven paths cost more than the conv
    small = DelayedLinear(IN, OUT, max_delay=2).round_()
    assert layer.path(x) == "conv" and small.path(x) == "conv"
    torch.testing.assert_close(small(x), delayed_linear_reference(x, small.weight, small.delay), rtol=1e-5,
                               atol=1e-5)
    torch.testing.assert_close(layer(x), delayed_linear_reference(x, layer.weight, layer.delay), rtol=1e-5,
                               atol=1e-5)


def test_shift_accumulate_refuses_bad_input():
    x = torch.zeros(4, 1, 2)
    with pytest.raises(ValueError, match="weight and delay"):
        shift_accumulate(x, torch.zeros(1, 3, 1), torch.zeros(1, 3, 1, dtype=torch.int32))
    with pytest.raises(ValueError, match="int32"):
        shift_accumulate(x, torch.zeros(1, 2, 1), torch.zeros(1, 2, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match=">= 0"):
        shift_accumulate(x, torch.zeros(1, 2, 1), -torch.ones(1, 2, 1, dtype=torch.int32))
    with pytest.raises(ValueError, match="support_sigmas"):
        DelayedLinear(2, 2, 3, support_sigmas=0.0)


def test_shift_accumulate_does_not_depend_on_the_thread_count():
    torch.manual_seed(14)
    w = torch.randn(3, IN, OUT, requires_grad=True)
    d = torch.randint(0, D + 1, (3, IN, OUT), dtype=torch.int32)
    x = _spikes(15)
    g = torch.randn(T, B, OUT, generator=torch.Generator().manual_seed(16))
    runs = []
    before = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            w.grad = None
            out = shift_accumulate(x, w, d)
            out.backward(g)
            runs.append((out.detach(), w.grad.clone()))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
