"""compose_convs: conv -> conv chains merged into one conv, exact in float; onnx_int runs them bit-exact."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import integer_sim
from compile.capture import capture
from compile.passes import compose_convs, fold_bn


def _graph_conv_apply(g, x):
    """Apply the graph's conv chain (the nodes between input and neuron) with torch, in float64."""
    y = x.double()
    for n in g.nodes:
        if n.op == "conv":
            y = torch.nn.functional.conv2d(y, torch.from_numpy(n.weight), None if n.bias is None else
                                           torch.from_numpy(n.bias), stride=n.stride, padding=n.padding,
                                           groups=n.groups)
    return y


@pytest.mark.parametrize("chain", [
    lambda: [nk.layers.Conv2d(4, 8, 1, bias=False), nk.layers.Conv2d(8, 8, 7, padding=3, groups=8, bias=False),
             nk.layers.Conv2d(8, 4, 1, bias=True)],                               # separable conv
    lambda: [nk.layers.Conv2d(4, 4, 1, padding=1, bias=True), nk.layers.Conv2d(4, 4, 3, groups=4, bias=False),
             nk.layers.Conv2d(4, 6, 1, bias=True)],                               # RepConv with BN-value border
    lambda: [nk.layers.Conv2d(4, 4, 3, padding=1), nk.layers.Conv2d(4, 5, 3, stride=2, padding=0)],
])
def test_composed_conv_equals_the_chain_in_float(chain):
    torch.manual_seed(0)
    layers = chain()
    model = nn.Sequential(*layers, nk.LIF()).eval()
    x = torch.rand(2, 1, 4, 9, 9)
    g = compose_convs(fold_bn(capture(model, x)))
    assert [n.op for n in g.nodes] == ["input", "conv", "neuron"]
    with torch.no_grad():
        want = nn.Sequential(*layers).double()(x.double())[:, 0]
    assert torch.allclose(_graph_conv_apply(g, x[:, 0]), want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("first", [lambda: nk.layers.Conv2d(2, 2, 1, bias=True),       # biased 1x1
                                   lambda: nk.layers.Conv2d(2, 2, 3, padding=1, bias=False)])  # 3x3
def test_a_padded_second_conv_after_a_non_pointwise_first_is_left_alone(first):
    model = nn.Sequential(first(), nk.layers.Conv2d(2, 2, 3, padding=1), nk.LIF())
    with torch.no_grad():
        if model[0].bias is not None:
            model[0].bias.fill_(0.5)
    g = compose_convs(capture(model.eval(), torch.rand(2, 1, 2, 5, 5)))
    assert [n.op for n in g.nodes].count("conv") == 2


def test_onnx_int_runs_a_separable_conv_bit_exact():
    torch.manual_seed(0)
    model = nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1), nk.LIF(),
                          nk.layers.Conv2d(4, 4, 3, padding=1, groups=4, bias=False), nk.layers.Conv2d(4, 4, 1),
                          nk.LIF(), nk.layers.Flatten(), nn.Linear(64, 3)).eval()
    x = (torch.rand(3, 2, 1, 4, 4) > 0.5).float()
    cm = nk.compile(model, target="onnx_int", example_input=x)
    ref = np.asarray(integer_sim.run(cm.graph, x))
    assert np.array_equal(np.asarray(cm.run(x), dtype=np.int64), ref.astype(np.int64))
