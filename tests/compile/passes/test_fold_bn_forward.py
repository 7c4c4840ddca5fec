"""fold_bn's forward fold: a batch norm with no synapse behind it (after spikes, a pool) goes into the synapse after it.

Float graphs are compared with eager to rtol = atol = 1e-5 (float32 forward; the fold is exact in real arithmetic);
the integer program is compared bit-exactly with the integer reference simulator."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim
from compile.capture import capture
from compile.passes import fold_bn
from hw_targets.gpu import TorchProgram
from neurokit.layers.delays import DelayedLinear
from tests.helpers.models import randomize_batchnorm

torch.set_num_threads(1)


def _head(bn, synapse, pool=True):
    """LIF -> [avg-pool -> flatten] -> batch norm -> synapse -> LIF: the batch norm has no synapse behind it."""
    pre = [nk.LIF(v_threshold=0.3), nk.layers.AvgPool2d(2), nk.layers.Flatten()] if pool else [nk.LIF(v_threshold=0.3)]
    return randomize_batchnorm(nn.Sequential(*pre, bn, synapse, nk.LIF(v_threshold=0.2)), 0,
                               gamma=(-1.5, 2.0), beta=(-0.5, 0.5))


CASES = {
    "dense": lambda: (_head(nk.layers.BatchNorm1d(16), nn.Linear(16, 5)), torch.rand(5, 3, 4, 4, 4)),
    "conv": lambda: (_head(nk.layers.BatchNorm2d(4), nk.layers.Conv2d(4, 6, 3), pool=False),
                     torch.rand(5, 3, 4, 6, 6)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bn_before_a_synapse_folds_into_it_as_eager(case):
    torch.manual_seed(0)
    model, x = CASES[case]()
    graph = capture(model, x)
    folded = fold_bn(graph)
    assert "batchnorm" in {n.op for n in graph} and "batchnorm" not in {n.op for n in folded}
    bn = next(n for n in graph if n.op == "batchnorm")
    syn = next(n for n in folded if n.op == case)
    assert syn.inputs == bn.inputs and syn.bias is not None             # the synapse now reads the batch norm's input
    with torch.no_grad():
        want = model(x)
        torch.testing.assert_close(TorchProgram(folded, torch.device("cpu"))(x), want, rtol=1e-5, atol=1e-5)
        pre = nn.Sequential(*list(model)[:-1])(x)                    # the synapse output, before the last LIF
        sub = folded.copy()
        sub.output = syn.name
        torch.testing.assert_close(TorchProgram(sub, torch.device("cpu"))(x), pre, rtol=1e-5, atol=1e-5)
    assert 0.05 < want.mean() < 0.95
    cm = nk.compile(model, target="onnx_int", example_input=x)
    out = integer_sim.run(cm.graph, x)
    assert np.array_equal(cm.run(x).numpy(), out)


def test_bn_before_a_synapse_that_cannot_absorb_it_is_refused():
    x4 = torch.rand(2, 1, 4, 6, 6)
    padded = _head(nk.layers.BatchNorm2d(4), nk.layers.Conv2d(4, 6, 3, padding=1), pool=False)
    with pytest.raises(CompileError, match=r"batch norm '1' has no synapse before it and cannot be folded into the "
                                           r"conv '2' after it: it has padding \(1, 1\)"):
        fold_bn(capture(padded, x4))
    binary = _head(nk.layers.BatchNorm2d(4), nk.layers.BinaryConv2d(4, 6, 3, estimator="ste"), pool=False)
    with pytest.raises(CompileError, match=r"conv '2' after it: it has exact binary / QAT integers"):
        nk.compile(binary, target="onnx_int", example_input=x4)
    delayed = _head(nk.layers.BatchNorm1d(8), DelayedLinear(8, 3, max_delay=4, mode="learned"), pool=False)
    with pytest.raises(CompileError, match=r"dense '2' after it: it has delays"):
        fold_bn(capture(delayed, torch.rand(3, 2, 8)))
    shared = nn.Sequential(nk.LIF(), nk.layers.BatchNorm1d(4), nk.LIF()).eval()        # feeds a neuron
    with pytest.raises(CompileError, match=r"batch norm '1' follows '0' \(neuron\).* or one whose only consumer is"):
        fold_bn(capture(shared, torch.rand(3, 2, 4)))
