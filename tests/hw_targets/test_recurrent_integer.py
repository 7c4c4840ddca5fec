"""Recurrent layers in integers: the integer reference (compile.integer_sim, the recurrent input is the previous
step's integer spikes) and the onnx_int lowering (s[t-1] as Loop state), bit-identical to it in onnxruntime."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import integer_sim, ir
from compile.capture import capture
from compile.passes import quantize

torch.set_num_threads(1)


def _rnet(neuron, seed, n_in=6, hidden=(10, 7), bias=True):
    """rsnn with random recurrent biases (the preset has none)."""
    net = nk.models.rsnn(in_features=n_in, hidden=hidden, num_classes=3, neuron=neuron, v_threshold=0.3, bias=bias,
                         seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    for block in net.hidden:
        layer = block[0]
        layer.recurrent_bias = nn.Parameter(torch.rand(layer.out_features, generator=g) * 0.1) if bias else None
    return net.eval()


def _spikes(seed, shape=(30, 2, 6), p=0.3):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def test_integer_reference_feeds_back_the_previous_steps_integer_spikes():
    # neuron 0 is driven by the input; neuron 1 only by neuron 0's spike of the step before (V[1, 0])
    layer = nk.layers.Recurrent(1, 2, nk.IF(v_threshold=0.5))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0], [0.0]]))
        layer.recurrent_weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    x = torch.zeros(6, 1, 1)
    x[0] = x[3] = 1.0
    gq = quantize(capture(nn.Sequential(layer).eval(), x))
    s = integer_sim.run(gq, x)[:, 0]
    assert s[:, 0].tolist() == [1, 0, 0, 1, 0, 0]      # the input spikes at t = 0 and 3
    assert s[:, 1].tolist() == [0, 1, 0, 0, 1, 0]      # one step after neuron 0: s[t-1], s[-1] = 0
    with torch.no_grad():
        assert torch.equal(layer(x)[:, 0].long(), torch.from_numpy(s))   # and the float layer agrees


@pytest.mark.parametrize("neuron", ["cuba", "lif"])
def test_integer_reference_tracks_the_float_layer(neuron):
    net, x = _rnet(neuron, 0), _spikes(0)
    gq = quantize(capture(net, x))
    rec = gq.node("hidden.0.0")
    ff = gq.node("hidden.0.0.ff").quant
    joint = np.hstack([ff.weight, rec.quant.weight])            # one 8-bit unit per row for [W | V]
    assert rec.quant.weight.shape == (10, 10) and (np.abs(joint).max(1) == 127).all() and ff.requant is None
    _, vals = integer_sim.run(gq, x, record=True)
    with torch.no_grad():
        ref = net.hidden[0](x).numpy()
    assert (vals["hidden.0.0"] == ref).mean() > 0.95


def test_real_valued_input_rescales_the_feed_forward_sum_and_requantizes_the_total():
    layer = nk.layers.Recurrent(64, 8, nk.CubaLIF(tau_syn=3.0, tau_mem=6.0, v_threshold=0.5), bias=True)
    with torch.no_grad():
        layer.recurrent_weight.mul_(40.0)                  # V's unit much coarser than W's: W x is rescaled into it
    net, x = nn.Sequential(layer).eval(), torch.rand(12, 2, 64) * 2 - 1   # real-valued int8 input, fan-in 64
    cm = nk.compile(net, target="onnx_int", example_input=x)
    ff, rec = cm.graph.node("0.ff").quant, cm.graph.node("0").quant
    assert ff.requant is not None and (ff.requant.multiplier < 2 ** 16).all()
    np.testing.assert_allclose(ff.acc_scale, ff.in_scale * ff.scale * 2 ** 16 / ff.requant.multiplier)
    np.testing.assert_allclose(rec.scale, ff.acc_scale)               # V_int in the rescaled unit, exactly
    assert np.abs(rec.weight).max() <= 127 and rec.acc_max.max() <= 2 ** 15 - 1
    ref = integer_sim.run(cm.graph, x)
    assert ref.any() and np.array_equal(cm.run(x).numpy(), ref)
    with torch.no_grad():
        assert (net(x).numpy() == ref).mean() > 0.9


def test_a_sum_beyond_16_bits_is_requantized_on_the_recurrent_node():
    layer = nk.layers.Recurrent(300, 300, nk.LIF(tau=4.0, decay_input=False, v_threshold=3.0))
    with torch.no_grad():                                 # excitatory: 600 inputs of ~64 each can add up
        layer.weight.abs_()
        layer.recurrent_weight.abs_()
    net, x = nn.Sequential(layer).eval(), _spikes(2, (10, 2, 300), 0.5)
    cm = nk.compile(net, target="onnx_int", example_input=x)
    rec = cm.graph.node("0").quant
    assert rec.requant is not None and cm.graph.node("0.ff").quant.requant is None
    assert any("recurrent '0'" in w and "requantized" in w for w in cm.graph.warnings)
    ref = integer_sim.run(cm.graph, x)
    assert ref.any() and np.array_equal(cm.run(x).numpy(), ref)


@pytest.mark.parametrize("neuron", ["cuba", "lif"])
def test_onnx_int_is_bit_identical_to_the_integer_reference(neuron):
    for seed in range(3):
        net, x = _rnet(neuron, seed), _spikes(seed)
        for opts in ({}, {"time_loop": "unrolled"}, {"per_channel": False}):
            cm = nk.compile(net, target="onnx_int", example_input=x, **opts)
            y, (ref, vals) = cm.run(x).numpy(), integer_sim.run(cm.graph, x, record=True)
            assert vals["hidden.0.0"].any() and vals["hidden.1.0"].any(), (seed, opts)
            assert np.array_equal(y, ref), (neuron, seed, opts)
            ops = cm.report()["onnx_ops"]
            unrolled = opts.get("time_loop") == "unrolled"        # 5 products per step (ff + V twice, readout)
            assert ("Loop" in ops) != unrolled and ops["MatMulInteger"] == (30 * 5 if unrolled else 5)


def test_onnx_loop_carries_the_spikes_and_any_T():
    net = nn.Sequential(nk.layers.Recurrent(6, 5, nk.LIF(tau=4.0, v_threshold=0.3, v_reset=None), bias=True)).eval()
    cm = nk.compile(net, target="onnx_int", example_input=_spikes(1))
    assert "Loop" in cm.report()["onnx_ops"]
    for T in (7, 45):
        x = _spikes(T, (T, 3, 6))
        ref = integer_sim.run(cm.graph, x)
        assert ref.any() and np.array_equal(cm.run(x).numpy(), ref)      # output = the recurrent spikes themselves


def test_onnx_int_refuses_recurrent_alif_with_the_reason():
    with pytest.raises(nk.CompileError, match=r"node 'hidden.0.0' \(recurrent, kind 'alif'\).*adaptive threshold"):
        nk.compile(_rnet("alif", 0), target="onnx_int", example_input=_spikes(0))


@pytest.mark.parametrize("target", ["onnx_int", "loihi2"])
def test_compiled_energy_counts_the_recurrent_synapse_on_the_previous_steps_integer_spikes(target):
    from hw_targets.energy.compiled import compiled_counts
    from hw_targets.energy.counting import count_events

    layer = nk.layers.Recurrent(6, 5, nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.4))
    with torch.no_grad():
        layer.recurrent_weight.mul_(3.0)
    net, x = nn.Sequential(layer).eval(), _spikes(4, (20, 2, 6), 0.5)
    cm = nk.compile(net, target=target, example_input=x)
    counts, info = compiled_counts(cm, x)
    s = cm.run(x).numpy()
    prev = np.concatenate([np.zeros_like(s[:1]), s[:-1]])
    rec = counts.layer("0.recurrent")
    nonzero = (cm.graph.node("0").quant.weight != 0).sum(0)          # fan-out of each presynaptic neuron
    assert s.any() and rec.synops.sum() == (prev * nonzero).sum() and info["weight_bits"]["0.recurrent"] == 8
    assert counts.layer("0.neuron").spikes.sum() == s.sum()
    eager = count_events(net, x)                                      # same layer names as the eager count
    assert {lc.name for lc in eager.layers} == {lc.name for lc in counts.layers}


def _random_recurrent_graph(seed):
    """A hand-built quantized IR in Lava's format: spikes -> (dense + recurrent CUBA cell) x 1..2, random integer
    W and V in [-8, 8] (V may be all zero in a row), random decays and one threshold per layer."""
    from neurokit import integer

    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(3, 7))] + [int(rng.integers(2, 7)) for _ in range(int(rng.integers(1, 3)))]
    nodes, prev = [ir.Input("input", (), (sizes[0],), spikes=True, scale=1.0)], "input"
    for i, (n_in, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w, v = rng.integers(-4, 9, size=(n, n_in)), rng.integers(-8, 9, size=(n, n))
        w[0, 0] = w[0, 0] or 5
        bound = np.abs(w).sum(1) + np.abs(v).sum(1)
        ones = np.ones(n)
        ff = ir.Dense(f"r{i}.ff", (prev,), (n,), weight=w.astype(np.float32),
                      quant=ir.QuantSynapse(8, w, ones, 1.0, None, None, ones, 1, np.abs(w).sum(1)))
        p = integer.IntNeuronParams(int(rng.integers(0, 4097)), int(rng.integers(0, 4097)),
                                    np.full(n, int(rng.integers(1, 12))))
        cell = ir.Neuron(f"r{i}.neuron", (), (n,), kind="cuba", integer=p)
        nodes += [ff, ir.Recurrent(f"r{i}", (ff.name,), (n,), weight=v.astype(np.float32), cell=cell,
                                   quant=ir.QuantSynapse(8, v, ones, 1.0, None, None, ones, 1, bound))]
        prev = f"r{i}"
    g = ir.Graph(nodes)
    g.scales = {n.name: 1.0 for n in g}
    x = (rng.random((12, 2, sizes[0])) < 0.6).astype(np.float32)
    return g, x


def test_integer_sim_onnx_and_loihi_simulator_agree_on_60_random_integer_recurrent_networks():
    import json

    import onnx

    from hw_targets.loihi2.lowering import lower as loihi_lower
    from hw_targets.loihi2.simulator import simulate
    from hw_targets.onnx_int import OnnxProgram
    from hw_targets.onnx_lower import lower as onnx_lower

    active = 0
    for seed in range(60):
        g, x = _random_recurrent_graph(seed)
        ref = integer_sim.run(g, x)
        model = onnx_lower(g)
        onnx.helper.set_model_props(model, {"neurokit.input_shape": json.dumps(list(g.input.shape))})
        np.testing.assert_array_equal(OnnxProgram(model).run(torch.from_numpy(x)).numpy(), ref, err_msg=f"{seed}")
        np.testing.assert_array_equal(simulate(loihi_lower(g), x).astype(np.int64),
                                      integer_sim.run(g, x, latency=1), err_msg=f"seed {seed}: loihi")
        active += bool(ref.any()) and not ref.all()
    assert active > 30
