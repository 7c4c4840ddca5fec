"""`SparseInputLinear`: the index-gathering path against the dense ``F.linear`` (exact on representable sums, fp32
rounding otherwise), gradients, thread-count independence, and the fallback rule."""
import pytest
import torch
from torch.nn import functional as F

from neurokit.kernels.cpu import set_threads
from neurokit.kernels.sparse_linear import sparse_input_linear
from neurokit.layers import SparseInputLinear

T, B, IN, OUT = 20, 3, 50, 17


def _spikes(seed, p=0.05):
    return (torch.rand(T, B, IN, generator=torch.Generator().manual_seed(seed)) < p).float()


def _pair(seed=0, bias=True):
    torch.manual_seed(seed)
    layer = SparseInputLinear(IN, OUT, bias=bias)
    dense = torch.nn.Linear(IN, OUT, bias=bias)
    dense.load_state_dict(layer.state_dict())
    return layer, dense


def test_bit_identical_to_dense_when_sums_are_exact():
    layer, dense = _pair()
    with torch.no_grad():    # small integers: every partial sum is exact, so the summation order cannot matter
        layer.weight.copy_(torch.randint(-4, 5, layer.weight.shape).float())
        layer.bias.copy_(torch.randint(-2, 3, layer.bias.shape).float())
        dense.load_state_dict(layer.state_dict())
    x = _spikes(1)
    assert layer.uses_gather(x)
    g = torch.randint(-3, 4, (T, B, OUT)).float()
    y, y_ref = layer(x), dense(x)
    assert torch.equal(y, y_ref)
    y.backward(g)
    y_ref.backward(g)
    assert torch.equal(layer.weight.grad, dense.weight.grad)
    assert torch.equal(layer.bias.grad, dense.bias.grad)


def test_float_weights_within_fp32_rounding_and_input_gradient():
    layer, dense = _pair(2)
    x = (_spikes(3, 0.08) * torch.rand(T, B, IN, generator=torch.Generator().manual_seed(4))).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    y, y_ref = layer(x), dense(x_ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-6, atol=1e-6)
    g = torch.randn(T, B, OUT, generator=torch.Generator().manual_seed(5))
    y.backward(g)
    y_ref.backward(g)
    torch.testing.assert_close(layer.weight.grad, dense.weight.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(layer.bias.grad, dense.bias.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)


def test_result_does_not_depend_on_the_thread_count():
    torch.manual_seed(6)
    w = torch.randn(OUT, IN, requires_grad=True)
    x = _spikes(7)
    g = torch.randn(T, B, OUT, generator=torch.Generator().manual_seed(8))
    outs = []
    before = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            set_threads(n)
            w.grad = None
            y = sparse_input_linear(x, w)
            y.backward(g)
            outs.append((y.detach(), w.grad.clone()))
    finally:
        torch.set_num_threads(before)
        set_threads(before)
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def test_dense_input_and_other_dtypes_take_the_gemm():
    layer, dense = _pair(9, bias=False)
    x_dense = torch.rand(T, B, IN) + 0.1
    assert not layer.uses_gather(x_dense)
    assert not layer.uses_gather(_spikes(10).double())
    assert not SparseInputLinear(IN, OUT, max_density=0.0).uses_gather(_spikes(10))
    assert torch.equal(layer(x_dense), dense(x_dense))
    w = torch.randn(OUT, IN)   # the kernel itself falls back when the gathered density exceeds max_density
    assert torch.equal(sparse_input_linear(x_dense, w, max_density=0.1), F.linear(x_dense, w))
    assert isinstance(layer, torch.nn.Linear) and "max_density=0.1" in repr(layer)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="max_density"):
        SparseInputLinear(2, 2, max_density=1.5)
    with pytest.raises(ValueError, match="weight"):
        sparse_input_linear(torch.zeros(3, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="float32"):
        sparse_input_linear(torch.zeros(3, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64))
    torch.testing.assert_close(sparse_input_linear(torch.zeros(0, 4), torch.ones(2, 4)),
                               F.linear(torch.zeros(0, 4), torch.ones(2, 4)))


def test_targets_see_an_nn_linear():
    import neurokit as nk

    torch.manual_seed(11)
    ours = torch.nn.Sequential(SparseInputLinear(IN, OUT), nk.LIF(), torch.nn.Linear(OUT, 4), nk.LIF())
    plain = torch.nn.Sequential(torch.nn.Linear(IN, OUT), nk.LIF(), torch.nn.Linear(OUT, 4), nk.LIF())
    plain.load_state_dict(ours.state_dict())
    x = _spikes(12)
    a = nk.compile(ours, target="onnx_int", example_input=x)
    b = nk.compile(plain, target="onnx_int", example_input=x)
    assert torch.equal(a.run(x), b.run(x))
