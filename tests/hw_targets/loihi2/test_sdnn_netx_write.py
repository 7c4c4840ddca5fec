"""save_netx of sigma-delta (SDNN) networks: a fresh network (input Delta, conv and dense SigmaDelta blocks with
biases, Sigma output) round-trips through its file and is written with the neuron groups netx reads; refusals for
what netx cannot build; and, in one Lava run, the written file and lava-dl's own PilotNet SDNN files saved back by
neurokit give Lava's ``fixed_pt`` messages of every block at every step equal to our simulator's."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from tests.helpers.netx_files import assert_netx_identical
from tests.helpers.sdnn_files import sdnn_network

from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, load_netx, run_lava, save_netx, simulate
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files
from hw_targets.loihi2.netx import NetxUnsupportedError
from hw_targets.loihi2.sdnn import SigmaDeltaNeuron


def _assert_same_network(a: LoihiNetwork, b: LoihiNetwork) -> None:
    assert a.in_shape == b.in_shape and a.input_layer.sdnn == b.input_layer.sdnn
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        assert la.sdnn == lb.sdnn and la.conv == lb.conv and la.out_shape == lb.out_shape
        np.testing.assert_array_equal(la.weight, lb.weight)
        for x, y in ((la.bias, lb.bias), (la.delay, lb.delay)):
            assert (x is None) == (y is None) and (x is None or np.array_equal(x, y))


def test_fresh_sdnn_network_round_trips_with_netx_neuron_groups(tmp_path):
    net = sdnn_network()
    path = save_netx(net, tmp_path / "sd.net")
    back = load_netx(path)
    _assert_same_network(net, back)
    x = np.random.default_rng(1).integers(0, 100, (10, 2, 36))
    a, b = simulate(net, x, record=True), simulate(back, x, record=True)
    for sa, sb in zip(a.spikes + [a.v_last], b.spikes + [b.v_last]):
        np.testing.assert_array_equal(sa, sb)
    with h5py.File(path, "r") as f:
        assert [f[f"layer/{i}/type"][0] for i in range(5)] == [b"input", b"conv", b"flatten", b"dense", b"dense"]
        for i, vth in ((0, 1), (1, 2), (3, 1)):  # Delta, SigmaDelta, SigmaDelta: netx reads their vThMant
            n = f[f"layer/{i}/neuron"]
            assert n["type"][()] == b"SDNN" and n["activation"][()] == b"relu" and "sigma_output" not in n
            assert n["vThMant"].dtype == np.int64 and n["vThMant"][()] == vth
        assert f["layer/4/neuron/sigma_output"][()] and "vThMant" not in f["layer/4/neuron"]
        assert f["layer/1/bias"].shape == (4,) and "bias" not in f["layer/4"]
    assert_netx_identical(path, save_netx(back, tmp_path / "again.net"))  # saved again from what was read


def test_sdnn_networks_netx_cannot_build_are_refused(tmp_path):
    net = sdnn_network()
    mixed = LoihiNetwork(36, [net.layers[0], LoihiLayer(np.ones((3, 36), int), 4096, 0, 5)],
                         input_layer=net.input_layer)
    with pytest.raises(NetxUnsupportedError, match="layer 1: a CUBA block in a sigma-delta network"):
        save_netx(mixed, tmp_path / "m.net")
    rec = LoihiLayer(np.ones((2, 36), int), 4096, 0, 0, weight_rec=np.eye(2, dtype=int) * 3,
                     sdnn=SigmaDeltaNeuron("sigma_delta", 1))
    with pytest.raises(NetxUnsupportedError, match="layer 1: a recurrent .*sigma-delta block"):
        save_netx(LoihiNetwork(36, [net.layers[0], rec], input_layer=net.input_layer), tmp_path / "r.net")
    assert not (tmp_path / "m.net").exists() and not (tmp_path / "r.net").exists()


@pytest.mark.lava
def test_written_and_resaved_sdnn_files_run_in_lava_as_simulated(tmp_path):
    """Every graded message of every block and the Sigma block's sigma at every step, in one Lava subprocess."""
    pilots = [p for p in lava_dl_netx_files() if p.parent.name == "pilotnet_sdnn"]
    assert sorted(p.name for p in pilots) == ["network.net", "square_network.net"]
    rng = np.random.default_rng(2)
    jobs = [(save_netx(sdnn_network(), tmp_path / "sd.net"), rng.integers(0, 100, (12, 2, 36)))]
    for p in pilots:  # re-saved by neurokit from what load_netx read
        net = load_netx(p)
        jobs.append((save_netx(net, tmp_path / f"re_{p.name}"), rng.integers(0, 200, (4, 1, net.n_in))))
    results = run_lava(jobs)
    for (path, x), res in zip(jobs, results):
        net = load_netx(path)
        ours = simulate(net, x, record=True)
        assert res.blocks == ["Input"] + ["Conv" if layer.conv else "Dense" for layer in net.layers], path
        assert len(res.spikes) == len(ours.spikes), path
        for i, (a, b) in enumerate(zip(ours.spikes, res.spikes)):
            np.testing.assert_array_equal(a, b, err_msg=f"{path.name}: block {i} messages")
            assert np.abs(a).max() > 1, f"{path.name}: block {i} sends no graded messages"
        np.testing.assert_array_equal(ours.v_last, res.v_last, err_msg=f"{path.name}: sigma")
