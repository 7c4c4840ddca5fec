"""nk.layers.Recurrent: the reference loop is the definition; the fused CPU loop (backend="auto") matches it."""
import pytest
import torch

import neurokit as nk
from neurokit.layers import recurrent_reference

NEURONS = {
    "lif": lambda be: nk.LIF(tau=2.0, backend=be),
    "lif_soft_rad": lambda be: nk.LIF(tau=3.0, decay_input=False, v_reset=None, reset_after_decay=True,
                                      detach_reset=True, backend=be),
    "cuba": lambda be: nk.CubaLIF(tau_syn=3.0, tau_mem=5.0, backend=be),
    "cuba_soft": lambda be: nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_reset=None, reset_after_decay=True,
                                       surrogate="fast_sigmoid", backend=be),
    "alif": lambda be: nk.ALIF(tau=3.0, tau_adapt=10.0, beta=0.5, backend=be),
    "plif": lambda be: nk.PLIF(init_tau=2.5, backend=be),
    "if": lambda be: nk.IF(v_reset=None, backend=be),
}


def _close(actual, expected, name=""):
    """rtol 1e-5, with the absolute floor scaled to the tensor (sums over T*B differ in float order)."""
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()) + 1e-7,
                               msg=name or None)


def _run(kind, backend, shape, seed, bias):
    T, B, n_in, n_out = shape
    torch.manual_seed(seed)
    layer = nk.layers.Recurrent(n_in, n_out, NEURONS[kind](backend), bias=bias, recurrent_bias=bias)
    with torch.no_grad():
        layer.recurrent_weight.mul_(2.0)
    g = torch.Generator().manual_seed(seed + 100)
    x = (torch.randn(T, B, n_in, generator=g) * 3.0 + 0.5).requires_grad_(True)
    w = torch.randn(T, B, n_out, generator=g)
    s = layer(x)
    (s * w).sum().backward()
    grads = {name: p.grad for name, p in layer.named_parameters()}
    return s.detach(), x.grad, grads


@pytest.mark.parametrize("kind", sorted(NEURONS))
@pytest.mark.parametrize("shape,seed,bias", [((12, 3, 5, 9), 0, True), ((25, 2, 7, 16), 1, False),
                                             ((1, 1, 3, 4), 2, True)])
def test_fused_matches_reference(kind, shape, seed, bias):
    s_ref, gx_ref, gp_ref = _run(kind, "torch", shape, seed, bias)
    s_fused, gx_fused, gp_fused = _run(kind, "auto", shape, seed, bias)
    assert s_ref.sum() > 0 or shape[0] == 1
    assert torch.equal(s_ref, s_fused)
    _close(gx_fused, gx_ref)
    assert gp_ref.keys() == gp_fused.keys()
    for name in gp_ref:
        _close(gp_fused[name], gp_ref[name], name)


def test_reference_is_the_recurrence():
    """s[t] = LIF(W x[t] + V s[t-1]) written out by hand with the neuron's own single-step reference."""
    torch.manual_seed(3)
    layer = nk.layers.Recurrent(4, 6, nk.LIF(tau=2.0, backend="torch"))
    x = torch.randn(9, 2, 4) * 2
    lif = nk.LIF(tau=2.0, backend="torch")
    s_prev, v, out = torch.zeros(2, 6), torch.zeros(2, 6), []
    for t in range(9):
        h = v + (x[t] @ layer.weight.T + s_prev @ layer.recurrent_weight.T - v) / 2.0
        s_prev = (h > 1.0).float()
        v = h * (1 - s_prev)
        out.append(s_prev)
    assert torch.equal(layer(x).detach(), torch.stack(out))
    # recurrence matters: with V = 0 the layer is the feed-forward Linear + LIF
    with torch.no_grad():
        layer.recurrent_weight.zero_()
    assert torch.equal(layer(x), lif(x @ layer.weight.T))


def test_reference_function_and_v_seq():
    layer = nk.layers.Recurrent(3, 5, nk.CubaLIF(store_v_seq=True))
    x = torch.rand(6, 2, 3)
    s = layer(x)
    assert layer.neuron.v_seq.shape == (6, 2, 5)
    ff = x @ layer.weight.T
    s2, v2 = recurrent_reference(ff, layer.recurrent_weight, None, "cuba_lif", layer.neuron.params(),
                                 layer.neuron.surrogate)
    assert torch.equal(s, s2) and torch.equal(layer.neuron.v_seq, v2)


def test_bad_inputs_have_clear_errors():
    layer = nk.layers.Recurrent(4, 6, nk.LIF())
    with pytest.raises(ValueError, match=r"recurrent_weight has shape \(6, 5\); expected \(6, 6\)"):
        layer.recurrent_weight = torch.nn.Parameter(torch.zeros(6, 5))
        layer(torch.rand(3, 2, 4))
    layer = nk.layers.Recurrent(4, 6, nk.LIF())
    with pytest.raises(ValueError, match=r"expected x of shape \[T, B, 4\], got \(3, 4\)"):
        layer(torch.rand(3, 4))
    with pytest.raises(TypeError, match="neuron must be"):
        nk.layers.Recurrent(4, 6, torch.nn.ReLU())
    with pytest.raises(ValueError, match="out_features must be a positive int"):
        nk.layers.Recurrent(4, 0, nk.LIF())
    with pytest.raises(ValueError, match="Triton path takes float32 only"):
        nk.layers.Recurrent(4, 6, nk.LIF(backend="triton")).double()(torch.rand(3, 2, 4, dtype=torch.float64))


def test_float64_and_bf16_run_the_reference():
    layer = nk.layers.Recurrent(3, 4, nk.LIF()).double()
    x = torch.rand(5, 2, 3, dtype=torch.float64)
    ref = nk.layers.Recurrent(3, 4, nk.LIF(backend="torch")).double()
    ref.load_state_dict(layer.state_dict())
    assert torch.equal(layer(x), ref(x))


@pytest.mark.parametrize("make", [lambda be: nk.LIF(v_reset=0.0, reset_after_decay=True, backend=be),
                                  lambda be: nk.CubaLIF(v_reset=0.0, reset_after_decay=True, backend=be)])
def test_deferred_hard_reset_runs_the_reference_loop(make):
    """The fused kernels implement the deferred reset by subtraction only; a deferred hard reset must not run them."""
    x = torch.randn(20, 3, 8, generator=torch.Generator().manual_seed(0)) * 2
    assert torch.equal(make("auto")(x), make("torch")(x))
    layer = nk.layers.Recurrent(8, 5, make("auto"))
    ref = nk.layers.Recurrent(8, 5, make("torch"))
    ref.load_state_dict(layer.state_dict())
    assert torch.equal(layer(x), ref(x))
