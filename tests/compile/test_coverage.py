"""Compile coverage: spiking transformers and ALIF on `gpu` (== eager), their refusal by loihi2 (ALIF: by every
integer target), and batch norm folded through pools (binary_cnn on `onnx_int`, bit-identical to the integer
simulator)."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim
from compile.capture import capture
from compile.passes import fold_bn
from hw_targets.gpu import TorchProgram
from tests.helpers.models import randomize_batchnorm

TRANSFORMERS = {
    "spikformer": lambda: nk.models.spikformer("tiny"),
    "spikformer-sdsa": lambda: nk.models.spikformer("tiny", attention="sdsa"),
    "maxformer": lambda: nk.models.maxformer("tiny"),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("family", sorted(TRANSFORMERS))
def test_transformers_on_gpu_equal_eager(family, seed):
    torch.manual_seed(seed)
    model = randomize_batchnorm(TRANSFORMERS[family](), seed, gamma=(1.0, 3.0), beta=(0.2, 1.0))
    x = torch.rand(4, 2, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    cm = nk.compile(model, target="gpu", example_input=x)
    ops = {n.op for n in cm.graph}
    assert {"reshape", "permute", "mean"} <= ops and ops & {"matmul", "mask"}
    products = []
    for m in model.modules():
        if isinstance(m, (nk.layers.SpikeMatMul, nk.layers.SpikeMask)):
            m.register_forward_hook(lambda _mod, _inp, out: products.append(float(out.abs().sum())))
    with torch.no_grad():
        ref = model(x)
    assert min(products) > 0                               # every attention product sees coincident spikes
    torch.testing.assert_close(cm.run(x), ref, rtol=1e-5, atol=1e-6)
    x2 = torch.rand(3, 1, 1, 8, 8)                         # other T, B: the IR is per step
    with torch.no_grad():
        torch.testing.assert_close(cm.run(x2), model(x2), rtol=1e-5, atol=1e-6)


def test_spikformer_ir_nodes():
    g = capture(nk.models.spikformer("tiny"), torch.rand(2, 1, 1, 8, 8))
    tok = g.node("flatten")
    assert (tok.op, tok.shape) == ("reshape", (32, 16))
    assert (g.node("transpose").op, g.node("transpose").perm) == ("permute", (1, 0))
    assert g.node("blocks.0.attn.q.1").axis == 1                     # TokenBatchNorm: channels last of [N, C]
    assert g.node("patch_embed.stages.1").axis == 0                  # BatchNorm2d: channels first
    mm = g.node("blocks.0.attn.qkv_matmul")
    assert (mm.op, mm.scale, len(mm.inputs), mm.shape) == ("matmul", 0.125, 2, (2, 16, 16))
    assert (g.node("mean").axes, g.node("mean").shape) == ((0,), (32,))
    sdsa = capture(nk.models.spikformer("tiny", attention="sdsa"), torch.rand(2, 1, 1, 8, 8))
    kv_mask_sum = sdsa.node("blocks.0.attn.1.kv_mask_sum")
    assert kv_mask_sum.sum_tokens and kv_mask_sum.shape == (1, 32)


def test_layout_ops_must_keep_time_and_batch():
    class SwapBatch(nn.Module):
        def forward(self, x):
            return x.transpose(1, 2)

    with pytest.raises(CompileError, match=r"'transpose' \(transpose\): dims \(1, 2\) touch the time or batch axis"):
        capture(SwapBatch(), torch.rand(3, 4, 4, 5))


@pytest.mark.parametrize("seed", [0, 1])
def test_alif_on_gpu_equals_eager(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 32), nk.ALIF(tau=3.0, tau_adapt=10.0, beta=0.5, v_threshold=0.1),
                          nn.Linear(32, 24), nk.ALIF(decay_input=False, v_reset=None), nn.Linear(24, 4)).eval()
    x = (torch.rand(20, 3, 16) < 0.4).float()
    cm = nk.compile(model, target="gpu", example_input=x)
    n = cm.graph.node("1")
    assert (n.kind, n.tau_adapt, n.beta) == ("alif", 10.0, 0.5)
    with torch.no_grad():
        assert model[1](model[0](x)).mean() > 0.05
        torch.testing.assert_close(cm.run(x), model(x), rtol=1e-5, atol=1e-6)


def test_integer_targets_refuse_unsupported_nodes_with_reasons():
    """loihi2 refuses spike x spike products (onnx_int lowers them: tests/hw_targets/onnx/test_onnx_transformer.py);
    both refuse ALIF."""
    spikes = (torch.rand(4, 1, 1, 8, 8) < 0.5).float()
    with pytest.raises(CompileError) as err:
        nk.compile(nk.models.spikformer("tiny"), target="loihi2", example_input=spikes)
    assert "node 'blocks.0.attn.kv_matmul' (matmul), node 'blocks.0.attn.qkv_matmul' (matmul): a product of two " \
           "spike tensors" in str(err.value)
    alif = nn.Sequential(nn.Linear(16, 8), nk.ALIF(), nn.Linear(8, 4))
    for target in ("onnx_int", "loihi2"):
        with pytest.raises(CompileError, match=rf"{target}: node '1' \(neuron, kind 'alif'\): the adaptive threshold "
                                               r"\(ALIF\) is not part of Lava's CUBA-LIF"):
            nk.compile(alif, target=target, example_input=(torch.rand(4, 1, 16) < 0.5).float())


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_cnn_on_onnx_int_matches_integer_sim(seed):
    torch.manual_seed(seed)
    model = randomize_batchnorm(nk.models.binary_cnn(preset="tiny"), seed, gamma=(1.0, 4.0), beta=(0.2, 1.2))
    x = torch.rand(4, 2, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    folded = fold_bn(capture(model, x))
    assert "batchnorm" not in {n.op for n in folded}
    with torch.no_grad():                                  # folding through the max-pools is exact
        torch.testing.assert_close(TorchProgram(folded, torch.device("cpu"))(x), model(x), rtol=1e-5, atol=1e-5)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    out, vals = integer_sim.run(cm.graph, x, record=True)
    assert np.array_equal(cm.run(x).numpy(), out)
    assert all(0.01 < vals[n.name].mean() < 0.99 for n in cm.graph if n.op == "neuron")   # every layer is active


@pytest.mark.parametrize("pool", [nk.layers.AvgPool2d(2), nk.layers.MaxPool2d(3, stride=2, padding=1)],
                         ids=["avg", "max-padded"])
def test_bn_after_pool_folds_exactly_and_lowers(pool):
    torch.manual_seed(0)
    model = randomize_batchnorm(nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1), pool, nk.layers.BatchNorm2d(4),
                                        nk.LIF(v_threshold=0.3), nk.layers.Flatten(), nn.Linear(64, 3)), 0)
    x = torch.rand(6, 2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(TorchProgram(fold_bn(capture(model, x)), torch.device("cpu"))(x), model(x),
                                   rtol=1e-5, atol=1e-5)
    for loop in ("loop", "unrolled"):
        cm = nk.compile(model, target="onnx_int", example_input=x, time_loop=loop)
        out, vals = integer_sim.run(cm.graph, x, record=True)
        assert np.array_equal(cm.run(x).numpy(), out) and 0.05 < vals["3"].mean() < 0.95


def test_bn_after_pool_that_does_not_commute_is_refused():
    x = torch.rand(3, 1, 1, 8, 8)
    model = nn.Sequential(nk.layers.Conv2d(1, 4, 3), nk.layers.MaxPool2d(2), nk.layers.BatchNorm2d(4), nk.LIF()).eval()
    model[2].weight.data[2] = -1.0
    with pytest.raises(CompileError, match=r"batch norm '2' follows max-pool '1': channel 2 has scale .* <= 0"):
        fold_bn(capture(model, x))
    padded = nn.Sequential(nk.layers.Conv2d(1, 4, 3), nk.layers.AvgPool2d(2, padding=1), nk.layers.BatchNorm2d(4),
                           nk.LIF()).eval()
    with pytest.raises(CompileError, match=r"batch norm '2' follows avg-pool '1' with padding \(1, 1\)"):
        nk.compile(padded, target="onnx_int", example_input=x)
