"""Sum pooling (``nk.layers.AvgPool2d(divisor_override=1)``, what a NIR ``SumPool2d`` imports as) is the IR pool kind
``"sum"``: ``gpu`` equals the eager model, ``onnx_int`` is bit-exact to the integer reference, and a batch norm after
it is refused (its shift would be summed over the window)."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim
from compile.capture import capture


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), nk.IF(v_threshold=0.8),
                         nk.layers.AvgPool2d(2, divisor_override=1), nk.layers.Flatten(), nn.Linear(64, 5),
                         nk.LIF(tau=2.0, v_threshold=0.4)).eval()


def test_sum_pool_on_gpu_and_onnx_int():
    model = _model()
    x = (torch.rand(8, 2, 2, 8, 8, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    assert [n.kind for n in capture(model, x) if n.op == "pool"] == ["sum"]
    with torch.no_grad():
        ref = model(x)
    assert ref.sum() > 0
    assert torch.equal(nk.compile(model, target="gpu", example_input=x).run(x), ref)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    out = integer_sim.run(cm.graph, x)
    np.testing.assert_array_equal(cm.run(x).numpy(), out)
    assert out.sum() > 0


def test_batch_norm_after_sum_pool_is_refused():
    model = nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), nk.layers.AvgPool2d(2, divisor_override=1),
                          nk.layers.BatchNorm2d(4), nk.IF()).eval()
    with pytest.raises(CompileError, match="batch norm '2' follows sum-pool '1'"):
        nk.compile(model, target="onnx_int", example_input=torch.rand(3, 1, 2, 8, 8))
