"""Loihi 2 conv blocks on hand-built networks: netx ``conv`` / ``flatten`` layout field by field, reader and its
errors, the simulator's conv synapse against an explicit loop, core mapping of conv layers. (Compiled conv
networks: tests/hw_targets/loihi2/test_loihi2_compile.py; the real Lava: tests/hw_targets/loihi2/test_lava_parity.py.)
"""
import h5py
import numpy as np
import pytest

from compile.ir import CompileError
from hw_targets.loihi2.mapping import CoreLimits, map_cores
from hw_targets.loihi2.network import ConvGeometry, LoihiLayer, LoihiNetwork
from hw_targets.loihi2.netx import NetxFormatError, load_netx, save_netx
from hw_targets.loihi2.simulator import simulate, synaptic_input


def _conv_net(seed=0):
    """(2, 5, 7) input -> conv (3, 2) kernel, stride (1, 2), padding (1, 0), per-channel bias -> (4, 5, 3)
    -> grouped dilated conv -> (6, 5, 3) -> flatten -> dense 3."""
    rng = np.random.default_rng(seed)
    c1 = LoihiLayer(rng.integers(-80, 120, (4, 2, 3, 2)), 4096, 512, 40, bias=rng.integers(-9, 9, 4), name="c1",
                    conv=ConvGeometry((2, 5, 7), stride=(1, 2), padding=(1, 0)))
    c2 = LoihiLayer(rng.integers(-60, 127, (6, 2, 3, 3)), 1024, 256, 1500, name="c2",
                    conv=ConvGeometry((4, 5, 3), padding=(2, 1), dilation=(2, 1), groups=2))
    fc = LoihiLayer(rng.integers(-100, 127, (3, 90)), 2048, 128, 4000, name="fc")
    return LoihiNetwork(70, [c1, c2, fc])


def test_netx_conv_layout_matches_slayer_export_and_netx_reader(tmp_path):
    net = _conv_net()
    c1, c2, _ = net.layers
    assert (c1.out_shape, c2.out_shape) == ((4, 5, 3), (6, 5, 3))
    with h5py.File(save_netx(net, tmp_path / "c.net"), "r") as f:
        assert sorted(f["layer"].keys()) == ["0", "1", "2", "3", "4"]
        assert f["layer/0/type"][0] == b"input" and f["layer/0/shape"][()].tolist() == [2, 5, 7]  # (C, H, W)
        for k, layer in (("1", c1), ("2", c2)):
            g = f["layer"][k]
            assert not g.attrs.keys()
            assert g["type"].dtype == np.dtype("S10") and g["type"].shape == (1,) and g["type"][0] == b"conv"
            assert set(g.keys()) == {"type", "shape", "inChannels", "outChannels", "kernelSize", "stride", "padding",
                                     "dilation", "groups", "weight", "neuron"} | ({"bias"} if k == "1" else set())
            assert g["shape"].dtype == np.int64 and g["shape"][()].tolist() == list(layer.out_shape)
            for key, val in (("inChannels", layer.conv.in_shape[0]), ("outChannels", layer.out_shape[0]),
                             ("groups", layer.conv.groups)):
                assert g[key].dtype == np.int64 and g[key].shape == () and g[key][()] == val
            for key, val in (("kernelSize", layer.weight.shape[2:]), ("stride", layer.conv.stride),
                             ("padding", layer.conv.padding), ("dilation", layer.conv.dilation)):
                assert g[key].dtype == np.int64 and g[key][()].tolist() == list(val), key  # (h, w)
            # PyTorch's kernel (C_out, C_in / groups, kH, kW); netx flips and transposes it to Lava's (C_out, kW, kH,
            # C_in)
            assert g["weight"].dtype == np.float32 and g["weight"].shape == layer.weight.shape
            np.testing.assert_array_equal(g["weight"][()], layer.weight)
            n = g["neuron"]
            assert set(n.keys()) == {"type", "iDecay", "vDecay", "vThMant", "refDelay", "gradedSpike"}
            assert (n["iDecay"][()], n["vDecay"][()], n["vThMant"][()]) == (layer.i_decay, layer.v_decay,
                                                                           layer.vth_mant)
        b = f["layer/1/bias"]
        assert b.dtype == np.float32 and b.shape == (4,)
        np.testing.assert_array_equal(b[()], c1.bias)
        fl = f["layer/3"]
        assert set(fl.keys()) == {"type", "shape"} and fl["type"][0] == b"flatten"
        assert fl["shape"].dtype == np.int64 and fl["shape"][()].tolist() == [90, 1, 1]
        d = f["layer/4"]
        assert d["type"][0] == b"dense" and d["weight"].shape == (3, 90) and d["inFeatures"][()] == 90


def test_conv_round_trip_and_same_run(tmp_path):
    net = _conv_net(1)
    back = load_netx(save_netx(net, tmp_path / "c.net"))
    assert back.sizes == net.sizes == [70, 60, 90, 3] and back.in_shape == (2, 5, 7)
    for a, b in zip(net.layers, back.layers):
        assert a.conv == b.conv
        np.testing.assert_array_equal(a.weight, b.weight)
    x = (np.random.default_rng(0).random((40, 2, 70)) < 0.4).astype(np.uint8)
    ra, rb = simulate(net, x, record=True), simulate(back, x, record=True)
    for a, b in zip(ra.spikes, rb.spikes):
        np.testing.assert_array_equal(a, b)
    assert all(0 < s.mean() < 0.9 for s in ra.spikes)


def test_conv_synapse_equals_explicit_cross_correlation_one_step_late():
    """a_in[t, o, y, x] = sum_{c, i, j} w[o, c, i, j] s[t - 1, c, y*sh - ph + i*dh, x*sw - pw + j*dw] (PyTorch's
    cross-correlation on (C, H, W), weights as stored, no exponent), grouped."""
    layer = _conv_net(2).layers[1]
    g, w = layer.conv, layer.weight
    s = (np.random.default_rng(1).random((5, 2, layer.n_in)) < 0.5).astype(np.float64)
    a = synaptic_input(layer, s)
    assert a.dtype == np.int64 and not a[0].any()
    C, H, W = g.in_shape
    Co, Ho, Wo = layer.out_shape
    x = s.reshape(5, 2, C, H, W)
    want = np.zeros((5, 2, Co, Ho, Wo), np.int64)
    cg, og = C // g.groups, Co // g.groups
    for o in range(Co):
        for c in range(cg):
            ci = (o // og) * cg + c
            for i in range(w.shape[2]):
                for j in range(w.shape[3]):
                    for yo in range(Ho):
                        for xo in range(Wo):
                            y = yo * g.stride[0] - g.padding[0] + i * g.dilation[0]
                            xx = xo * g.stride[1] - g.padding[1] + j * g.dilation[1]
                            if 0 <= y < H and 0 <= xx < W:
                                want[1:, :, o, yo, xo] += w[o, c, i, j] * x[:-1, :, ci, y, xx].astype(np.int64)
    np.testing.assert_array_equal(a, want.reshape(5, 2, -1))


def test_conv_layer_and_reader_errors(tmp_path):
    w = np.ones((4, 1, 3, 3), int)
    with pytest.raises(ValueError, match="netx conv blocks ignore synaptic delays"):
        LoihiLayer(w, 0, 0, 1, delay=np.zeros((4, 1, 3, 3)), conv=ConvGeometry((1, 8, 8)))
    with pytest.raises(ValueError, match=r"weight \(4, 1, 3, 3\) does not fit input \(2, 8, 8\)"):
        LoihiLayer(w, 0, 0, 1, conv=ConvGeometry((2, 8, 8)))
    with pytest.raises(ValueError, match=r"bias: shape \(256,\), expected \(4,\)"):
        LoihiLayer(w, 4096, 0, 1, bias=np.ones(256, int), conv=ConvGeometry((1, 8, 8), padding=(1, 1)))
    dense = LoihiLayer(np.ones((64, 5), int), 0, 0, 1)
    with pytest.raises(ValueError, match="a conv block reads the input or a conv block's map"):
        LoihiNetwork(5, [dense, LoihiLayer(w, 0, 0, 1, conv=ConvGeometry((1, 8, 8), padding=(1, 1)))])
    path = save_netx(_conv_net(), tmp_path / "c.net")
    with h5py.File(path, "a") as f:
        del f["layer/3"]  # the flatten block
        f.move("layer/4", "layer/3")
    with pytest.raises(NetxFormatError, match=r"layer/3: a dense block after a conv block needs a flatten block"):
        load_netx(path)
    path = save_netx(_conv_net(), tmp_path / "c.net")
    with h5py.File(path, "a") as f:
        del f["layer/2/shape"]
        f["layer/2/shape"] = np.array([6, 5, 4])
    with pytest.raises(NetxFormatError, match=r"layer/2/shape: \[6, 5, 4\], but the convolution gives \[6, 5, 3\]"):
        load_netx(path)
    path = save_netx(_conv_net(), tmp_path / "c.net")
    with h5py.File(path, "a") as f:
        del f["layer/1/stride"]
    with pytest.raises(NetxFormatError, match=r"layer/1: missing dataset 'stride'"):
        load_netx(path)


def test_mapping_conv_receptive_fields_fan_in_and_traffic():
    """(1, 1, 4) input, kernel (1, 2): output neuron k reads inputs k, k+1. One neuron per core: 3 cores of fan-in
    2; input 0 and 3 reach one core, inputs 1 and 2 two cores."""
    layer = LoihiLayer(np.array([[[[3, -2]]]]), 4096, 0, 1, conv=ConvGeometry((1, 1, 4)))
    net = LoihiNetwork(4, [layer])
    cm = map_cores(net, CoreLimits(neurons_per_core=1))
    rep = cm.report()
    assert rep["cores_used"] == 3 and [c["fan_in"] for c in rep["per_core"]] == [2, 2, 2]
    assert [c["synapse_bytes"] for c in rep["per_core"]] == [2, 2, 2]  # 2 synapses x 8 bits
    x = np.zeros((2, 1, 4))
    x[0, 0] = [1, 1, 0, 1]
    tr = cm.traffic(x, simulate(net, x, record=True).spikes)
    assert tr["per_boundary"] == [1.0 + 2.0 + 1.0]
    # the fan-in limit refines the slices: 3 neurons on one core need 4 inputs, on two cores at most 3
    assert map_cores(net, CoreLimits(fan_in_per_core=3)).cores_used == 2
    with pytest.raises(CompileError, match="one neuron's receptive field has 2 inputs > 1 input axons per core"):
        map_cores(net, CoreLimits(fan_in_per_core=1))
    big = LoihiNetwork(64, [LoihiLayer(np.ones((4, 1, 3, 3), int), 4096, 0, 1,
                                       conv=ConvGeometry((1, 8, 8), padding=(1, 1)))])
    assert map_cores(big).report()["per_core"][0]["fan_in"] == 64
