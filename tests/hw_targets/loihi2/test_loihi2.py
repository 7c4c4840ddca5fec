"""Loihi 2 target: netx layout and reader, weight encoding, bit-accurate simulator, core mapping, errors.

The Lava side of the parity lives in tests/hw_targets/loihi2/test_lava_parity.py, nk.compile(target="loihi2") in
tests/hw_targets/loihi2/test_loihi2_compile.py; everything here runs in the main venv.
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
    with pytest.raises(ValueError, match=r"vThMant: value 33554432 out of range"):  # Lava's vth << 6 is int32
        LoihiLayer(np.array([[3]]), 0, 0, 1 << 25)
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
