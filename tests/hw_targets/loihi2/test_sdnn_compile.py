"""``nk.compile(eager sigma-delta model, target="loihi2")``: netx SDNN blocks whose bit-accurate run equals the
integer reference with Lava's one-step synaptic latency (every graded message), whose saved ``.net`` reads back as the
same network and runs in Lava's ``fixed_pt`` simulation message for message; refusals for what netx cannot hold;
messages (not payload values) in the core traffic; energy counted from the Loihi network."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import integer_sim
from hw_targets.energy import estimate
from hw_targets.energy.graded import network_counts
from hw_targets.loihi2 import load_netx, run_lava, simulate
from neurokit.neurons.sigma_delta import Sigma, SigmaDelta


def _cnn(seed=0):
    torch.manual_seed(seed)
    return nk.models.sdnn_cnn(in_channels=1, n_out=3, in_hw=(8, 8), channels=(4,), hidden=8, threshold=4 / 64,
                              scale=64)


def _mlp(seed=1):
    torch.manual_seed(seed)
    ann = nn.Sequential(nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 2, bias=False))
    return nk.models.ann_to_sdnn(ann, threshold=2 / 64, input_threshold=1 / 64, scale=64)


def _frames(shape, T=10, seed=0):
    """Slowly changing frames: a static image plus a drift, so the deltas are sparse but graded."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(shape, generator=g)
    drift = torch.linspace(0, 0.5, T).reshape(T, *[1] * len(shape))
    return (base + drift * torch.rand(shape, generator=g)).clamp(0, 1)


def _compile(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # the Sigma read-out's host bias (tested below)
        return nk.compile(model, target="loihi2", example_input=x)


@pytest.mark.lava
def test_compiled_sdnn_equals_integer_reference_file_and_lava(tmp_path):
    jobs, cms = [], []
    for name, model, x in (("cnn", _cnn(), _frames((2, 1, 8, 8))), ("mlp", _mlp(), _frames((3, 12), T=12))):
        cm = _compile(model, x)
        y = cm.run(x)
        ref, vals = integer_sim.run(cm.graph, x, latency=1, record=True)
        np.testing.assert_array_equal(y.numpy(), ref, err_msg=name)
        net = cm.artefact.net
        rec = cm.artefact.last_run
        sd_nodes = [n.name for n in cm.graph.nodes if n.op in ("sigma_delta", "sigma")]
        assert len(sd_nodes) == len(rec.spikes)
        bias = 0 if cm.artefact.readout_bias is None else cm.artefact.readout_bias.reshape(-1)
        for node, ours in zip(sd_nodes, rec.spikes):      # every unit's messages (the read-out's sigma), every step
            extra = bias if cm.graph.node(node).op == "sigma" else 0
            np.testing.assert_array_equal(ours + extra, vals[node].reshape(ours.shape), err_msg=f"{name}: {node}")
        hidden = rec.spikes[1]
        assert (hidden == 0).any() and np.abs(hidden).max() > 1, f"{name}: no thresholded graded messages"
        path = tmp_path / f"{name}.net"
        cm.save(path)
        back = load_netx(path)
        assert [la.sdnn for la in back.layers] == [la.sdnn for la in net.layers]
        assert back.input_layer.sdnn == net.input_layer.sdnn
        for la, lb in zip(net.layers, back.layers):
            np.testing.assert_array_equal(la.weight, lb.weight)
            assert (la.bias is None) == (lb.bias is None) and (la.bias is None or np.array_equal(la.bias, lb.bias))
        xi = integer_sim.quantize_input(cm.graph.input, x)
        xi = xi.reshape(xi.shape[0], xi.shape[1], -1)
        file_run = simulate(back, xi, record=True)
        np.testing.assert_array_equal(file_run.spikes[-1] + bias, y.numpy(), err_msg=name)
        jobs.append((path, xi))
        cms.append((name, file_run))
    for (name, ours), res in zip(cms, run_lava(jobs)):
        assert len(res.spikes) == len(ours.spikes), name
        for i, (a, b) in enumerate(zip(ours.spikes, res.spikes)):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}: block {i} messages")
        np.testing.assert_array_equal(ours.v_last, res.v_last, err_msg=f"{name}: sigma")


def test_quantized_thresholds_biases_and_weights_are_netx_mantissas():
    model, x = _cnn(), _frames((2, 1, 8, 8))
    cm = _compile(model, x)
    net = cm.artefact.net
    assert net.input_layer.sdnn.kind == "delta" and [la.sdnn.kind for la in net.layers] == ["sigma_delta"] * 2 + [
        "sigma"]
    assert [la.sdnn.vth_mant for la in net.layers[:2]] == [4, 4]          # threshold 4/64 at scale 64
    s_x = float(cm.graph.input.scale)
    assert cm.graph.node("0").op == "sigma_delta" and net.input_layer.sdnn.vth_mant == round(4 / 64 / s_x)
    w1 = model[1].weight.detach().double().numpy()                         # into a scale-64 unit, from the input
    np.testing.assert_array_equal(net.layers[0].weight, np.round(w1 / (2 ** -18 / (s_x / 64))))
    b1 = model[2].bias.detach().double().numpy()
    np.testing.assert_array_equal(net.layers[0].bias, np.round(b1 * 64))    # netx bias mantissa: units of 1/64
    rep = cm.report()
    assert [r["sdnn"] for r in rep["loihi_layers"]] == ["sigma_delta", "sigma_delta", "sigma"]
    assert rep["loihi_layers"][0]["vThMant"] == 4


def test_sigma_readout_bias_is_added_on_the_host_with_one_warning():
    model, x = _cnn(), _frames((2, 1, 8, 8))
    with pytest.warns(UserWarning, match=r"sigma read-out '7': Lava's Sigma has no bias; cm.run adds"):
        cm = nk.compile(model, target="loihi2", example_input=x)
    assert cm.artefact.readout_bias is not None and np.any(cm.artefact.readout_bias)
    assert any("Lava's Sigma has no bias" in w for w in cm.report()["warnings"])


def test_traffic_counts_graded_messages_not_their_values():
    model, x = _mlp(), _frames((3, 12), T=12)
    cm = _compile(model, x)
    cm.run(x)
    prog = cm.artefact
    rec = prog.last_run
    traffic = prog.report()["spike_traffic"]
    as_events = prog.cores.traffic(rec.spikes[0] != 0, [s != 0 for s in rec.spikes[1:]])   # input Delta first
    assert traffic == as_events and traffic["total"] > 0
    assert traffic["total"] < sum(float(np.abs(s).sum()) for s in rec.spikes[:-1]) / x.shape[1]


def test_energy_of_a_compiled_sdnn_counts_its_loihi_messages():
    model, x = _mlp(), _frames((3, 12), T=12)
    cm = _compile(model, x)
    rep = nk.energy(cm, x, target="loihi2")
    xi = integer_sim.quantize_input(cm.graph.input, x)
    direct = estimate(network_counts(cm.artefact.net, xi.reshape(*xi.shape[:2], -1)), "loihi2",
                      info={"cores": cm.report()["cores"]})            # the network's messages, on the mapped cores
    assert rep.total_j == direct.total_j and rep.total_j > 0
    assert rep.to_dict()["counts"] == direct.to_dict()["counts"]


def _sd(*mods):
    return nn.Sequential(SigmaDelta(1 / 64, activation="identity", sigma=False, scale=64), *mods)


@pytest.mark.parametrize("model, match", [
    (_sd(nn.Linear(4, 3), SigmaDelta(1 / 64, scale=64), nn.Linear(3, 2, bias=False), Sigma()),
     r"node '1' \(dense\): a synapse bias into sigma-delta unit '2' is integrated every step"),
    (_sd(nn.Linear(4, 3, bias=False), SigmaDelta(1 / 64, scale=64, cum_error=True), nn.Linear(3, 2, bias=False),
         Sigma()), r"node '2' \(sigma_delta\): cum_error=True"),
    (_sd(nn.Linear(4, 3, bias=False), SigmaDelta(1 / 64, activation="identity", scale=64),
         nn.Linear(3, 2, bias=False), Sigma()), r"node '2' \(sigma_delta\): activation 'identity'"),
    (_sd(nn.Linear(4, 3, bias=False), nk.LIF(), nn.Linear(3, 2, bias=False), Sigma()),
     r"node '2' \(neuron\): a spiking neuron in a sigma-delta network; netx networks are sigma-delta"),
])
def test_what_netx_cannot_hold_is_refused_naming_the_node(model, match):
    with pytest.raises(nk.CompileError, match=match):
        _compile(model, torch.rand(4, 1, 4))


def test_weights_beyond_the_netx_unit_are_refused_with_the_allowed_range():
    model = _sd(nn.Linear(4, 3, bias=False), SigmaDelta(1 / 64, scale=64), nn.Linear(3, 2, bias=False), Sigma())
    with torch.no_grad():
        model[3].weight.fill_(3.0)                                          # 192 units of 1/64 > 127
    with pytest.raises(nk.CompileError, match=r"node '3' \(dense\): weights up to \|w\| = 3 into sigma-delta unit "
                                              r"'4'.*\|w\| <= 1\.984 fits 8-bit weights"):
        _compile(model, torch.rand(4, 1, 4))


def test_a_conv_accumulation_lava_wraps_is_reported_at_run_time():
    model = nn.Sequential(SigmaDelta(0.0, activation="identity", sigma=False, scale=64),
                          nk.layers.Conv2d(1, 1, 3, bias=False), SigmaDelta(1 / 64, scale=64), nk.layers.Flatten(),
                          nn.Linear(16, 2, bias=False), Sigma())
    with torch.no_grad():
        model[1].weight.fill_(4.3)                       # 125 units; 9 inputs of message 127 << 6 exceed 2**23
        model[4].weight.fill_(0.5)
    x = torch.full((3, 1, 1, 6, 6), 0.9)                 # real-valued: input unit 0.9 / 127, integers 127
    cm = _compile(model, x)
    assert int(cm.artefact.net.layers[0].weight.max()) == 125
    with pytest.warns(RuntimeWarning, match=rf"conv block '1': its accumulation at step 0 reached {9 * 125 * 8128} and "
                                            r"Lava's Conv wrapped it at 24 bits"):
        cm.run(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        cm.run(x * 0.5)                                   # half the messages: no wrap, no warning
