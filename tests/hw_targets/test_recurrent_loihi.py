"""Recurrent layers on loihi2: lowered to netx ``dense_rec`` blocks (Lava's RecurrentDense), our fixed-point simulator
equal to the integer reference with Lava's timing, the ``.net`` layout netx reads, load_netx round trip, the real
Lava run (lava-dl's netx reader, Loihi2SimCfg(select_tag="fixed_pt")) identical at every step, and clear errors."""
import h5py
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import integer_sim, ir
from compile.capture import capture
from compile.passes import quantize
from hw_targets.loihi2 import LoihiLayer, NetxFormatError, load_netx, run_lava, save_netx, simulate
from hw_targets.loihi2.network import encode_recurrent_weights

torch.set_num_threads(1)


def _rnet(neuron, seed, bias=False, excitatory_ff=False):
    """rsnn 6 -> 10 -> 7 -> 3 (two recurrent layers, integrator readout); LIF nets may carry both biases."""
    net = nk.models.rsnn(in_features=6, hidden=(10, 7), num_classes=3, neuron=neuron, v_threshold=0.3, bias=bias,
                         seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    for block in net.hidden:
        layer = block[0]
        if bias:
            layer.recurrent_bias = nn.Parameter(torch.rand(layer.out_features, generator=g) * 0.05)
        if excitatory_ff:  # W all >= 0, V mixed: Lava's two Dense synapses pick different sign modes
            with torch.no_grad():
                layer.weight.abs_()
    return net.eval()


def _spikes(seed, shape=(50, 2, 6), p=0.3):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p).float()


@pytest.mark.parametrize("neuron,bias", [("cuba", False), ("lif", True)])
def test_loihi2_equals_the_integer_reference_with_lavas_timing(neuron, bias, tmp_path):
    for seed in range(3):
        net, x = _rnet(neuron, seed, bias=bias), _spikes(seed)
        cm = nk.compile(net, target="loihi2", example_input=x)
        ref, vals = integer_sim.run(cm.graph, x, latency=1, record=True)
        assert vals["hidden.0.0"].any() and vals["hidden.1.0"].any()
        assert np.array_equal(cm.run(x).numpy(), ref), (neuron, seed)
        layers = cm.artefact.net.layers
        assert [la.weight_rec is not None for la in layers] == [True, True, False]
        assert np.array_equal(layers[0].weight_rec, cm.graph.node("hidden.0.0").quant.weight)
        assert (layers[0].bias is not None) == bias
        path = tmp_path / f"r{seed}.net"
        cm.save(path)
        back = load_netx(path)
        assert all(np.array_equal(a.weight_rec, b.weight_rec) for a, b in zip(back.layers[:2], layers[:2]))
        assert np.array_equal(simulate(back, x), cm.artefact.last_run.spikes[-1])


def test_netx_file_uses_the_dense_rec_block_layout(tmp_path):
    cm = nk.compile(_rnet("cuba", 0), target="loihi2", example_input=_spikes(0))
    cm.save(tmp_path / "r.net")
    with h5py.File(tmp_path / "r.net", "r") as f:
        blocks = [f[f"layer/{i}/type"][0] for i in range(len(f["layer"]))]
        assert blocks == [b"input", b"dense_rec", b"dense_rec", b"dense"]
        g = f["layer/1"]
        assert g["weight"].shape == (10, 6) and g["weight_rec"].shape == (10, 10)
        assert g["weight_rec"].dtype == np.float32 and "delay" not in g and g["neuron/iDecay"][()] == 819
        assert f["layer/2/weight_rec"].shape == (7, 7)


def test_core_map_counts_recurrent_synapses_and_their_spike_messages():
    cm = nk.compile(_rnet("cuba", 1), target="loihi2", example_input=_spikes(1))
    cm.run(_spikes(1))
    rep = cm.report()
    cores = rep["core_map"]["per_core"]
    assert [c["fan_in"] for c in cores] == [6 + 10, 10 + 7, 7]                    # own spikes are inputs too
    assert [la["recurrent"] for la in rep["loihi_layers"]] == [True, True, False]
    tr, spikes = rep["spike_traffic"], cm.artefact.last_run.spikes
    fan_out = [(la.weight_rec != 0).any(0) for la in cm.artefact.net.layers[:2]]   # one core per layer here
    assert tr["recurrent"] == [float((s.sum((0, 1)) * f).sum() / 2) for s, f in zip(spikes, fan_out)] + [0.0]
    assert tr["recurrent"][0] > 0 and tr["total"] == sum(tr["per_boundary"]) + sum(tr["recurrent"])


def test_recurrent_weights_share_netx_exponent_and_keep_their_own_lava_sign_mode():
    w, v = np.array([[6], [2]]), np.array([[0, -4], [2, 0]])
    ff, rec = encode_recurrent_weights(w, v)
    assert ff.weight_exp == rec.weight_exp == -5 and ff.num_weight_bits == rec.num_weight_bits == 3
    assert (ff.sign_mode, rec.sign_mode) == (2, 1)          # excitatory / mixed, each Dense its own
    assert ff.mantissa.tolist() == [[192], [64]] and rec.mantissa.tolist() == [[0, -128], [64, 0]]


@pytest.mark.lava
def test_real_lava_runs_our_dense_rec_files_spike_for_spike(tmp_path):
    """lava-dl's netx reader builds RecurrentDense blocks from our files; Loihi2SimCfg('fixed_pt') gives every
    layer's spikes and the readout voltage of our simulator at every one of T = 60 steps, 3 seeds."""
    jobs, ours = [], []
    cases = [("cuba", 0, False, False), ("lif", 1, True, False), ("cuba", 2, False, True)]
    for neuron, seed, bias, exc in cases:
        x = _spikes(seed, (60, 1, 6))
        cm = nk.compile(_rnet(neuron, seed, bias=bias, excitatory_ff=exc), target="loihi2", example_input=x)
        cm.run(x)
        rec = cm.artefact.last_run
        assert rec.spikes[0].any() and rec.spikes[1].any()
        cm.save(tmp_path / f"{seed}.net")
        jobs.append((tmp_path / f"{seed}.net", x.numpy()))
        ours.append(rec)
    assert ours[2].spikes[0].any() and cm.artefact.net.layers[0].synapse.sign_mode == 2   # excitatory W, mixed V
    for (neuron, seed, _, _), lava, rec in zip(cases, run_lava(jobs), ours):
        assert len(lava.spikes) == len(rec.spikes)
        for i, (a, b) in enumerate(zip(lava.spikes, rec.spikes)):
            assert np.array_equal(a, b), (neuron, seed, f"layer {i + 1}", np.argwhere(a != b)[:5])
        assert np.array_equal(lava.v_last, rec.v_last), (neuron, seed)


def test_bad_recurrent_weights_are_refused_naming_the_node_or_block(tmp_path):
    net = nn.Sequential(nk.layers.Recurrent(4, 3, nk.LIF()))
    net[0].recurrent_weight = nn.Parameter(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"at '0'.*recurrent_weight has shape \(3, 2\); expected \(3, 3\)"):
        nk.compile(net.eval(), target="onnx_int", example_input=_spikes(0, (5, 1, 4)))
    g = capture(nn.Sequential(nk.layers.Recurrent(4, 3, nk.LIF())).eval(), _spikes(0, (5, 1, 4)))
    g.node("0").weight = np.zeros((3, 2), np.float32)
    with pytest.raises(nk.CompileError, match=r"recurrent '0': recurrent weight has shape \(3, 2\); expected \(3, 3\)"):
        quantize(g)
    with pytest.raises(ValueError, match=r"layer 'rec': weight_rec: shape \(3, 2\); a recurrent weight must be square"):
        LoihiLayer(np.ones((3, 4), int), 4096, 0, 5, name="rec", weight_rec=np.ones((3, 2), int))
    net = nk.compile(_rnet("cuba", 0), target="loihi2", example_input=_spikes(0)).artefact.net
    save_netx(net, tmp_path / "bad.net")
    with h5py.File(tmp_path / "bad.net", "r+") as f:
        del f["layer/2/weight_rec"]
        f["layer/2"].create_dataset("weight_rec", data=np.ones((7, 5), np.float32))
    with pytest.raises(NetxFormatError, match=r"layer/2/weight_rec: shape \(7, 5\); a dense_rec block's recurrent "
                                              r"weight must be square \(out, out\) = \(7, 7\)"):
        load_netx(tmp_path / "bad.net")


def test_loihi2_refuses_a_requantized_recurrent_sum_naming_the_node():
    layer = nk.layers.Recurrent(300, 300, nk.LIF(tau=4.0, decay_input=False, v_threshold=3.0))
    with torch.no_grad():
        layer.weight.abs_()
        layer.recurrent_weight.abs_()
    with pytest.raises(nk.CompileError, match=r"node '0' \(recurrent\): its accumulator W x \+ V s is requantized"):
        nk.compile(nn.Sequential(layer).eval(), target="loihi2", example_input=_spikes(1, (6, 1, 300)))
    assert isinstance(capture(nn.Sequential(layer).eval(), _spikes(1, (6, 1, 300))).node("0"), ir.Recurrent)
