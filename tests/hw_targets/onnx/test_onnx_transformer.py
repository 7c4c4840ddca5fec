"""onnx_int on spiking transformers: Spikformer SSA (reshape / permute / token mean / spike x spike matmul) and SDSA
(masks, membrane-level residual of accumulators rescaled in integers) run in onnxruntime bit-identical to the integer
simulator, integer-only; products' scales end in integer thresholds; oversized products are requantized
integer-only; loihi2 still refuses spike x spike products."""
import numpy as np
import onnx
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim
from tests.helpers.models import randomize_batchnorm
from tests.helpers.onnx_checks import float_ops

torch.set_num_threads(1)


def _spikformer(seed: int, attention: str = "ssa") -> nn.Module:
    torch.manual_seed(seed)
    return randomize_batchnorm(nk.models.spikformer("tiny", attention=attention), seed, gamma=(1.0, 3.0),
                               beta=(0.2, 1.0))


def _frames(T: int, B: int, seed: int) -> torch.Tensor:
    return (torch.rand(T, B, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spikformer_ssa_onnx_bit_identical_to_integer_sim(seed):
    cm = nk.compile(_spikformer(seed), target="onnx_int", example_input=_frames(4, 2, seed))
    assert {"reshape", "permute", "mean", "matmul"} <= {n.op for n in cm.graph}
    for T, B in [(4, 2), (3, 5)]:
        x = _frames(T, B, 10 * seed + T)
        ref, acts = integer_sim.run(cm.graph, x, record=True)
        got = cm.run(x).numpy()
        assert got.shape == (T, B, 10)
        np.testing.assert_array_equal(got, ref)
        for name in ("blocks.0.attn.kv_matmul", "blocks.0.attn.qkv_matmul", "blocks.0.attn.attn_neuron"):
            assert acts[name].sum() > 0, f"{name}: no coincident spikes, the comparison would be vacuous"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spikformer_sdsa_onnx_bit_identical_to_integer_sim(seed):
    cm = nk.compile(_spikformer(seed, "sdsa"), target="onnx_int", example_input=_frames(4, 2, seed))
    assert {"mask", "mean"} <= {n.op for n in cm.graph} and cm.graph.node("add_1").rescale
    for T, B in [(4, 2), (3, 5)]:
        x = _frames(T, B, 10 * seed + T)
        ref, acts = integer_sim.run(cm.graph, x, record=True)
        np.testing.assert_array_equal(cm.run(x).numpy(), ref)
        for name in ("blocks.0.attn.1.kv_mask_sum", "blocks.0.attn.1.kv_neuron", "head_neuron"):
            assert acts[name].sum() > 0, f"{name}: no activity, the comparison would be vacuous"
    assert float_ops(cm.artefact.model) == []


def test_spikformer_graph_is_integer_only_and_scales_live_in_thresholds():
    x = _frames(4, 2, 0)
    cm = nk.compile(_spikformer(0), target="onnx_int", example_input=x)
    onnx.checker.check_model(cm.artefact.model, full_check=True)
    assert float_ops(cm.artefact.model) == []
    ops = cm.report()["onnx_ops"]
    assert {"MatMulInteger", "Transpose", "Reshape", "ReduceSum"} <= set(ops) and "MatMul" not in ops
    g = cm.graph
    assert g.scales["blocks.0.attn.kv_matmul"] == 1.0 and g.scales["blocks.0.attn.qkv_matmul"] == 0.125
    assert g.scales["mean"] == 1.0 / 16                     # 1/N of the token mean: a scale, never a division
    # attention LIF (threshold 0.5, tau 2, decay_input) reads 0.125-unit counts: 1/tau goes into its threshold
    assert int(g.node("blocks.0.attn.attn_neuron").integer.vth) == round(0.5 / (0.125 / 2.0) * 64)


class TokenZoo(nn.Module):
    """Every token op at sizes that force int64 MatMul (operands > 127) and a requantized product."""

    def __init__(self, n: int = 8):
        super().__init__()
        self.fc, self.lif = nn.Linear(n, n), nk.LIF(v_threshold=0.3)
        self.kv, self.y, self.z = nk.layers.SpikeMatMul(1.0), nk.layers.SpikeMatMul(0.5), nk.layers.SpikeMatMul(1e-2)
        self.lif_z, self.lif_kv = nk.LIF(v_threshold=0.5), nk.LIF(v_threshold=2.0)
        self.sum_mask, self.mask = nk.layers.SpikeMask(sum_tokens=True), nk.layers.SpikeMask()
        self.head = nn.Linear(n, 3)

    def forward(self, x):                                   # x [T, B, N, n] spikes
        s = self.lif(self.fc(x))
        kv = self.kv(s.transpose(-1, -2), s)                # counts <= N
        y = self.y(s, kv)                                   # <= n N  (> 127: int64 MatMul next)
        z = self.lif_z(self.z(y.transpose(-1, -2), y))      # <= N (n N)^2: requantized to 16 bits
        k = self.lif_kv(self.sum_mask(s, s))                # [T, B, 1, n]
        return self.head(self.mask(z, k).mean(2))


@pytest.mark.parametrize("seed", [0, 1])
def test_token_ops_int64_matmul_and_requantized_product(seed):
    torch.manual_seed(seed)
    model = TokenZoo().eval()
    x = (torch.rand(5, 2, 20, 8, generator=torch.Generator().manual_seed(seed)) < 0.6).float()
    cm = nk.compile(model, target="onnx_int", example_input=x)
    z = cm.graph.node("z")
    assert z.requant is not None and any("matmul 'z': worst-case product requantized" in w for w in cm.graph.warnings)
    ops = cm.report()["onnx_ops"]
    assert {"MatMul", "MatMulInteger", "Mul", "ReduceSum"} <= set(ops)
    assert float_ops(cm.artefact.model) == []
    for T, B in [(5, 2), (3, 4)]:
        xt = (torch.rand(T, B, 20, 8, generator=torch.Generator().manual_seed(seed + T)) < 0.6).float()
        ref, acts = integer_sim.run(cm.graph, xt, record=True)
        assert acts["lif_z"].sum() > 0 and acts["mask"].sum() > 0
        np.testing.assert_array_equal(cm.run(xt).numpy(), ref)


def test_products_of_accumulators_are_refused_clearly():
    class AccProduct(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.mask = nn.Linear(4, 4), nk.layers.SpikeMask()

        def forward(self, x):
            return self.mask(self.fc(x), x)

    with pytest.raises(CompileError, match=r"node 'mask' \(mask\): a product of two activation tensors needs "
                                           r"integer inputs with one scale each \(spikes or counts\); 'fc' is an "
                                           r"accumulator"):
        nk.compile(AccProduct(), target="onnx_int", example_input=(torch.rand(2, 1, 3, 4) < 0.5).float())


def test_loihi2_still_refuses_spike_products():
    with pytest.raises(CompileError, match=r"loihi2: .*node 'blocks.0.attn.kv_matmul' \(matmul\).*a product of two "
                                           r"spike tensors"):
        nk.compile(_spikformer(0), target="loihi2", example_input=_frames(4, 1, 0))


def test_maxformer_onnx_bit_identical_to_integer_sim():
    """Max-Former (membrane-shortcut residuals of accumulators, max-pooled embeddings, SSA in stage 3) comes along."""
    torch.manual_seed(0)
    model = randomize_batchnorm(nk.models.maxformer("tiny"), 0, gamma=(1.0, 3.0), beta=(0.2, 1.0))
    cm = nk.compile(model, target="onnx_int", example_input=_frames(4, 2, 0))
    for T, B in [(4, 2), (3, 5)]:
        x = _frames(T, B, T)
        ref, acts = integer_sim.run(cm.graph, x, record=True)
        assert acts["stages.2.1.mixer.attn.attn_neuron"].sum() > 0
        np.testing.assert_array_equal(cm.run(x).numpy(), ref)


def test_report_counts_attention_products_and_data_movement():
    """cm.report(): a SpikeMatMul [.., M, K] @ [.., K, N] costs K products per output element; reshape/permute cost
    nothing; token means and masks one term per input element."""
    model = nk.models.spikformer("tiny").eval()
    x = (torch.rand(2, 2, 1, 8, 8) > 0.5).float()
    cm = nk.compile(model, target="gpu", example_input=x)
    shapes = {n.name: n.shape for n in cm.graph}
    layers = {row["name"]: row for row in cm.report()["layers"]}
    matmuls = [n for n in cm.graph if n.op == "matmul"]
    assert matmuls
    for n in matmuls:
        assert layers[n.name]["ops"] == int(np.prod(n.shape)) * shapes[n.inputs[0]][-1] > 0
    for n in cm.graph:
        if n.op in ("reshape", "permute"):
            assert layers[n.name]["ops"] == 0
        if n.op == "mean":
            assert layers[n.name]["ops"] == int(np.prod(shapes[n.inputs[0]]))
