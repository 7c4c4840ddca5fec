"""Surrogate family: formulas checked with fp64 gradcheck against their primitives, plus bad input."""
import pytest
import torch

import neurokit as nk


class _Primitive(torch.autograd.Function):
    """Forward: the surrogate's primitive; backward: the surrogate's derivative formula."""

    @staticmethod
    def forward(ctx, x, sg):
        ctx.save_for_backward(x)
        ctx.sg = sg
        return sg.primitive(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.sg.derivative(x), None


def _points(name, _sg):
    x = torch.linspace(-2.3, 2.3, 41, dtype=torch.float64)
    kinks = {"triangle": [0.0, 1.0, -1.0], "rectangle": [0.5, -0.5], "reste": [0.1, -0.1, 1.5, -1.5, 0.0]}
    for k in kinks.get(name, []):
        x = x[(x - k).abs() > 1e-3]
    return x.requires_grad_(True)


@pytest.mark.parametrize("name", nk.surrogate.names())
def test_derivative_is_gradient_of_primitive_gradcheck(name):
    sg = nk.surrogate.get(name)
    x = _points(name, sg)
    assert torch.autograd.gradcheck(lambda z: _Primitive.apply(z, sg), (x,), eps=1e-7, atol=1e-5)


@pytest.mark.parametrize("name", nk.surrogate.names())
def test_spike_forward_is_heaviside_and_backward_is_derivative(name):
    sg = nk.surrogate.get(name)
    x = torch.tensor([-1.0, -0.05, 0.0, 0.05, 1.0], dtype=torch.float64, requires_grad=True)
    s = sg.spike(x)
    assert s.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    s.backward(torch.ones_like(s))
    torch.testing.assert_close(x.grad, sg.derivative(x.detach()))


@pytest.mark.parametrize("name", ["ste", "reste", "biper"])
def test_binarize_forward_values_and_gradient(name):
    sg = nk.surrogate.get(name)
    x = torch.tensor([-0.7, -0.01, 0.0, 0.3, 1.2], dtype=torch.float64, requires_grad=True)
    b = sg.binarize(x)
    assert set(b.tolist()) <= {-1.0, 1.0}
    if name != "biper":
        assert b.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]
    else:
        assert b.tolist() == torch.where(torch.sin(20.0 * x) >= 0, 1.0, -1.0).tolist()
    b.sum().backward()
    torch.testing.assert_close(x.grad, sg.derivative(x.detach()))


def test_known_values():
    z = torch.zeros(1, dtype=torch.float64)
    assert nk.surrogate.get("atan", alpha=2.0).derivative(z).item() == pytest.approx(1.0)
    assert nk.surrogate.get("sigmoid", alpha=4.0).derivative(z).item() == pytest.approx(1.0)
    assert nk.surrogate.get("fast_sigmoid", slope=25.0).derivative(z).item() == pytest.approx(1.0)
    # ReSTE at o=3: secant slope inside |x|<=0.1, power law outside, zero past t (quant_onnx.md §1)
    r = nk.surrogate.get("reste", o=3.0)
    vals = r.derivative(torch.tensor([0.05, 1.0, 1.6], dtype=torch.float64))
    assert vals[0].item() == pytest.approx(0.1 ** (1 / 3) / 0.1)
    assert vals[1].item() == pytest.approx(1 / 3)
    assert vals[2].item() == 0.0
    assert nk.surrogate.get("biper", freq=20.0).derivative(z).item() == pytest.approx(20.0)


def test_bad_surrogate_inputs():
    with pytest.raises(ValueError, match="unknown name 'nope'"):
        nk.surrogate.get("nope")
    with pytest.raises(ValueError, match="unknown parameter"):
        nk.surrogate.get("atan", slope=3.0)
    with pytest.raises(ValueError, match="alpha"):
        nk.surrogate.get("atan", alpha=-1.0)
    with pytest.raises(ValueError, match="o=0.5"):
        nk.surrogate.get("reste", o=0.5)
    with pytest.raises(ValueError, match="surrogate"):
        nk.LIF(surrogate="bogus")
