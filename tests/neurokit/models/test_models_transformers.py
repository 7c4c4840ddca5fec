"""Spiking attention layers, Spikformer (SSA / spike-driven) and Max-Former at tiny size (paper-size parameter counts:
test_published_counts.py)."""

import pytest
import torch
from torch import nn

import neurokit as nk
from neurokit.layers.attention import (SpikeDrivenSelfAttention, SpikeMask, SpikeMatMul, SpikingSelfAttention,
                                       TokenBatchNorm)
from neurokit.models import maxformer, spikformer
from neurokit.models.maxformer import MaxEmbedding


def _spikes(*shape, p=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


def test_spike_matmul_and_mask_match_torch():
    a, b = _spikes(2, 3, 5, 4), _spikes(2, 3, 4, 6, seed=1)
    torch.testing.assert_close(SpikeMatMul(0.125)(a, b), 0.125 * torch.matmul(a, b))
    k, v = _spikes(2, 3, 5, 4, seed=2), _spikes(2, 3, 5, 4, seed=3)
    torch.testing.assert_close(SpikeMask()(k, v), k * v)
    torch.testing.assert_close(SpikeMask(sum_tokens=True)(k, v), (k * v).sum(-2, keepdim=True))
    with pytest.raises(ValueError, match=r"a \[\.\.\., N, K\]"):
        SpikeMatMul()(torch.ones(2, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match="broadcastable"):
        SpikeMask()(torch.ones(2, 3), torch.ones(4, 2))


def test_token_batchnorm_equals_spikformer_bn_layout():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 5, 8)
    ours, ref = TokenBatchNorm(8), nn.BatchNorm1d(8)
    expected = ref(x.flatten(0, 1).transpose(1, 2)).transpose(1, 2).reshape(x.shape)   # BN on [T*B, C, N]
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[\.\.\., 8\]"):
        ours(torch.randn(3, 2, 5, 7))


def test_ssa_equals_softmax_free_attention_reference():
    """SSA computes scale * Q (K^T V); the reference is Spikformer's (scale * Q K^T) V, no softmax."""
    torch.manual_seed(0)
    ssa = SpikingSelfAttention(16, heads=4, neuron=nk.LIF).eval()
    x = _spikes(3, 2, 6, 16)
    q, k, v = ssa.q(x), ssa.k(x), ssa.v(x)
    for t in (q, k, v):
        assert set(t.unique().tolist()) <= {0.0, 1.0}
    split = lambda t: t.reshape(3, 2, 6, 4, 4).transpose(2, 3)  # [T, B, H, N, d]
    attn = (split(q) @ split(k).transpose(-2, -1)) * 0.125
    y = (attn @ split(v)).transpose(2, 3).reshape(3, 2, 6, 16)
    expected = ssa.proj(ssa.attn_neuron(y))
    torch.testing.assert_close(ssa(x), expected)
    with pytest.raises(ValueError, match=r"\[T, B, N, 16\]"):
        ssa(torch.rand(3, 6, 16))


def test_sdsa_equals_mask_and_add_reference():
    torch.manual_seed(1)
    sdsa = SpikeDrivenSelfAttention(8, neuron=nk.LIF).eval()
    s = _spikes(2, 3, 5, 8)
    q, k, v = sdsa.q(s), sdsa.k(s), sdsa.v(s)
    kv = sdsa.kv_neuron((k * v).sum(dim=2, keepdim=True))
    torch.testing.assert_close(sdsa(s), sdsa.proj(q * kv))
    assert set(kv.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("attention", ["ssa", "sdsa"])
def test_spikformer_tiny_forward_backward(attention):
    torch.manual_seed(0)
    net = spikformer("tiny", attention=attention)
    x = torch.rand(4, 3, 1, 8, 8)
    out = net(x)
    assert out.shape == (4, 3, 10)
    out.mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing
    torch.testing.assert_close(net(x[0]), net(x[:1].expand(4, 3, 1, 8, 8)))   # static input = repeated T times


def _synapse_inputs(net, x):
    """Inputs of every Linear / Conv2d except the first conv (which sees the analog image)."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda m, a: seen.append((m, a[0].detach())))
             for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return seen[1:]


def test_spike_driven_modes_feed_only_binary_spikes_to_synapses():
    torch.manual_seed(0)
    x = torch.rand(4, 2, 1, 8, 8)
    for net in (spikformer("tiny", attention="sdsa").eval(), maxformer("tiny").eval()):
        for module, inp in _synapse_inputs(net, x):
            if module is net.head:
                continue                                   # head sees the token mean of spikes
            assert set(inp.unique().tolist()) <= {0.0, 1.0}, module


def test_spikformer_arguments_and_shapes():
    net = spikformer(num_classes=5, in_channels=2, img_size=16, patch_size=4, dim=16, depth=2, heads=2, T=3,
                     neuron="if")
    assert isinstance(net.blocks[0].attn.q[2], nk.IF)
    assert net.patch_embed(torch.rand(3, 1, 2, 16, 16)).shape == (3, 1, 16, 16)         # 4x4 tokens
    assert net(torch.rand(1, 2, 16, 16)).shape == (3, 1, 5)
    assert isinstance(spikformer("tiny", neuron="plif").blocks[0].mlp.net[2], nk.PLIF)
    with pytest.raises(ValueError, match="patch_size"):
        spikformer("tiny", patch_size=3, img_size=9)
    with pytest.raises(ValueError, match="heads"):
        spikformer("tiny", heads=3)
    with pytest.raises(ValueError, match="neuron"):
        spikformer("tiny", neuron="hh")
    with pytest.raises(ValueError, match="attention"):
        spikformer("tiny", attention="softmax")
    with pytest.raises(ValueError, match="rank 4 or a time-major input of rank 5"):
        spikformer("tiny")(torch.rand(8, 8))


def test_maxformer_tiny_forward_backward_and_structure():
    torch.manual_seed(0)
    net = maxformer("tiny")
    out = net(torch.rand(4, 2, 1, 8, 8))
    assert out.shape == (4, 2, 10)
    out.mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    embed = net.stages[1][0]
    assert isinstance(embed, MaxEmbedding)
    assert any(isinstance(m, nn.MaxPool2d) for m in embed.main) and any(isinstance(m, nn.MaxPool2d)
                                                                        for m in embed.shortcut)
    dwc = net.stages[0][1].mixer[1]                      # early-stage token mixer: depth-wise conv
    assert isinstance(dwc, nn.Conv2d) and dwc.groups == dwc.in_channels == dwc.out_channels
    assert isinstance(net.stages[2][1].mixer.attn, SpikingSelfAttention)


def test_maxformer_arguments():
    net = maxformer(num_classes=3, in_channels=2, img_size=16, patch_size=8, dim=16, depths=(1, 0, 1),
                    mixers=("dwc5", "none", "ssa"), heads=2, T=2, neuron="if")
    assert net(torch.rand(2, 2, 16, 16)).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="patch_size"):
        maxformer("tiny", patch_size=2)
    with pytest.raises(ValueError, match="mixer"):
        maxformer("tiny", mixers=("dwc4", "dwc3", "ssa"))
    with pytest.raises(ValueError, match="depths and mixers"):
        maxformer("tiny", depths=(1, 1))


def test_tiny_spikformer_learns_digits_quickly():
    """Two epochs on 8x8 digits already reach well above chance (the full run in docs/models.md reaches >= 90%)."""
    torch.manual_seed(0)
    train_ds, test_ds = nk.data.digits(T=4, encoding="direct", flatten=False, seed=0)
    history = nk.train(spikformer("tiny"), train_ds, 2, test_data=test_ds, lr=3e-3, batch_size=32, progress=False)
    assert history[-1]["test_acc"] >= 0.5, history[-1]["test_acc"]
