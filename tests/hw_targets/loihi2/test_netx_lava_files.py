"""lava-dl's own netx files against the real Lava: every ``.net`` shipped in the installed lava-dl package either
loads with ``load_netx`` and our simulator equals Lava's ``Loihi2SimCfg("fixed_pt")`` run spike for spike (every
block's raster and the last block's voltage; for the PilotNet sigma-delta files every graded message of every block
and the last block's sigma), or is refused, and then Lava refuses it for the same block.
Plus hand-written files (h5py directly, not our writer) for netx's corners: the
default integrator's exact threshold, per-input / scalar delays, ``skip_layers``.

All networks run in one Lava subprocess (module fixture); T is small (the PilotNet build dominates).
"""
from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
from tests.helpers.sdnn_files import sdnn_file

from hw_targets.loihi2 import load_netx, run_lava, simulate
from hw_targets.loihi2.lava_bridge import lava_builds, lava_dl_netx_files
from hw_targets.loihi2.netx import NetxUnsupportedError

pytestmark = pytest.mark.lava

#: steps per file: the ntidigits network has delays up to 62, PilotNet is large
STEPS = {"ntidigits.net": 70, "network.net": 4}


def _drive(net, steps, seed):
    """Input for ``net``: integers 0..199 driving an input neuron's ``a_in``, else 0/1 spikes."""
    rng = np.random.default_rng(seed)
    if net.input_layer is not None:
        return rng.integers(0, 200, (steps, 1, net.n_in))
    return (rng.random((steps, 1, net.n_in)) < 0.3).astype(np.int64)


def _blocks(net):
    return (["Input"] if net.input_layer else []) + ["Conv" if layer.conv else "Dense" for layer in net.layers]


def _dense_file(path, w, neuron=None, delay=None, layers=1):
    """A netx file written with h5py as slayer does: input block, ``layers`` dense blocks of ``w`` (square if more
    than one)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("layer/0/type", (1,), "S10", [b"input"])
        f.create_dataset("layer/0/shape", data=np.array([w.shape[1]]))
        for i in range(1, layers + 1):
            g = f.create_group(f"layer/{i}")
            g.create_dataset("type", (1,), "S10", [b"dense"])
            g.create_dataset("shape", data=np.array([w.shape[0]]))
            g.create_dataset("weight", data=w.astype(np.float32))
            if delay is not None:
                g.create_dataset("delay", data=np.asarray(delay, np.float32))
            for k, v in (neuron or {}).items():
                g.create_dataset(f"neuron/{k}", data=v, dtype=h5py.string_dtype() if k == "type" else None)
    return path


def _corner_files(tmp):
    """(label, path, netx kwargs, steps, input) for netx's corners, hand-written."""
    lif = {"type": "CUBA", "iDecay": 0, "vDecay": 4096, "vThMant": 131071}
    sat = np.full((2, 128), 128)  # 128 inputs x 128: u reaches 2**23 after 8 steps of all-ones input
    x_sat = np.zeros((14, 1, 128), np.int64)
    x_sat[:8] = 1
    rng = np.random.default_rng(3)
    w = rng.integers(-60, 120, (5, 6))
    lif2 = {"type": "LOIHI", "iDecay": 1024, "vDecay": 512, "vThMant": 40}
    x = (rng.random((30, 1, 6)) < 0.4).astype(np.int64)
    return [("default integrator (vThMant 1 << 17) never fires", _dense_file(tmp / "d.net", sat), {}, x_sat),
            ("the same with vThMant 131071 fires", _dense_file(tmp / "l.net", sat, lif), {}, x_sat),
            ("per-input delays (in,)", _dense_file(tmp / "pi.net", w, lif2, delay=np.arange(6) * 3), {}, x),
            ("scalar delay", _dense_file(tmp / "sc.net", w, lif2, delay=np.float32(4)), {}, x),
            ("blocks 0..2, skipping 0..1", _dense_file(tmp / "sk.net", rng.integers(-60, 120, (6, 6)), lif2, layers=3),
             {"num_layers": 3, "skip_layers": 2}, x),
            ("sigma-delta: Delta input, dense SigmaDelta with biases, Sigma output", sdnn_file(tmp / "sd.net"), {},
             rng.integers(-40, 60, (20, 1, 2)))]


@pytest.fixture(scope="module")
def lava_runs(tmp_path_factory):
    """Read every shipped file (and the corners), build each with lava-dl, run every loaded one in Lava."""
    tmp = tmp_path_factory.mktemp("netx_files")
    loaded, refused = [], []
    for p in lava_dl_netx_files():
        try:
            loaded.append((f"{p.parent.name}/{p.name}", p, {}, load_netx(p)))
        except NetxUnsupportedError as e:
            refused.append((p, str(e)))
            k = re.search(r"num_layers=(\d+)", str(e))
            if k:  # what lava-dl's own test does: read the blocks before the one netx cannot build
                kw = {"num_layers": int(k.group(1))}
                loaded.append((f"{p.parent.name}/{p.name} num_layers={k.group(1)}", p, kw, load_netx(p, **kw)))
    loaded = [(label, p, kw, net, _drive(net, STEPS.get(p.name, 8), i)) for i, (label, p, kw, net) in enumerate(loaded)]
    corners = [(label, p, kw, load_netx(p, **kw), x) for label, p, kw, x in _corner_files(tmp)]
    builds = lava_builds([(p, {}) for p, _ in refused])
    runs = run_lava([(p, x, kw) for _, p, kw, _, x in loaded + corners])
    return loaded, [r + (b,) for r, b in zip(refused, builds)], corners, runs


def _assert_same(net, x, lava, label):
    ours = simulate(net, x, record=True)
    assert len(ours.spikes) == len(lava.spikes), label
    for i, (a, b) in enumerate(zip(ours.spikes, lava.spikes)):
        np.testing.assert_array_equal(a, b, err_msg=f"{label}: block {i} spikes")
    np.testing.assert_array_equal(ours.v_last, lava.v_last, err_msg=f"{label}: last block's voltage")
    return ours


def test_every_lava_dl_netx_file_matches_lava_or_is_refused_for_lavas_reason(lava_runs):
    loaded, refused, _, results = lava_runs
    names = {label for label, *_ in loaded}
    # the LIF files: the MNIST MLP (input neuron, default integrator), the 5-D-kernel CNN, PilotNet LIF, and
    # ntidigits (per-neuron delays) up to its 'average' block; the sigma-delta PilotNets (Delta input, SigmaDelta
    # conv / dense blocks with biases, a Sigma output)
    assert {"netx/mnist.net", "netx/tiny.net", "pilotnet_lif/network.net", "ntidigits/ntidigits.net num_layers=5",
            "pilotnet_sdnn/network.net", "pilotnet_sdnn/square_network.net"} <= names, names
    for (label, _, _, net, x), res in zip(loaded, results):
        assert res.blocks == _blocks(net), label  # netx built the same blocks
        ours = _assert_same(net, x, res, label)
        assert sum(int((s != 0).sum()) for s in ours.spikes) > 0, f"{label}: nothing spiked, the comparison is vacuous"
        if "sdnn" in label:  # graded messages beyond 0/1, in every block
            assert all(np.abs(s).max() > 1 for s in ours.spikes), label
    assert len(refused) == 1, [p.name for p, *_ in refused]
    for p, msg, built in refused:  # Lava cannot build this block either: its own NotImplementedError for it
        kind = re.search(r"block type '(\w+)'", msg)
        assert built["error"] == f"NotImplementedError: {kind.group(1)} is not implemented.", (p, built)


def test_netx_corners_match_lava(lava_runs):
    _, _, corners, results = lava_runs
    outs = {}
    for (label, _, _, net, x), res in zip(corners, results[-len(corners):]):
        outs[label] = _assert_same(net, x, res, label)
    assert load_netx(corners[0][1]).layers[0].vth_mant == 1 << 17  # netx's `1 << 18 - 1`
    assert not outs["default integrator (vThMant 1 << 17) never fires"].spikes[-1].any()
    sd = outs["sigma-delta: Delta input, dense SigmaDelta with biases, Sigma output"]
    assert (sd.spikes[1] == 0).any() and np.abs(sd.spikes[1]).max() > 1  # thresholded graded messages
    assert outs["the same with vThMant 131071 fires"].spikes[-1].any()
    assert corners[-2][3].sizes == [6, 6]  # block 2 of the file alone (netx's skip_layers=2 of num_layers=3)
