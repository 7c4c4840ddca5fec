"""netx reader and writer on lava-dl's own files and netx's conventions (no Lava run; the parity with Lava is in
test_netx_lava_files.py): a file read and saved again is identical dataset by dataset, refusals name the blocker,
``num_layers`` / ``skip_layers`` count blocks as netx does, edited networks write their own values."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from tests.helpers.netx_files import assert_netx_identical

from hw_targets.loihi2 import load_netx, save_netx
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files
from hw_targets.loihi2.netx import NetxFormatError, NetxUnsupportedError


@pytest.fixture(scope="module")
def shipped():
    return {p.parent.name + "/" + p.name: p for p in lava_dl_netx_files()}


def test_every_loadable_lava_dl_file_saves_back_identical(shipped, tmp_path):
    """Extra neuron fields (theta, wgtExp, ...), the input block's transform, per-neuron delays, 5-D kernels,
    1-D weights, (N, 1, 1) shapes, a float64 bias, a dense block without neuron and ``simulation/tSample``; the
    sigma-delta PilotNets (SDNN neuron groups, the Sigma block's unused vThMant)."""
    done = 0
    for p in shipped.values():
        try:
            net = load_netx(p)
        except NetxUnsupportedError:
            continue
        assert_netx_identical(p, save_netx(net, tmp_path / "rt.net"))
        done += 1
    assert done == 5
    nti = shipped["ntidigits/ntidigits.net"]
    net = load_netx(nti, num_layers=5)
    assert net.layers[0].delay.shape == (256, 64) and (net.layers[0].delay == net.layers[0].delay[:, :1]).all()
    assert_netx_identical(nti, save_netx(net, tmp_path / "nt.net"), skip="layer/5")  # all but the average block
    with h5py.File(tmp_path / "nt.net", "r") as f:
        assert f["layer/2/delay"].shape == (256,) and f["simulation/tSample"][()] == 3000


def test_netx_readings_of_lava_dl_files(shipped):
    mnist = load_netx(shipped["netx/mnist.net"])
    assert mnist.input_layer.shape == (784,) and (mnist.input_layer.v_decay, mnist.input_layer.vth_mant) == (123, 80)
    last = mnist.layers[-1]  # no neuron group: netx's default integrator
    assert (last.i_decay, last.v_decay, last.vth_mant) == (0, 4096, 131072) and not mnist.readout
    tiny = load_netx(shipped["netx/tiny.net"])
    assert tiny.layers[0].weight.shape == (24, 3, 5, 5) and tiny.in_shape == (3, 16, 16)
    pilot = load_netx(shipped["pilotnet_lif/network.net"])
    assert pilot.readout and pilot.layers[-1].weight.shape == (1, 10)
    two = load_netx(shipped["pilotnet_lif/network.net"], num_layers=3)  # input + 2 conv blocks
    assert len(two.layers) == 2 and two.input_layer is not None
    tail = load_netx(shipped["pilotnet_lif/network.net"], skip_layers=7)  # the 4 dense blocks, fed flat
    assert tail.sizes == [2560, 100, 50, 10, 1] and tail.input_layer is None
    sdnn = load_netx(shipped["pilotnet_sdnn/network.net"])  # netx: Delta input, SigmaDelta blocks, Sigma output
    assert sdnn.input_layer.sdnn.kind == "delta" and sdnn.layers[-1].sdnn.kind == "sigma"
    assert [layer.sdnn.vth_mant for layer in sdnn.layers[:-1]] == [13, 0, 0, 0, 23, 1, 6]
    assert sdnn.layers[0].bias.shape == (24,) and sdnn.sizes[-1] == 1


def test_refusals_name_the_blocker(shipped, tmp_path):
    with pytest.raises(NetxUnsupportedError, match=r"layer/5: block type 'average': lava-dl netx cannot build it "
                                                   r"either .*num_layers=5"):
        load_netx(shipped["ntidigits/ntidigits.net"])
    p = save_netx(load_netx(shipped["netx/mnist.net"]), tmp_path / "m.net")
    with h5py.File(p, "a") as f:
        del f["layer/1/type"]
        f.create_dataset("layer/1/type", (1,), "S10", [b"pool"])
    with pytest.raises(NetxUnsupportedError, match=r"layer/1: block type 'pool'"):
        load_netx(p)
    with h5py.File(p, "a") as f:
        del f["layer/1/type"]
        f.create_dataset("layer/1/type", (1,), "S10", [b"dense"])
        f.create_dataset("layer/2/neuron/messageBits", data=np.int64(8))
    with pytest.raises(NetxUnsupportedError, match=r"layer/2/neuron/messageBits: graded spikes"):
        load_netx(p)
    with h5py.File(p, "a") as f:
        del f["layer/2/neuron/messageBits"]
        del f["layer/2/neuron/type"]
        f.create_dataset("layer/2/neuron/type", data="RF", dtype=h5py.string_dtype())
    with pytest.raises(NetxUnsupportedError, match=r"layer/2/neuron/type: 'RF' \(resonate-and-fire\)"):
        load_netx(p)
    with h5py.File(p, "a") as f:
        w = f["layer/1/weight"][()]
        del f["layer/1/weight"]
        f.create_dataset("layer/1/weight/real", data=w)
        f.create_dataset("layer/1/weight/imag", data=w)
    with pytest.raises(NetxUnsupportedError, match=r"layer/1: complex synapses"):
        load_netx(p)
    with pytest.raises(ValueError, match="skip_layers must be an int >= 0"):
        load_netx(p, skip_layers=-1)
    with pytest.raises(NetxFormatError, match="no dense or conv layers after skipping 9 blocks"):
        load_netx(shipped["netx/tiny.net"], skip_layers=9)


def test_edited_network_writes_its_own_values(shipped, tmp_path):
    """A value changed after reading (fine-tuned weights, another threshold) is written, not the file's."""
    net = load_netx(shipped["netx/tiny.net"])
    net.layers[0].weight[0, 0, 0, 0] += 2
    net.layers[1].vth_mant = 30
    back = load_netx(save_netx(net, tmp_path / "e.net"))
    np.testing.assert_array_equal(back.layers[0].weight, net.layers[0].weight)
    assert back.layers[1].vth_mant == 30 and back.layers[0].vth_mant == 25
    with h5py.File(tmp_path / "e.net", "r") as f:
        assert f["layer/1/weight"].shape == (24, 3, 5, 5) and f["layer/2/weight"].shape == (36, 24, 5, 5, 1)
        assert f["layer/2/neuron/theta"][()] == 1600 and f["simulation/tSample"][()] == 64
