"""``nk.from_netx`` models re-targeted to ``onnx_int``: the integer-only ONNX model (onnxruntime) equals, bit for bit,
the from_netx model's forward, ``hw_targets.loihi2.simulate(load_netx(path), x)`` (every block's spikes, through the
integer reference ``compile.integer_sim.run(graph, x, latency=1)``) and Lava's own ``Loihi2SimCfg("fixed_pt")`` run.

Covered: netx files lava-dl's slayer writes in the test run (dense, dense with learnable axonal delays, an input-neuron
CNN), the CUBA files shipped inside lava-dl, a fine-tuned from_netx model, netx's 9-bit weights with biases and
delays, Lava's 24-bit conv wrap, save + ``hw_targets.load``, and the refusals (mixed graphs, changed integers, a bias
that could wrap the current, target ``gpu``).
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from tests.helpers.slayer_files import export_slayer_files

import hw_targets
import neurokit as nk
from compile import integer_sim
from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, load_netx, run_lava, save_netx, simulate
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files
from hw_targets.loihi2.netx import NetxUnsupportedError
from hw_targets.loihi2.netx_model import model_from_network
from hw_targets.loihi2.network import ConvGeometry
from hw_targets.loihi2.sdnn import is_sdnn

pytestmark = pytest.mark.lava


def _drive(net, steps, batch=2, seed=0):
    """``[T, B, *in_shape]``: integers 0..199 into an input neuron's ``a_in``, else 0/1 spikes at rate 0.4."""
    g = torch.Generator().manual_seed(seed)
    if net.input_layer is not None:
        return torch.randint(0, 200, (steps, batch, *net.in_shape), generator=g).double()
    return (torch.rand(steps, batch, *net.in_shape, generator=g) < 0.4).double()


def _flat(x):
    x = x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return x.reshape(x.shape[0], x.shape[1], -1).astype(np.int64)


def _assert_onnx_exact(model, net, x, label, **options):
    """ONNX == from_netx forward == simulate (last block), and the integer reference == simulate in every block;
    returns the compiled model and the ONNX output (flattened)."""
    cm = nk.compile(model, target="onnx_int", example_input=x, **options)
    out = _flat(cm.run(x))
    rec = simulate(net, _flat(x), record=True)
    np.testing.assert_array_equal(out, rec.spikes[-1], err_msg=f"{label}: ONNX vs simulate")
    np.testing.assert_array_equal(_flat(model(x)), out, err_msg=f"{label}: ONNX vs the from_netx forward")
    ref, vals = integer_sim.run(cm.graph, x, latency=1, record=True)
    np.testing.assert_array_equal(_flat(ref), out, err_msg=f"{label}: ONNX vs integer_sim")
    neurons = [vals[n.name] for n in cm.graph.nodes if n.op == "neuron"]
    assert len(neurons) == len(rec.spikes), label
    for i, (a, b) in enumerate(zip(neurons, rec.spikes)):
        np.testing.assert_array_equal(_flat(a), b, err_msg=f"{label}: block {i} spikes")
    assert sum(int(s.sum()) for s in rec.spikes[:-1] or rec.spikes) > 0, f"{label}: nothing spiked"
    return cm, out


@pytest.fixture(scope="module")
def slayer_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("slayer_netx_onnx")
    cases = export_slayer_files(out)
    assert all(cases[k]["error"] is None for k in ("dense", "dense_delay", "cnn")), cases
    return out


def test_slayer_files_on_onnx_equal_the_forward_simulate_and_lava(slayer_files):
    """dense (Affine readout), dense_delay (per-synapse delays up to ~12), cnn (input neuron on integer a_in, two conv
    blocks, flatten, dense): both time loops; the delay and CNN files also against Lava's own run."""
    T = 30
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # netx ignores the cnn's conv delays (tests/hw_targets/loihi2 checks it)
        for seed, name in enumerate(("dense", "dense_delay", "cnn")):
            path = slayer_files / f"{name}.net"
            net, model = load_netx(path), nk.from_netx(path)
            x = _drive(net, T, seed=seed)
            cm, out = _assert_onnx_exact(model, net, x, name)
            unrolled, _ = _assert_onnx_exact(model, net, x, f"{name} unrolled", time_loop="unrolled")
            assert cm.artefact.meta["neurokit.latency"] == "1"
            if name != "dense":
                runs.append((path, x[:, :1], out[:, :1]))
    assert runs[1][0].name == "cnn.net" and net.input_layer is not None and net.layers[0].conv is not None
    lava = run_lava([(p, _flat(x)) for p, x, _ in runs])
    for (p, _, out), res in zip(runs, lava):
        np.testing.assert_array_equal(out, res.spikes[-1], err_msg=f"{p.name}: ONNX vs Lava")
        assert res.spikes[-1].any(), p.name


def _shipped_cuba():
    """(label, path, netx kwargs) of every CUBA file shipped in lava-dl that from_netx reads (a refused file: the
    blocks before the one netx cannot build, as lava-dl's own test does); sigma-delta files are another model."""
    out = []
    for p in lava_dl_netx_files():
        kw = {}
        try:
            net = load_netx(p)
        except NetxUnsupportedError as e:
            k = re.search(r"num_layers=(\d+)", str(e))
            if not k:
                continue
            kw = {"num_layers": int(k.group(1))}
            net = load_netx(p, **kw)
        if not is_sdnn(net):
            out.append((f"{p.parent.name}/{p.name}", p, kw))
    return out


def test_lava_dl_shipped_cuba_files_on_onnx():
    """mnist (input neuron, a default-integrator last block: compared without it too, whose output spikes), tiny
    (input neuron, conv with biases), PilotNet LIF (a 9-block conv net with biases), ntidigits (delays up to 62)."""
    files = _shipped_cuba()
    assert {label for label, *_ in files} == {"netx/mnist.net", "netx/tiny.net", "pilotnet_lif/network.net",
                                              "ntidigits/ntidigits.net"}, files
    files.append(("netx/mnist.net num_layers=2", files[[f[0] for f in files].index("netx/mnist.net")][1],
                  {"num_layers": 2}))
    for seed, (label, path, kw) in enumerate(files):
        net, model = load_netx(path, **kw), nk.from_netx(path, **kw)
        steps = {"ntidigits.net": 70, "network.net": 5}.get(path.name, 8)
        x = _drive(net, steps, batch=1 if path.name == "network.net" else 2, seed=seed)
        _, out = _assert_onnx_exact(model, net, x, label)
        if "num_layers=2" in label:
            assert out.any(), label


def test_fine_tuned_model_on_onnx_equals_its_forward(tmp_path):
    """A few SGD steps on tiny.net's weights and biases, then onnx_int: ONNX == the tuned forward == simulate of the
    tuned file (written by target loihi2)."""
    path = next(p for p in lava_dl_netx_files() if p.name == "tiny.net")
    model = nk.from_netx(path)
    x = _drive(load_netx(path), 8)
    before = [b.synapse.int_weight().clone() for b in model[1:]] + [model[1].neuron.int_bias().clone()]
    opt = torch.optim.SGD(model.parameters(), lr=20.0)
    target = torch.full_like(model(x), 0.2)
    for _ in range(3):
        opt.zero_grad()
        ((model(x) - target) ** 2).sum().backward()
        opt.step()
    after = [b.synapse.int_weight() for b in model[1:]] + [model[1].neuron.int_bias()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))  # training changed the integers
    nk.compile(model, target="loihi2", example_input=x).save(tmp_path / "tuned.net")
    _assert_onnx_exact(model, load_netx(tmp_path / "tuned.net"), x, "fine-tuned tiny.net")


def test_nine_bit_weights_biases_delays_and_save_load(tmp_path):
    """netx's full weight range [-256, 254] (two int8 terms in ONNX), biases, per-synapse delays; ``save`` then
    ``hw_targets.load(path).run(x)`` gives the same spikes."""
    rng = np.random.default_rng(0)
    w1 = rng.integers(-256, 255, (12, 10))
    w1[0, :2] = (-256, 254)
    w2 = rng.integers(-256, 255, (5, 12))
    net = LoihiNetwork(10, [LoihiLayer(w1, 4096, 300, 900, delay=rng.integers(0, 5, (12, 10)),
                                       bias=rng.integers(-40, 80, 12)),
                            LoihiLayer(w2, 1024, 128, 500)])
    save_netx(net, tmp_path / "nine.net")
    net = load_netx(tmp_path / "nine.net")
    model = nk.from_netx(tmp_path / "nine.net")
    x = _drive(net, 25)
    cm, out = _assert_onnx_exact(model, net, x, "9-bit weights")
    assert out.any()
    cm.save(tmp_path / "nine.onnx")
    np.testing.assert_array_equal(_flat(hw_targets.load(tmp_path / "nine.onnx").run(x)), out)
    ops = cm.report()["onnx_ops"]
    assert ops["MatMulInteger"] == 4 and "MatMul" not in ops, ops  # two int8 terms per synapse, integer products


def test_lava_conv_accumulation_wraps_at_24_bits():
    """A 1x1 conv over 33100 channels of weight 254: all inputs spiking give 8407400 > 2**23, which Lava's Conv wraps
    negative; ONNX, the forward, the integer reference and simulate all wrap (fewer active inputs: no wrap)."""
    c = 33100
    net = LoihiNetwork(c, [LoihiLayer(np.full((1, c, 1, 1), 254), 4096, 0, 1000, conv=ConvGeometry((c, 1, 1)))])
    model = model_from_network(net)
    x = torch.ones(4, 2, c, 1, 1, dtype=torch.float64)
    x[:, 1, c // 2:] = 0  # sample 1: half the inputs, no wrap
    cm, out = _assert_onnx_exact(model, net, x, "conv wrap")
    assert "Mod" in cm.report()["onnx_ops"]
    _, vals = integer_sim.run(cm.graph, x, latency=1, record=True)
    acc = vals["0.synapse"][1:].reshape(3, 2)
    assert (acc[:, 0] == 254 * c - (1 << 24)).all() and (acc[:, 1] == 254 * (c - c // 2)).all()


def test_refusals_name_the_node():
    path = next(p for p in lava_dl_netx_files() if p.name == "tiny.net")
    x = _drive(load_netx(path), 4)
    with pytest.raises(nk.CompileError, match=r"gpu: node '0.neuron' \(neuron\): .*targets 'loihi2' and 'onnx_int'"):
        nk.compile(nk.from_netx(path), target="gpu", example_input=x)
    mixed = torch.nn.Sequential(*nk.from_netx(path), nk.layers.Flatten(), torch.nn.Linear(36, 3).double(), nk.LIF())
    with pytest.raises(nk.CompileError, match=r"onnx_int: node '4' \(dense\): a graph of Lava layers"):
        nk.compile(mixed, target="onnx_int", example_input=x)
    with pytest.raises(nk.CompileError, match=r"onnx_int: node '1.synapse' \(conv\): .*keeps netx's integers"):
        nk.compile(nk.from_netx(path), target="onnx_int", example_input=x, weight_bits=4)
    wide = LoihiNetwork(600, [LoihiLayer(np.full((2, 600), 254), 4096, 0, 100, bias=np.array([5, 5]))])
    with pytest.raises(nk.CompileError, match=r"onnx_int: node '0.neuron' \(neuron\): \|a_in \+ bias\| may reach"):
        nk.compile(model_from_network(wide), target="onnx_int", example_input=torch.ones(3, 1, 600))
    cm = nk.compile(nk.from_netx(path), target="onnx_int", example_input=x)
    with pytest.raises(ValueError, match=r"a_in must be integers in -32767..32767"):
        cm.run(x + 0.5)
