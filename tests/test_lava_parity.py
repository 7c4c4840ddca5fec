"""Bit-exact parity with the real Lava: our loihi2 simulation vs lava-dl's netx reader + Loihi2SimCfg("fixed_pt").

Every network is compiled with ``nk.compile(target="loihi2")``, saved with ``cm.save`` and loaded by
``lava.lib.dl.netx.hdf5.Network`` in the Python 3.10 lava venv (one subprocess for all jobs, see
hw_targets/loihi2/lava_runner.py). Every layer's spike raster and the last layer's voltage must be identical
at every step, for 3 seeds per network, T = 60, two samples per seed.
"""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile.compiled import compile_model
from compile.integer_sim import run as integer_reference
from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, run_lava, save_netx, simulate
from neurokit.layers.delays import DelayedLinear
from neurokit.models import round_delays

pytestmark = pytest.mark.lava

SEEDS = (0, 1, 2)
T, B = 60, 2


def _cuba_net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 16, bias=False), nk.CubaLIF(tau_syn=4.0, tau_mem=8.0, v_threshold=0.5),
                         nn.Linear(16, 5, bias=False), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3))


def _delay_net(seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(DelayedLinear(12, 16, max_delay=20, generator=g),
                          nk.LIF(tau=4.0, decay_input=False, v_threshold=0.4),
                          DelayedLinear(16, 5, max_delay=20, generator=g),
                          nk.LIF(tau=2.0, decay_input=False, v_threshold=0.3))
    return round_delays(model)


BUILDERS = {"cuba_dense": _cuba_net, "delay_snn": _delay_net}


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
    for name, build in BUILDERS.items():
        for seed in SEEDS:
            rng = torch.Generator().manual_seed(100 + seed)
            x = (torch.rand(T, B, 12, generator=rng) < 0.3).float()
            cm = compile_model(build(seed), target="loihi2", example_input=x)
            path = tmp / f"{name}_{seed}.net"
            cm.save(path)
            cm.run(x)
            cases.append((name, seed, cm, x, cm.artefact.last_run))
            jobs.append((path, x.numpy()))
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
    for (case, seed, cm, x, ours), res in zip(cases, lava):
        if case != name:
            continue
        _compare(ours, res, f"{name} seed {seed}")
        # not a vacuous comparison: every layer spikes, but not always
        for s in ours.spikes:
            assert 0 < s.mean() < 0.9, f"{name} seed {seed}: degenerate activity {s.mean():.3f}"
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
def test_loihi_is_integer_reference_shifted_by_latency(runs, name):
    """loihi_out[t] == integer_reference_out[t - L] (bias-free networks; the first L steps are silent)."""
    cases, _ = runs
    for case, seed, cm, x, ours in cases:
        if case != name:
            continue
        L = cm.artefact.latency
        ref = integer_reference(cm.graph, x)
        out = ours.spikes[-1].astype(np.int64)
        np.testing.assert_array_equal(out[L:], ref[:-L])
        assert not out[:L].any()
