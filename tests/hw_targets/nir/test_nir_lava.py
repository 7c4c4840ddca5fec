"""``nk.from_netx`` models (lava-dl netx files) re-targeted to NIR: the export writes Lava's latency as Delay nodes and
each CUBA neuron as a float CubaLIF with Lava's integers in its metadata; ``nk.from_nir`` of it (graph or file) gives
back the same Lava network, whose spikes equal the fixed-point simulation (and so Lava, tested in
tests/hw_targets/loihi2/test_netx_lava_files.py) exactly. The float form alone, read by neurokit's generic importer,
approximates Lava's integers (measured here); malformed Lava metadata and mixed graphs are refused."""
from __future__ import annotations

import copy
import warnings

import nir
import numpy as np
import pytest
import torch

import neurokit as nk
from hw_targets.loihi2 import ConvGeometry, LoihiLayer, LoihiNetwork, load_netx, save_netx, simulate
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files
from hw_targets.nir.lava import lava_network_from_nir

DT = 1e-4


def _shipped(name, parent):
    return next(p for p in lava_dl_netx_files() if p.name == name and p.parent.name == parent)


def _drive(net, steps, seed=0):
    g = torch.Generator().manual_seed(seed)
    if net.input_layer is not None:  # integers driving the input neuron's a_in
        return torch.randint(0, 200, (steps, 2, *net.in_shape), generator=g).double()
    return (torch.rand(steps, 2, *net.in_shape, generator=g) < 0.3).double()


def _flat(x):
    return x.detach().reshape(x.shape[0], x.shape[1], -1).numpy()


def _assert_same_network(a: LoihiNetwork, b: LoihiNetwork) -> None:
    assert a.n_in == b.n_in and len(a.layers) == len(b.layers)
    assert (a.input_layer is None) == (b.input_layer is None)
    if a.input_layer is not None:
        ia, ib = a.input_layer, b.input_layer
        assert (ia.shape, ia.i_decay, ia.v_decay, ia.vth_mant) == (ib.shape, ib.i_decay, ib.v_decay, ib.vth_mant)
    for la, lb in zip(a.layers, b.layers):
        assert (la.i_decay, la.v_decay, la.vth_mant, la.conv) == (lb.i_decay, lb.v_decay, lb.vth_mant, lb.conv)
        np.testing.assert_array_equal(la.weight, lb.weight)
        for x, y in ((la.bias, lb.bias), (la.delay, lb.delay)):
            assert (x is None) == (y is None) and (x is None or np.array_equal(x, y))


def _fresh(tmp_path):
    """A conv block with per-channel biases, then dense blocks with per-synapse delays (0..3) and CUBA decays."""
    rng = np.random.default_rng(4)
    conv = LoihiLayer(rng.integers(-60, 80, (3, 2, 3, 3)), 4096, 600, 40, bias=np.array([5, -3, 0]),
                      conv=ConvGeometry((2, 6, 6), stride=(2, 2), padding=(1, 1)))
    dense = LoihiLayer(rng.integers(-90, 120, (8, 27)), 1024, 256, 60, delay=rng.integers(0, 4, (8, 27)))
    out = LoihiLayer(rng.integers(-40, 100, (4, 8)), 2048, 128, 30)
    return save_netx(LoihiNetwork(72, [conv, dense, out]), tmp_path / "fresh.net")


@pytest.mark.parametrize("case", ["tiny.net", "mnist.net", "ntidigits.net", "fresh"])
def test_lava_models_round_trip_through_nir_exactly(case, tmp_path):
    """tiny.net: an input neuron and conv blocks with biases; mnist.net: dense blocks, netx's default integrator;
    ntidigits.net: per-neuron delays up to 62 (first 5 blocks); fresh: conv + per-synapse delays + CUBA decays."""
    kw = {"num_layers": 5} if case == "ntidigits.net" else {}
    path = _fresh(tmp_path) if case == "fresh" else _shipped(case, "ntidigits" if case == "ntidigits.net" else "netx")
    net, model = load_netx(path, **kw), nk.from_netx(path, **kw)
    x = _drive(net, steps=70 if case == "ntidigits.net" else 12)
    ref = simulate(net, _flat(x).astype(np.int64))
    cm = nk.compile(model, target="nir", example_input=x, dt=DT)
    graph = cm.artefact.graph
    assert sum(isinstance(n, nir.Delay) for n in graph.nodes.values()) >= len(net.layers)   # Lava's latency
    np.testing.assert_array_equal(_flat(cm.run(x)), ref)
    cm.save(tmp_path / "m.nir")
    for back in (nk.from_nir(graph), nk.from_nir(tmp_path / "m.nir")):
        np.testing.assert_array_equal(_flat(back(x)), ref)
    _assert_same_network(lava_network_from_nir(nir.read(tmp_path / "m.nir"), DT), net)
    again = nk.compile(nk.from_nir(graph), target="loihi2", example_input=x)    # back to netx, the same blocks
    again.save(tmp_path / "back.net")
    _assert_same_network(load_netx(tmp_path / "back.net"), net)


def test_lava_neurons_are_written_as_float_cubalif_with_their_integers():
    path = _shipped("mnist.net", "netx")
    net = load_netx(path)
    x = _drive(net, 4)
    graph = nk.compile(nk.from_netx(path), target="nir", example_input=x, dt=DT).artefact.graph
    layer = net.layers[0]                                       # block 1 (block 0: the input neuron)
    node = graph.nodes["1_neuron"]
    assert node.metadata["lava"] == {"i_decay": layer.i_decay, "v_decay": layer.v_decay, "vth_mant": layer.vth_mant}
    assert node.metadata["discretization"] == "lava_fixed_point"
    np.testing.assert_allclose(node.v_threshold, layer.vth_mant * 64.0)
    np.testing.assert_allclose(node.tau_syn, DT * 4096 / layer.i_decay)
    np.testing.assert_allclose(node.w_in, 64 * 4096 / layer.i_decay)
    if layer.v_decay:
        np.testing.assert_allclose(node.tau_mem, DT * 4096 / layer.v_decay)
        np.testing.assert_allclose(node.r, 4096 / layer.v_decay)
    delay = graph.nodes["1_synapse_delay1"]
    np.testing.assert_allclose(delay.delay, DT)                                        # one step of latency


def test_the_float_form_alone_approximates_lavas_integers():
    """What a consumer ignoring the metadata runs: neurokit's generic importer on the graph stripped of it gives
    99.9 % of Lava's output spikes on ntidigits.net (measured: 0.99979); not exact (Lava rounds its decays)."""
    path = _shipped("ntidigits.net", "ntidigits")
    net = load_netx(path, num_layers=5)
    x = _drive(net, 70)
    graph = copy.deepcopy(nk.compile(nk.from_netx(path, num_layers=5), target="nir", example_input=x,
                                     dt=DT).artefact.graph)
    for node in graph.nodes.values():
        if getattr(node, "metadata", None) and "lava" in node.metadata:
            node.metadata.pop("lava")
            node.metadata["discretization"] = "forward_euler"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        float_model = nk.from_nir(graph)
    ours = _flat(float_model(x.float()))
    lava = simulate(net, _flat(x).astype(np.int64))
    assert lava.mean() > 0.05 and (ours == lava).mean() > 0.999


def test_malformed_lava_metadata_and_mixed_graphs_are_refused():
    path = _shipped("mnist.net", "netx")
    x = _drive(load_netx(path), 4)
    graph = nk.compile(nk.from_netx(path), target="nir", example_input=x, dt=DT).artefact.graph
    bad = copy.deepcopy(graph)
    bad.nodes["1_neuron"].metadata["lava"] = {"i_decay": "fast"}
    with pytest.raises(ValueError, match=r"NIR node '1_neuron': metadata 'lava' must hold integers"):
        nk.from_nir(bad)
    mixed = copy.deepcopy(graph)
    mixed.nodes["1_neuron"].metadata.pop("lava")
    with pytest.raises(ValueError, match=r"NIR node '1_neuron': a graph with Lava neurons must be Lava throughout"):
        nk.from_nir(mixed)
