"""The ``gpu`` target runs sigma-delta networks as eager does: the rebuilt ``nk.SigmaDelta`` / ``Sigma`` modules give
the same graded messages (float, to 1e-6: the same float32 ops in the same order) on ``nk.models.sdnn_cnn`` (float
and lava-dl-quantized messages) and on a dense SDNN with cumulative error; the target runs on CPU here."""
import pytest
import torch
from torch import nn

import neurokit as nk

torch.set_num_threads(1)

TOL = 1e-6  # absolute, on outputs of magnitude ~1


@pytest.mark.parametrize("scale", [None, 64])
def test_gpu_target_equals_eager_on_sdnn_cnn(scale):
    torch.manual_seed(0)
    m = nk.models.sdnn_cnn(threshold=1 / 32, scale=scale).eval()
    x = torch.rand(6, 3, 1, 8, 8)
    cm = nk.compile(m, target="gpu", example_input=x)
    for xi in (x, torch.rand(3, 1, 1, 8, 8)):
        with torch.no_grad():
            ref = m(xi)
        got = cm.run(xi)
        assert got.shape == ref.shape and float((got - ref).abs().max()) <= TOL
    assert [n.op for n in cm.graph].count("sigma_delta") == 4


def test_gpu_target_equals_eager_on_dense_sdnn_with_cumulative_error():
    torch.manual_seed(1)
    m = nn.Sequential(nk.SigmaDelta(1 / 16, activation="identity", sigma=False, cum_error=True),
                      nn.Linear(10, 12, bias=False),
                      nk.SigmaDelta(1 / 32, activation="relu", cum_error=True, bias=torch.randn(12) * 0.1),
                      nn.Linear(12, 3), nk.neurons.Sigma(torch.randn(3) * 0.1)).eval()
    x = torch.randn(8, 2, 10).cumsum(0) * 0.2
    with torch.no_grad():
        ref = m(x)
    got = nk.compile(m, target="gpu", example_input=x).run(x)
    assert float((got - ref).abs().max()) <= TOL and float(ref.abs().max()) > 0.1
