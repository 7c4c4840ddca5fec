"""Loihi 2 target: netx layout and reader, weight encoding, bit-accurate simulator, core mapping, errors.

The Lava side of the parity lives in tests/test_lava_parity.py; everything here runs in the main venv.
"""
import h5py
import numpy as np
import pytest

from compile.ir import CompileError
from hw_targets.loihi2.mapping import CoreLimits, map_cores
from hw_targets.loihi2.network import LoihiLayer, LoihiNetwork, encode_weights
from hw_targets.loihi2.netx import NetxFormatError, load_netx, save_netx
from hw_targets.loihi2.simulator import simulate, synaptic_input


def _net(seed=0, delays=True, bias=False):
    rng = np.random.default_rng(seed)
    l1 = LoihiLayer(rng.integers(-60, 120, (7, 5)), 4096 if bias else 1024, 256, 90, name="fc1",
                    bias=rng.integers(-20, 20, 7) if bias else None)
    l2 = LoihiLayer(rng.integers(-100, 127, (3, 7)), 2048, 128, 60, name="fc2",
                    delay=rng.integers(0, 6, (3, 7)) if delays else None)
    return LoihiNetwork(5, [l1, l2])


# ---------------------------------------------------------------- netx layout, field by field
def test_netx_layout_matches_documented_fields(tmp_path):
    net = _net(delays=True)
    path = save_netx(net, tmp_path / "m.net", t_sample=50)
    with h5py.File(path, "r") as f:
        assert not f.attrs.keys() and set(f.keys()) == {"layer", "simulation"}
        assert sorted(f["layer"].keys()) == ["0", "1", "2"]
        g0 = f["layer/0"]
        assert g0["type"].dtype == np.dtype("S10") and g0["type"].shape == (1,) and g0["type"][0] == b"input"
        assert g0["shape"].dtype == np.int64 and g0["shape"][()].tolist() == [5]
        assert "neuron" not in g0
        for k, layer in zip(("1", "2"), net.layers):
            g = f["layer"][k]
            assert not g.attrs.keys()
            assert g["type"].dtype == np.dtype("S10") and g["type"].shape == (1,) and g["type"][0] == b"dense"
            assert g["shape"].dtype == np.int64 and g["shape"][()].tolist() == [layer.n_out]
            assert g["inFeatures"].shape == () and g["inFeatures"].dtype == np.int64
            assert g["inFeatures"][()] == layer.n_in and g["outFeatures"][()] == layer.n_out
            assert g["weight"].dtype == np.float32 and g["weight"].shape == (layer.n_out, layer.n_in)
            np.testing.assert_array_equal(g["weight"][()], layer.weight)
            n = g["neuron"]
            assert set(n.keys()) == {"type", "iDecay", "vDecay", "vThMant", "refDelay", "gradedSpike"}
            assert n["type"][()] == b"CUBA" and h5py.check_string_dtype(n["type"].dtype) is not None
            for key, val in (("iDecay", layer.i_decay), ("vDecay", layer.v_decay), ("vThMant", layer.vth_mant),
                             ("refDelay", 1)):
                assert n[key].dtype == np.int64 and n[key].shape == () and n[key][()] == val
            assert n["gradedSpike"].dtype == np.bool_ and n["gradedSpike"][()] == np.False_
        assert "delay" not in f["layer/1"]
        d = f["layer/2/delay"]
        assert d.dtype == np.float32 and d.shape == (3, 7)
        np.testing.assert_array_equal(d[()], net.layers[1].delay)
        assert f["simulation/Ts"][()] == 1 and f["simulation/tSample"][()] == 50


def test_netx_round_trip(tmp_path):
    for kw in ({"delays": True}, {"delays": False, "bias": True}):
        net = _net(3, **kw)
        back = load_netx(save_netx(net, tmp_path / "rt.net"))
        assert back.sizes == net.sizes
        for a, b in zip(net.layers, back.layers):
            np.testing.assert_array_equal(a.weight, b.weight)
            assert (a.i_decay, a.v_decay, a.vth_mant) == (b.i_decay, b.v_decay, b.vth_mant)
            assert (a.delay is None) == (b.delay is None) and (a.bias is None) == (b.bias is None)
            if a.delay is not None:
                np.testing.assert_array_equal(a.delay, b.delay)
            if a.bias is not None:
                np.testing.assert_array_equal(a.bias, b.bias)


def test_save_is_atomic_and_leaves_no_temp_on_error(tmp_path):
    net = _net()
    save_netx(net, tmp_path / "m.net")
    before = (tmp_path / "m.net").read_bytes()
    bad = LoihiNetwork(5, [LoihiLayer(np.zeros((2, 5), int), 0, 0, 1)])  # all-zero weights: netx can't encode
    with pytest.raises(ValueError, match="all-zero"):
        save_netx(bad, tmp_path / "m.net")
    assert (tmp_path / "m.net").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.net"]


# ---------------------------------------------------------------- bad input: clear errors
def test_truncated_file_error(tmp_path):
    path = save_netx(_net(), tmp_path / "m.net")
    data = path.read_bytes()
    (tmp_path / "cut.net").write_bytes(data[: len(data) // 2])
    with pytest.raises(NetxFormatError, match="cut.net.*(truncated|corrupt)"):
        load_netx(tmp_path / "cut.net")
    with pytest.raises(NetxFormatError, match="no such file"):
        load_netx(tmp_path / "missing.net")


def test_missing_field_error(tmp_path):
    path = save_netx(_net(), tmp_path / "m.net")
    with h5py.File(path, "a") as f:
        del f["layer/2/neuron/vThMant"]
    with pytest.raises(NetxFormatError, match=r"layer/2/neuron: missing dataset 'vThMant'"):
        load_netx(path)
    path = save_netx(_net(), tmp_path / "m2.net")
    with h5py.File(path, "a") as f:
        del f["layer/1/weight"]
    with pytest.raises(NetxFormatError, match=r"layer/1: missing dataset 'weight'"):
        load_netx(path)


def test_delay_of_70_error(tmp_path):
    path = save_netx(_net(), tmp_path / "m.net")
    with h5py.File(path, "a") as f:
        d = f["layer/2/delay"][()]
        d[0, 0] = 70
        f["layer/2/delay"][...] = d
    with pytest.raises(NetxFormatError, match=r"layer/2/delay: value 70 out of range, expected 0\.\.62"):
        load_netx(path)
    with pytest.raises(ValueError, match=r"delay: value 70 out of range, expected 0\.\.62"):
        LoihiLayer(np.ones((1, 2), int), 0, 0, 1, delay=np.array([[70, 0]]))


def test_field_range_errors():
    with pytest.raises(ValueError, match=r"weight: value 300 out of range, expected -256\.\.254"):
        LoihiLayer(np.array([[300]]), 0, 0, 1)
    with pytest.raises(ValueError, match=r"vThMant: value 200000 out of range"):
        LoihiLayer(np.array([[3]]), 0, 0, 200000)
    with pytest.raises(ValueError, match=r"iDecay: value 5000 out of range"):
        LoihiLayer(np.array([[3]]), 5000, 0, 1)
    with pytest.raises(ValueError, match="weight: expected integer values"):
        LoihiLayer(np.array([[0.5]]), 0, 0, 1)
    with pytest.raises(ValueError, match="bias: needs iDecay = 4096"):
        LoihiLayer(np.array([[3]]), 100, 0, 1, bias=np.array([2]))
    with pytest.raises(ValueError, match="weight has 3 inputs but the previous layer has 2"):
        LoihiNetwork(2, [LoihiLayer(np.ones((1, 3), int), 0, 0, 1)])


# ---------------------------------------------------------------- weight encoding (netx + Lava Dense)
def test_encode_weights_cases():
    # mixed: scale = min(127/6, 128/4) -> floor(log2(21.2)) + 1 = 5 -> mantissa = w << 5, exp = -5
    e = encode_weights(np.array([[6, -4], [2, 0]]))
    assert (e.weight_exp, e.sign_mode, e.mantissa.tolist()) == (-5, 1, [[192, -128], [64, 0]])
    # excitatory, max 254: no shift, 8 bits
    e = encode_weights(np.array([[254, 2]]))
    assert (e.weight_exp, e.sign_mode, e.mantissa.tolist()) == (0, 2, [[254, 2]])
    # all <= 0 with max 0 and min -64: netx calls it mixed (shift 2 -> -256, 1 weight bit); Lava's Dense sees
    # an inhibitory matrix, clips to -255 and truncates 7 bits -> -128: the effective weight is -32, not -64
    e = encode_weights(np.array([[-64, 0]]))
    assert (e.weight_exp, e.mantissa.tolist()) == (-2, [[-128, 0]])
    assert not LoihiLayer(np.array([[-64, 0]]), 0, 0, 1).exact_weights
    assert LoihiLayer(np.array([[-64, 1]]), 0, 0, 1).exact_weights
    with pytest.raises(ValueError, match="all-zero"):
        encode_weights(np.zeros((2, 2)))


# ---------------------------------------------------------------- simulator semantics
def test_single_neuron_hand_computed():
    # w=3, iDecay=2048, vDecay=1024, vth=5 (320 after << 6), input spike every step:
    # t0 a=0: u=v=0; t1 a=3: u=192 v=192; t2: u=96+192=288, v=144+288=432>320 spike -> v=0;
    # t3: u=144+192=336, v=336>320 spike
    net = LoihiNetwork(1, [LoihiLayer(np.array([[3]]), 2048, 1024, 5)])
    rec = simulate(net, np.ones((4, 1, 1)), record=True)
    assert rec.spikes[0][:, 0, 0].tolist() == [0, 0, 1, 1]
    assert rec.v_last[:, 0, 0].tolist() == [0, 192, 0, 0]


def test_latency_and_delays():
    w = np.array([[5, 7]])
    layer = LoihiLayer(w, 4096, 4096, 1000, delay=np.array([[0, 3]]))
    x = np.zeros((8, 1, 2))
    x[1, 0, :] = 1  # both inputs spike at t=1
    a = synaptic_input(layer, x)[:, 0, 0]
    assert a.tolist() == [0, 0, 5, 0, 0, 7, 0, 0]  # delay d arrives at t + 1 + d
    # latency: a 2-layer net's output at t depends on inputs up to t-2 only
    net = _net(delays=False)
    rng = np.random.default_rng(0)
    x = (rng.random((20, 2, 5)) < 0.5).astype(np.uint8)
    y = x.copy()
    y[-2:] = 1 - y[-2:]
    np.testing.assert_array_equal(simulate(net, x), simulate(net, y))


def test_simulator_rejects_non_spikes():
    with pytest.raises(ValueError, match="binary spikes"):
        simulate(_net(), np.full((3, 1, 5), 0.5))
    with pytest.raises(ValueError, match=r"expected \[T, B, 5\]"):
        simulate(_net(), np.zeros((3, 5)))


def test_batch_is_independent():
    net = _net(1)
    x = (np.random.default_rng(1).random((30, 3, 5)) < 0.4).astype(np.uint8)
    full = simulate(net, x)
    for b in range(3):
        np.testing.assert_array_equal(full[:, b:b + 1], simulate(net, x[:, b:b + 1]))


# ---------------------------------------------------------------- core mapping
def test_mapping_cores_memory_and_traffic():
    net = _net(delays=True)
    cm = map_cores(net)
    rep = cm.report()
    assert rep["cores_used"] == 2 and [c["neurons"] for c in rep["per_core"]] == [7, 3]
    bits2 = net.layers[1].synapse.num_weight_bits + 6  # delays cost 6 bits per synapse
    assert rep["per_core"][1]["synapse_bytes"] == -(-3 * 7 * bits2 // 8)
    # neuron limit splits a layer; synapse memory limit splits it further
    big = LoihiNetwork(4, [LoihiLayer(np.ones((10, 4), int) * 3, 4096, 0, 1)])
    assert map_cores(big, CoreLimits(neurons_per_core=4)).cores_used == 3
    bits = big.layers[0].synapse.num_weight_bits
    assert map_cores(big, CoreLimits(synapse_bits_per_core=4 * bits * 5)).cores_used == 2
    # traffic: one input spike of neuron 0 reaches both cores of layer 1 (two messages)
    cm = map_cores(big, CoreLimits(neurons_per_core=5))
    x = np.zeros((3, 1, 4))
    x[0, 0, 0] = 1
    out = simulate(big, x, record=True)
    tr = cm.traffic(x, out.spikes)
    assert tr["per_boundary"] == [2.0] and tr["from_host"] == 2.0


def test_mapping_errors_name_layer_and_limit():
    net = LoihiNetwork(5000, [LoihiLayer(np.ones((2, 5000), int), 0, 0, 1, name="wide")])
    with pytest.raises(CompileError, match="'wide' has fan-in 5000 > 4096"):
        map_cores(net)
    net = LoihiNetwork(8, [LoihiLayer(np.ones((300, 8), int), 0, 0, 1, name="huge")])
    with pytest.raises(CompileError, match="model too large: needs 3 neuro-cores, the target has 2"):
        map_cores(net, CoreLimits(neurons_per_core=100, cores_per_chip=2))
    with pytest.raises(CompileError, match="'huge': one neuron needs"):
        map_cores(net, CoreLimits(synapse_bits_per_core=4))


# ---------------------------------------------------------------- nk.compile(target="loihi2")
import torch
from torch import nn

import neurokit as nk
from compile.integer_sim import run as integer_reference
from neurokit.layers.delays import DelayedLinear
from neurokit.models import round_delays


def _x(seed, T=40, B=2, n=10):
    return (torch.rand(T, B, n, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


def _models():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    yield "cuba", nn.Sequential(nn.Linear(10, 12, bias=False), nk.CubaLIF(tau_syn=4.0, tau_mem=8.0, v_threshold=0.5),
                                nn.Linear(12, 4, bias=False), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3))
    yield "delay", round_delays(nn.Sequential(DelayedLinear(10, 12, max_delay=9, generator=g),
                                              nk.LIF(tau=4.0, decay_input=False, v_threshold=0.4),
                                              DelayedLinear(12, 4, max_delay=9, generator=g),
                                              nk.LIF(tau=2.0, decay_input=False, v_threshold=0.3)))
    yield "readout", nn.Sequential(nn.Linear(10, 12, bias=False), nk.LIF(tau=3.0, v_threshold=0.2),
                                   nn.Linear(12, 4, bias=True))


@pytest.mark.parametrize("seed", [0, 1])
def test_loihi_equals_integer_reference_shifted_by_latency(seed):
    for name, model in _models():
        x = _x(seed)
        cm = nk.compile(model, target="loihi2", example_input=x)
        L = cm.artefact.latency
        out, ref = cm.run(x).numpy(), integer_reference(cm.graph, x)
        assert out.dtype == np.int64 and out.shape == ref.shape, name
        assert np.any(ref), name
        np.testing.assert_array_equal(out[L:], ref[:-L], err_msg=name)
        if name == "readout":  # the accumulator v >> 6; Lava adds the bias from step 0, before any input arrives
            assert cm.artefact.net.readout
            bias = cm.graph.nodes[-1].quant.bias
            assert np.any(bias) and (out[:L] == bias).all()
        else:
            assert not out[:L].any(), name


def test_saved_file_reloads_and_simulates_identically(tmp_path):
    for name, model in _models():
        x = _x(5)
        cm = nk.compile(model, target="loihi2", example_input=x)
        cm.save(tmp_path / f"{name}.net")
        net = load_netx(tmp_path / f"{name}.net")
        assert net.readout == (name == "readout")
        rec = simulate(net, x.numpy(), record=True)
        got = rec.v_last >> 6 if net.readout else rec.spikes[-1]
        np.testing.assert_array_equal(got, cm.run(x).numpy(), err_msg=name)


def test_compile_report_has_cores_encoding_and_traffic():
    _, model = next(_models())
    x = _x(1)
    cm = nk.compile(model, target="loihi2", example_input=x)
    cm.run(x)
    rep = cm.report()
    assert rep["target"] == "loihi2" and rep["cores"] == 2 == rep["core_map"]["cores_used"] and rep["latency_steps"] == 2
    assert [layer["iDecay"] for layer in rep["loihi_layers"]] == [1024, 2048]  # round(4096 / tau_syn)
    tr = rep["spike_traffic"]
    assert tr["total"] == sum(tr["per_boundary"]) and tr["from_host"] == float(x.sum() / 2)  # B = 2, layer 1 on one core


def test_compile_errors_name_layer_and_reason():
    x = _x(0)
    g = torch.Generator().manual_seed(0)
    far = round_delays(nn.Sequential(DelayedLinear(10, 4, max_delay=70, mode="random", generator=g), nk.LIF()))
    far[0].delay.data[0, 0] = 70
    with pytest.raises(CompileError, match=r"node '0' \(dense\): delays span 0\.\.70; this target supports 0\.\.62"):
        nk.compile(far, target="loihi2", example_input=x)
    conv = nn.Sequential(nk.layers.Conv2d(1, 2, 3), nk.LIF())
    with pytest.raises(CompileError, match=r"loihi2: node '0' \(conv\): netx conv blocks"):
        nk.compile(conv, target="loihi2", example_input=(torch.rand(4, 1, 1, 5, 5) < 0.5).float())
    soft = nn.Sequential(nn.Linear(10, 3), nk.LIF(v_reset=None))
    with pytest.raises(CompileError, match="soft reset not supported"):
        nk.compile(soft, target="loihi2", example_input=x)
    with pytest.raises(CompileError, match="Loihi inputs are binary spikes"):
        nk.compile(nn.Sequential(nn.Linear(10, 3), nk.LIF()), target="loihi2", example_input=torch.rand(4, 1, 10))
    big = nn.Sequential(nn.Linear(10, 300), nk.LIF())
    with pytest.raises(CompileError, match="model too large: needs 3 neuro-cores, the target has 2"):
        nk.compile(big, target="loihi2", example_input=x,
                   core_limits=CoreLimits(neurons_per_core=100, cores_per_chip=2))
    with pytest.raises(CompileError, match=r"'mask' \(SpikeMask\): attention multiplies two activation tensors"):
        nk.compile(_Mask(), target="loihi2", example_input=(torch.rand(4, 1, 3, 10) < 0.5).float())


class _Mask(nn.Module):
    """Spike x spike product (SDSA-style mask): Loihi synapses cannot multiply two activations."""

    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(10, 10), nn.Linear(10, 10)
        self.lq, self.lk, self.mask = nk.LIF(), nk.LIF(), nk.layers.SpikeMask()

    def forward(self, x):
        return self.mask(self.lq(self.q(x)), self.lk(self.k(x)))


def test_lowering_rejects_what_lava_cannot_represent():
    from compile.capture import capture
    from compile.passes import quantize
    from hw_targets.loihi2.lowering import lower

    x = _x(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 6, bias=False), nk.LIF(tau=2.0))
    with pytest.raises(CompileError, match=r"node '1' \(neuron\): per-neuron thresholds .* one threshold per layer"):
        lower(quantize(capture(model, x), per_channel=True))
    with pytest.raises(CompileError, match=r"node '0' \(dense\): its accumulator is requantized"):
        lower(quantize(capture(model, x), per_channel=False, acc_bits=4))
    cuba_bias = nn.Sequential(nn.Linear(10, 6), nk.CubaLIF(tau_syn=2.0, tau_mem=2.0))
    with pytest.raises(CompileError, match=r"node '0' \(dense\): a bias with a decaying synaptic current"):
        lower(quantize(capture(cuba_bias, x), per_channel=False))
