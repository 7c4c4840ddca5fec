"""Bit-exact parity with the real Lava: our loihi2 simulation vs lava-dl's netx reader + Loihi2SimCfg("fixed_pt").

Every network is compiled with ``nk.compile(target="loihi2")``, saved with ``cm.save`` and loaded by
``lava.lib.dl.netx.hdf5.Network`` in the Python 3.10 lava venv (one subprocess for all jobs, see
hw_targets/loihi2/lava_runner.py). Every layer's spike raster and the last layer's voltage must be identical
at every step, for 3 seeds per network, T = 60 (one Lava run per seed; batching is tested in test_loihi2), and
``cm.run`` must equal the integer reference ``integer_sim.run(cm.graph, x, latency=1)`` (biases included), so the
reference itself is checked against Lava. The full delay SNNs (batch norm folded into a bias, LeakyIntegrator
readout lowered to a leaky never-spiking block) are among them, and so are two spiking conv networks on spike frames
(netx ``conv`` + ``flatten`` blocks; non-square input, kernel, stride, padding, dilation, groups, a folded batch
norm), which Lava runs on ``(W, H, C)`` ports.
"""
import numpy as np
import pytest
import torch
from tests.helpers.conv_cases import SHAPES as CONV_SHAPES
from tests.helpers.conv_cases import conv_example, conv_geometry
from tests.helpers.delay_cases import N_IN as DEMO_IN
from tests.helpers.delay_cases import demo_delay_snn
from torch import nn

import neurokit as nk
from hw_targets import compile_model
from compile.integer_sim import run as integer_reference
from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, run_lava, save_netx, simulate
from neurokit.models import delay_snn, round_delays
from neurokit.models.binary import binary_mlp

pytestmark = pytest.mark.lava

SEEDS = (0, 1, 2)
T, B = 60, 1


def _cuba_net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 16, bias=False), nk.CubaLIF(tau_syn=4.0, tau_mem=8.0, v_threshold=0.5),
                         nn.Linear(16, 5, bias=False), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3))


def _delay_net(seed):
    """The full nk.models.delay_snn (2 hidden layers, learned delays up to 20, batch norms folded into biases,
    LeakyIntegrator readout) after round_delays()."""
    model = delay_snn(12, 5, hidden=16, layers=2, max_delay=20, seed=seed, dropout=0.0, tau=2.0, readout_tau=8.0)
    model.train()
    with torch.no_grad():  # batch-norm running statistics from random spike input
        for i in range(20):
            model((torch.rand(20, 8, 12, generator=torch.Generator().manual_seed(i)) < 0.3).float())
    return round_delays(model.eval())


def _binary_net(seed):
    torch.manual_seed(seed)
    return binary_mlp(12, (16, 12), num_classes=5, v_threshold=0.12).eval()


#: name -> (builder(seed), per-step input shape); "delay_snn_demo" is the product demo's configuration; the conv
#: networks (tests/helpers/conv_cases.py) take spike frames [T, B, C, H, W]
BUILDERS = {"cuba_dense": (_cuba_net, (12,)), "delay_snn": (_delay_net, (12,)), "binary_mlp": (_binary_net, (12,)),
            "delay_snn_demo": (demo_delay_snn, (DEMO_IN,)),
            "conv_example": (conv_example, CONV_SHAPES["conv_example"]),
            "conv_geometry": (conv_geometry, CONV_SHAPES["conv_geometry"])}


def _corner_nets():
    """Hand-built corners: biases (iDecay 4096) in layer 1 of both; a non-decaying current that saturates v
    near the maximal threshold and wraps around 24 bits; delays up to 62 with netx's sign-mode weight corner
    (all weights <= 0 with max 0 and min -64, which Lava clips and truncates)."""
    rng = np.random.default_rng(7)
    l1 = LoihiLayer(rng.integers(-90, 127, (10, 12)), 4096, 300, 40, bias=rng.integers(-30, 10, 10))
    w2 = -rng.integers(0, 33, (6, 10))
    w2[0, 0], w2[1, 1] = -64, 0
    return [LoihiNetwork(12, [l1, LoihiLayer(rng.integers(100, 255, (4, 10)), 0, 4096, 131071)]),
            LoihiNetwork(12, [l1, LoihiLayer(w2, 0, 4096, 1, delay=rng.integers(0, 63, (6, 10)))])]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Compile, save and simulate every case; run all of them in one Lava subprocess."""
    tmp = tmp_path_factory.mktemp("lava")
    cases, jobs = [], []
    for name, (build, shape) in BUILDERS.items():
        for seed in SEEDS:
            rng = torch.Generator().manual_seed(100 + seed)
            x = (torch.rand(T, B, *shape, generator=rng) < 0.3).float()
            cm = compile_model(build(seed), target="loihi2", example_input=x)
            path = tmp / f"{name}_{seed}.net"
            cm.save(path)
            cm.run(x)
            cases.append((name, seed, cm, x, cm.artefact.last_run))
            jobs.append((path, x.reshape(T, B, -1).numpy()))  # conv frames flattened in (C, H, W) order
    for i, net in enumerate(_corner_nets()):
        x = (np.random.default_rng(i).random((150, 1, 12)) < 0.4).astype(np.uint8)
        path = save_netx(net, tmp / f"corner_{i}.net")
        cases.append((f"corner{i}", 0, None, x, simulate(net, x, record=True)))
        jobs.append((path, x))
    return cases, run_lava(jobs)


def _compare(ours, lava, label):
    assert len(ours.spikes) == len(lava.spikes), label
    for li, (a, b) in enumerate(zip(ours.spikes, lava.spikes)):
        assert a.shape == b.shape, (label, li)
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"{label} layer {li + 1}: first mismatch at [t, b, n] = {bad[0].tolist()}"
    np.testing.assert_array_equal(ours.v_last, lava.v_last, err_msg=f"{label}: last layer voltage")


@pytest.mark.parametrize("name", list(BUILDERS))
def test_compiled_networks_match_lava_every_step(runs, name):
    cases, lava = runs
    checked = 0
    for (case, seed, cm, _x, ours), res in zip(cases, lava):
        if case != name:
            continue
        _compare(ours, res, f"{name} seed {seed}")
        # not a vacuous comparison: every spiking layer spikes, but not always; a readout's voltage moves
        readout = cm.artefact.net.readout
        for s in ours.spikes[:-1] if readout else ours.spikes:
            assert 0 < s.mean() < 0.9, f"{name} seed {seed}: degenerate activity {s.mean():.3f}"
        assert not readout or (np.any(ours.v_last) and not ours.spikes[-1].any()), f"{name} seed {seed}: readout"
        checked += 1
    assert checked == len(SEEDS)


def test_corner_networks_match_lava(runs):
    cases, lava = runs
    corners = [(c, r) for c, r in zip(cases, lava) if c[0].startswith("corner")]
    assert len(corners) == 2
    for (case, _, _, _, ours), res in corners:
        _compare(ours, res, case)
        assert ours.spikes[0].any()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_lava_equals_integer_reference_with_latency(runs, name):
    """cm.run (== Lava above) is the integer reference in its latency=1 mode, bit for bit, biases included; for the
    demo delay SNN (folded batch-norm biases act from step 0) that differs from the latency=0 reference shifted by L."""
    cases, _ = runs
    for case, seed, cm, x, _ours in cases:
        if case != name:
            continue
        out = cm.run(x).numpy()
        np.testing.assert_array_equal(out, integer_reference(cm.graph, x, latency=1), err_msg=f"{name} seed {seed}")
        if name.startswith("delay_snn"):
            hidden = cm.graph.nodes[1]
            assert hidden.op == "dense" and np.any(hidden.quant.bias), f"{name} seed {seed}: no folded bias"
            assert cm.graph.nodes[-1].op == "integrator" and cm.artefact.net.layers[-1].v_decay < 4096
            L = cm.artefact.latency
            assert name != "delay_snn_demo" or not np.array_equal(out[L:], integer_reference(cm.graph, x)[:-L])
