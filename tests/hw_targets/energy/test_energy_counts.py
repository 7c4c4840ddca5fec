"""Event counts and energies checked against numbers worked out by hand (hw_targets/energy)."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from hw_targets.energy import EnergyError, count_events, energy
from neurokit.layers.attention import SpikeMatMul
from neurokit.layers.delays import DelayedLinear
from tests.helpers.models import two_layer_if_net

PJ = 1e-12


# By hand (see two_layer_if_net):
#   fc1 non-zero weights: row0 {0, 2}, row1 {0, 1}; effective ops t0: 2+1, t1: 0+1, t2: 2+2  -> 8 ACs, dense 6/step
#   fc1 currents t0 (2, .5), t1 (0, .5), t2 (2, 1); IF 0.9 spikes t0 (1,0), t1 (0,1), t2 (1,1) -> 4 spikes,
#   5 active updates (non-zero current) of 6
#   fc2 effective ops t0 1, t1 1, t2 2 -> 4 ACs, dense 2/step; currents 1, 1, 2 -> 3 spikes, 3 active of 3
def testtwo_layer_if_net_counts_by_hand():
    net, x = two_layer_if_net()
    c = count_events(net, x)
    fc1, if1, fc2, if2 = (c.layer(n) for n in ("0", "1", "2", "3"))
    assert fc1.ac.tolist() == [3, 1, 4] and fc1.mac.tolist() == [0, 0, 0] and fc1.dense.tolist() == [6, 6, 6]
    assert fc1.flops.tolist() == [6, 6, 6] and fc1.in_nnz.tolist() == [2, 1, 3]
    assert if1.spikes.tolist() == [1, 1, 2] and if1.active.tolist() == [2, 1, 2] and if1.updates.tolist() == [2] * 3
    assert fc2.ac.tolist() == [1, 1, 2] and fc2.dense.tolist() == [2, 2, 2]
    assert if2.spikes.tolist() == [1, 1, 1] and if2.active.tolist() == [1, 1, 1]
    assert c.synops() == {"Effective_MACs": 0.0, "Effective_ACs": 12.0, "Dense": 24.0}
    assert c.activation_sparsity() == pytest.approx(2 / 9)
    assert c.firing_rate() == pytest.approx(7 / 9)
    assert (fc1.weight_words, fc1.weight_bits, if1.state_vars, if1.state_bits) == (6, 32, 1, 32)


def testtwo_layer_if_net_energy_by_hand():
    net, x = two_layer_if_net()
    # cmos45 paper convention: SOP = rate x FLOPs per step: fc1 (2/3 + 1/3 + 1) x 6 = 12, fc2 (1/2 + 1/2 + 1) x 2 = 4
    rep = energy(net, x, "cmos45")
    assert rep.total_j == pytest.approx(16 * 0.9 * PJ, rel=1e-12)
    assert [r["total"] for r in rep.per_layer] == pytest.approx([12 * 0.9 * PJ, 0, 4 * 0.9 * PJ, 0], rel=1e-12)
    assert rep.shares == {"compute": 1.0, "memory": 0.0, "static": 0.0}

    # loihi2: 12 synops x 23.6 pJ; 8 active x 81 + 1 idle x 52 pJ; 7 spikes x (1.7 + 1 hop x 3.0) pJ;
    # static: 3 neurons -> 1 core, 1 chip; per-step work t0 4 synops + 3 active, t1 2 synops + 2 active + 1 idle,
    # t2 6 synops + 3 active; time = 3 x 465 ns barrier + work
    rep = energy(net, x, "loihi2")
    work_ns = (4 * 3.5 + 3 * 8.4) + (2 * 3.5 + 2 * 8.4 + 5.3) + (6 * 3.5 + 3 * 8.4)
    static = 3.34 / 32 * (3 * 465 + work_ns) * 1e-9
    comp = rep.component_totals()
    assert comp["synaptic"] == pytest.approx(12 * 23.6 * PJ, rel=1e-12)
    assert comp["neuron"] == pytest.approx((8 * 81 + 52) * PJ, rel=1e-12)
    assert comp["traffic"] == pytest.approx(7 * 4.7 * PJ, rel=1e-12)
    assert comp["static"] == pytest.approx(static, rel=1e-12)
    assert rep.total_j == pytest.approx((12 * 23.6 + 8 * 81 + 52 + 7 * 4.7) * PJ + static, rel=1e-12)

    # cmos45 event accounting: effective ops (8 + 4 ACs) x 0.9 pJ; 9 neuron updates x (3.7 + 2 x 0.9) pJ;
    # SRAM bits x 10/64 pJ: weights 12 ops x 32 b, input maps (3 + 2) x 3 steps x 1 b, state 2 x 9 x 32 b, 9 spike bits
    rep = energy(net, x, "cmos45", accounting="event")
    bits = 12 * 32 + 15 + 2 * 9 * 32 + 9
    assert rep.total_j == pytest.approx((12 * 0.9 + 9 * 5.5) * PJ + bits * 10 / 64 * PJ, rel=1e-12)

    # onnx_int (dense, int8): 24 dense ops x (0.2 + 0.1) pJ; 9 updates x (3.1 + 3 x 0.1) pJ; SRAM bits: weights
    # (6 + 2) x 8 b x 3 steps, activations in + out (9 + 6) + (6 + 3) elements x 8 b, neurons 9 x (2 x 32 + 2 x 8) b
    rep = energy(net, x, "onnx_int")
    bits = 8 * 8 * 3 + (15 + 9) * 8 + 9 * (64 + 16)
    assert rep.total_j == pytest.approx((24 * 0.3 + 9 * 3.4) * PJ + bits * 10 / 64 * PJ, rel=1e-12)

    # gpu roofline: per layer max(FLOPs / 66.9 TFLOP/s, bytes / 3.35 TB/s) x 700 W, fp32 (4-byte) tensors
    rep = energy(net, x, "gpu")
    layers = [(2 * 18, 6 * 4 + (9 + 6) * 4), (6 * 4, 2 * 6 * 4), (2 * 6, 2 * 4 + (6 + 3) * 4), (3 * 4, 2 * 3 * 4)]
    expect = sum(700.0 * max(f / 66.9e12, b / 3.35e12) for f, b in layers)
    assert rep.total_j == pytest.approx(expect, rel=1e-12)
    assert not rep.measured and any("ESTIMATE" in a for a in rep.assumptions)


def test_batch_counts_are_per_sample():
    net, x = two_layer_if_net()
    one = count_events(net, x).synops()
    two = count_events(net, torch.cat([x, x], dim=1))
    assert two.synops() == one and two.layer("0").ac.tolist() == [6, 2, 8]
    assert energy(net, torch.cat([x, x], dim=1), "loihi2").total_j == pytest.approx(energy(net, x, "loihi2").total_j)


def test_real_valued_input_counts_macs_and_repeats_once():
    conv = nk.layers.Conv2d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    net = nn.Sequential(conv, nk.LIF(backend="torch"))
    frame = torch.full((1, 1, 1, 4, 4), 0.5)
    frame[..., 0, 0] = 0.0                                   # one zero pixel
    x = frame.expand(3, -1, -1, -1, -1).contiguous()
    c = count_events(net, x)
    lc = c.layer("0")
    # dense (in-bounds taps) of a 3x3 'same' conv on 4x4: 4 corners x 4 + 8 edges x 6 + 4 inner x 9 = 100 per channel
    assert lc.dense.tolist() == [200] * 3 and lc.flops.tolist() == [2 * 16 * 9] * 3
    # the zero pixel at (0, 0) feeds 4 outputs per channel -> 8 fewer effective MACs
    assert lc.mac.tolist() == [192] * 3 and lc.ac.tolist() == [0] * 3 and lc.repeated_input
    rep = energy(net, x, "cmos45")                            # paper: first layer FLOPs once, as MACs
    assert rep.total_j == pytest.approx(288 * 4.6 * PJ, rel=1e-12)


def test_spike_matmul_and_delayed_linear_by_hand():
    mm = SpikeMatMul()
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).reshape(1, 1, 2, 2)
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).reshape(1, 1, 2, 2)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.mm = mm

        def forward(self, x):
            return self.mm(x, b)

    c = count_events(Wrap(), a)
    # sum over k of nnz(a[:, k]) x nnz(b[k, :]) = 2 x 1 + 1 x 1
    assert c.layer("mm").ac.tolist() == [3] and c.layer("mm").dense.tolist() == [8]

    dl = DelayedLinear(2, 1, max_delay=2, mode="random")
    with torch.no_grad():
        dl.weight.fill_(1.0)
        dl.delay.copy_(torch.tensor([[0, 2]]))
    x = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]).reshape(4, 1, 2)
    lc = count_events(dl, x).layer("DelayedLinear")
    # synapse 0 reads x[t, 0]; synapse 1 reads x[t - 2, 1]: t0 1, t1 0, t2 1 + 1, t3 0 + 1
    assert lc.ac.tolist() == [1, 0, 2, 1] and lc.dense.tolist() == [1, 1, 2, 2]


def test_bad_input_is_a_clear_error_or_stated_fallback():
    net, x = two_layer_if_net()
    with pytest.raises(EnergyError, match="unknown energy target 'tpu'.*cmos45"):
        energy(net, x, "tpu")
    ann = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(EnergyError, match="no spiking neuron layer"):
        energy(ann, torch.rand(1, 2, 3), "loihi2")
    rep = energy(ann, torch.rand(1, 2, 3), "cmos45")         # stated fallback: costed as an ANN
    assert rep.total_j > 0 and any("non-spiking network" in a for a in rep.assumptions)
    with pytest.raises(EnergyError, match="no countable layer"):
        energy(nn.Identity(), x, "cmos45")
    with pytest.raises(EnergyError, match="time-major"):
        count_events(net, torch.rand(3))
    with pytest.raises(EnergyError, match="accounting"):
        energy(net, x, "loihi2", accounting="paper")
    silent = energy(net, torch.zeros_like(x), "cmos45")     # no input spikes: a stated, measured zero
    assert silent.total_j == 0.0 and any("WARNING" in a for a in silent.assumptions)


def test_spikformer_paper_convention_reproduced():
    """cmos45 = E_MAC x FLOPs(first conv) + E_AC x sum of SOPs, SOP = fr x T x FLOPs (models.md §1.5), where the
    firing rates and FLOPs are taken here by independent hooks from the shapes and tensors of the run."""
    torch.manual_seed(0)
    from neurokit.models.spikformer import spikformer
    model = spikformer("tiny", T=3).eval()
    with torch.no_grad():                         # larger weights so that every layer spikes
        for p in model.parameters():
            p.mul_(4.0)
    T, B = 3, 2
    x = torch.rand(1, B, 1, 8, 8).expand(T, -1, -1, -1, -1).contiguous()
    seen = []

    def grab(mod, inp, out):
        seen.append((mod, [t.detach().clone() for t in inp[:2]], out.detach()))

    hooks = [m.register_forward_hook(grab) for m in model.modules()
             if isinstance(m, (nn.Linear, nn.Conv2d, SpikeMatMul))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    first_conv = model.patch_embed.stages[0]
    fl1, sops, n_products = None, 0.0, 0
    for mod, inp, out in seen:
        if isinstance(mod, nn.Conv2d):        # k^2 h_out w_out c_in c_out per image
            flops = mod.kernel_size[0] * mod.kernel_size[1] * out.shape[-2] * out.shape[-1] * mod.in_channels \
                * mod.out_channels
        elif isinstance(mod, nn.Linear):      # i x o per token
            flops = mod.in_features * mod.out_features * (out[0, 0].numel() // mod.out_features)
        else:                                 # N x K x M per head
            n_products += 1
            flops = inp[0][0, 0].numel() // inp[0].shape[-1] * inp[0].shape[-1] * inp[1].shape[-1]
        if mod is first_conv:
            fl1 = flops                       # the static image is the same at every step: counted once
            continue
        operands = [t for t in inp if ((t == 0) | (t == 1)).all()] if isinstance(mod, SpikeMatMul) else inp[:1]
        fr = min(float((t != 0).float().mean()) for t in operands)
        sops += fr * T * flops
    assert fl1 == 9 * 8 * 8 * 1 * 4 and n_products == 2 and sops > 0
    rep = energy(model, x, "cmos45")
    assert rep.total_j == pytest.approx(4.6 * PJ * fl1 + 0.9 * PJ * sops, rel=1e-9)


def test_binary_layers_are_counted_like_dense_layers_with_every_connection():
    """BinaryLinear/BinaryConv2d deploy {-1,+1} weights: every connection exists, so their synaptic ops equal
    those of a torch layer of the same geometry with all-non-zero weights on the same input."""
    from hw_targets.energy import count_events
    from neurokit.layers.binary import BinaryConv2d, BinaryLinear

    torch.manual_seed(0)
    x = (torch.rand(3, 2, 1, 6, 6) > 0.6).float()
    conv_b, conv_t = BinaryConv2d(1, 4, 3, padding=1), nk.layers.Conv2d(1, 4, 3, padding=1, bias=False)
    lin_b, lin_t = BinaryLinear(144, 5), nn.Linear(144, 5, bias=False)
    with torch.no_grad():
        conv_t.weight.fill_(0.5)
        lin_t.weight.fill_(0.5)
    ours = count_events(nn.Sequential(conv_b, nk.LIF(), nk.layers.Flatten(), lin_b), x)
    ref = count_events(nn.Sequential(conv_t, nk.LIF(), nk.layers.Flatten(), lin_t), x)
    syn = [lc for lc in ours.layers if lc.kind == "synapse"]
    syn_ref = [lc for lc in ref.layers if lc.kind == "synapse"]
    assert [lc.weight_bits for lc in syn] == [1, 1]
    for a, b in zip(syn, syn_ref):
        np.testing.assert_array_equal(a.dense, b.dense)
    np.testing.assert_array_equal(syn[0].mac + syn[0].ac, syn_ref[0].mac + syn_ref[0].ac)
