"""netx files that lava-dl's slayer writes in the test run: small CUBA networks (dense with an Affine readout, dense
with learnable axonal delays, an input-neuron CNN with conv delays, conv + pool, a recurrent block) trained a few
steps on random data and exported with each block's own ``export_hdf5`` (tests/helpers/slayer_netx_export.py, in the
lava venv). Each file: ``load_netx`` reads it, ``simulate`` equals Lava's ``Loihi2SimCfg("fixed_pt")`` run of the same
file spike for spike in every block (and the last block's voltage), and ``nk.from_netx`` gives a model with the same
spikes (the recurrent block a ``LavaRecurrentBlock``, tests/hw_targets/loihi2/test_from_netx_recurrent.py) that
compiles back to an identical file. The pool file is refused by both
(netx cannot build ``pool`` blocks); its blocks before the pool are compared instead.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tests.helpers.netx_files import assert_netx_identical
from tests.helpers.slayer_files import export_slayer_files

import neurokit as nk
from hw_targets.loihi2 import load_netx, run_lava, save_netx, simulate
from hw_targets.loihi2.lava_bridge import lava_builds
from hw_targets.loihi2.netx import NetxUnsupportedError

pytestmark = pytest.mark.lava

T = 40


def _drive(net, seed):
    """``[T, 1, n_in]``: integers 0..199 into an input neuron's ``a_in``, else 0/1 spikes at rate 0.4."""
    rng = np.random.default_rng(seed)
    if net.input_layer is not None:
        return rng.integers(0, 200, (T, 1, net.n_in))
    return (rng.random((T, 1, net.n_in)) < 0.4).astype(np.int64)


@pytest.fixture(scope="module")
def slayer_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("slayer_netx")
    return out, export_slayer_files(out)


def test_files_slayer_writes_match_lava_and_round_trip(slayer_files, tmp_path):
    out, cases = slayer_files
    # every block type slayer exports here runs under the venv's torch (the crashes it has are in its docstring)
    assert {name: c["error"] for name, c in cases.items()} == dict.fromkeys(
        ("dense", "dense_delay", "cnn", "pool", "recurrent"))
    assert all(c["trained_values"] > 10 for c in cases.values()), cases
    with pytest.raises(NetxUnsupportedError, match=r"layer/2: block type 'pool'.*num_layers=2"):
        load_netx(out / "pool.net")
    built = lava_builds([(out / "pool.net", {})])[0]
    assert built["error"] == "NotImplementedError: pool is not implemented.", built  # Lava refuses it too
    jobs = [(name, out / f"{name}.net", {}) for name in ("dense", "dense_delay", "cnn", "recurrent")]
    jobs.append(("pool, num_layers=2", out / "pool.net", {"num_layers": 2}))
    with pytest.warns(UserWarning, match=r"layer/2/delay: netx's create_conv ignores a conv block's delays"):
        nets = [load_netx(p, **kw) for _, p, kw in jobs]  # the cnn's second conv block has slayer's delays
    xs = [_drive(net, seed) for seed, net in enumerate(nets)]
    results = run_lava([(p, x, kw) for (_, p, kw), x in zip(jobs, xs)])

    kinds = {}
    for (label, path, kw), net, x, lava in zip(jobs, nets, xs, results):
        ours = simulate(net, x, record=True)
        assert len(ours.spikes) == len(lava.spikes), label
        blocks = ([net.input_layer] if net.input_layer else []) + net.layers
        for i, (a, b, block) in enumerate(zip(ours.spikes, lava.spikes, blocks)):
            np.testing.assert_array_equal(a, b, err_msg=f"{label}: block {i} spikes")
            # every block spikes, but slayer's Affine readout: vThMant (1 << 18) - 1 is above 24-bit v
            assert b.any() != (block.vth_mant == (1 << 18) - 1), f"{label}: block {i} spiking"
        np.testing.assert_array_equal(ours.v_last, lava.v_last, err_msg=f"{label}: last block's voltage")
        assert ours.v_last.any(), label
        kinds[label] = lava.blocks
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the conv-delay warning, checked above
            model = nk.from_netx(path, **kw)
        xt = torch.from_numpy(x).double().reshape(T, 1, *net.in_shape)
        np.testing.assert_array_equal(model(xt).detach().reshape(T, 1, -1).numpy(), ours.spikes[-1], err_msg=label)
        nk.compile(model, target="loihi2", example_input=xt).save(tmp_path / "back.net")
        assert_netx_identical(save_netx(net, tmp_path / "ref.net") if kw else path, tmp_path / "back.net", label=label)
    assert [la.vth_mant for la in nets[0].layers] == [48, 32, (1 << 18) - 1]
    assert kinds == {"dense": ["Dense"] * 3, "dense_delay": ["Dense"] * 3, "cnn": ["Input", "Conv", "Conv", "Dense"],
                     "recurrent": ["RecurrentDense", "Dense"], "pool, num_layers=2": ["Conv"]}, kinds
    # the trained content is not trivial: per-neuron delays (slayer's axonal delay), spread out
    delays = [la.delay for la in nets[1].layers[:2]]
    assert all(d is not None and len(np.unique(d)) > 3 and d.max() > 5 for d in delays)
