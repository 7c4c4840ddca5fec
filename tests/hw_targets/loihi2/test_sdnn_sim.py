"""The sigma-delta (netx SDNN) fixed-point simulator: a hand-worked network, netx files with SDNN blocks read as
netx builds them, and bad input (int32 overflow, non-integer input, activations and sigma biases netx cannot
build).
Parity with Lava on files (lava-dl's PilotNet SDNN and a hand-written one): test_netx_lava_files.py."""
from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.sdnn_files import sdnn_file

from hw_targets.loihi2 import InputLayer, LoihiLayer, LoihiNetwork, load_netx, save_netx, simulate
from hw_targets.loihi2.netx import NetxUnsupportedError
from hw_targets.loihi2.network import SigmaDeltaNeuron
from hw_targets.loihi2.sdnn import run_sdnn_layer


def _net(w=32, vth=1, bias=None):
    layer = LoihiLayer(np.array([[w]]), 4096, 0, 0, bias=bias, sdnn=SigmaDeltaNeuron("sigma_delta", vth))
    return LoihiNetwork(1, [layer], input_layer=InputLayer((1,), 4096, 0, 0, sdnn=SigmaDeltaNeuron("delta", 0)))


def test_hand_worked_delta_input_and_sigma_delta_block():
    x = np.array([1, 1, 3, 3]).reshape(4, 1, 1)
    rec = simulate(_net(), x, record=True)
    # input Delta (vth 0): a = x << 12 = 4096, 4096, 12288, 12288; d = 4096, 0, 8192, 0; message d >> 6
    assert rec.spikes[0].ravel().tolist() == [64, 0, 128, 0]
    # dense weight 32, one step late: a_in = 0, 2048, 0, 4096; sigma = 0, 2048, 2048, 6144 (ReLU, no bias)
    # vth = 1 << 12 = 4096: d = 0, 2048 (kept), 0 + 2048 (kept), 4096 + 2048 = 6144 sent -> 6144 >> 6 = 96
    assert rec.spikes[1].ravel().tolist() == [0, 0, 0, 96]
    assert rec.v_last.ravel().tolist() == [0, 2048, 2048, 6144]
    # bias 1 -> 4096 added before the ReLU: act = 4096, 6144, 6144, 10240; d = 4096 sent (64), 2048 kept,
    # 0 + 2048 kept, 4096 + 2048 sent (96)
    assert simulate(_net(bias=np.array([1])), x).ravel().tolist() == [64, 0, 0, 96]


def test_sigma_output_block_integrates_messages():
    layer = LoihiLayer(np.array([[2, 1]]), 4096, 0, 0, sdnn=SigmaDeltaNeuron("sigma"))
    msgs, sigma = run_sdnn_layer(layer, np.array([[3, 1], [0, -2], [1, 1]]).reshape(3, 1, 2))
    assert msgs.ravel().tolist() == [0, 7, 5] == sigma.ravel().tolist()  # 0, 2*3 + 1, 7 + (0 - 2)


def test_netx_sdnn_blocks_read_as_netx_builds_them(tmp_path):
    net = load_netx(sdnn_file(tmp_path / "s.net"))
    assert net.input_layer.sdnn == SigmaDeltaNeuron("delta", 0)
    assert [layer.sdnn for layer in net.layers] == [SigmaDeltaNeuron("sigma_delta", 2), SigmaDeltaNeuron("sigma")]
    out = simulate(net, np.random.default_rng(0).integers(0, 50, (12, 2, 2)))
    assert out.shape == (12, 2, 1) and out.dtype == np.int64 and np.abs(out).max() > 1


def test_bad_input_and_refusals(tmp_path):
    with pytest.raises(NetxUnsupportedError, match=r"layer/0/neuron/activation: 'tanh'.*ReLU"):
        load_netx(sdnn_file(tmp_path / "t.net", activation="tanh"))
    net = load_netx(sdnn_file(tmp_path / "s.net"))
    with pytest.raises(OverflowError, match=r"input: a sigma-delta state reaches \d+ at step 0.*int32"):
        simulate(net, np.full((3, 1, 2), 1 << 20))
    with pytest.raises(ValueError, match="must be integers"):
        simulate(net, np.full((3, 1, 2), 0.5))
    with pytest.raises(ValueError, match=r"expected \[T, B, 2\]"):
        simulate(net, np.zeros((3, 1, 5)))
    net.layers[-1].bias = np.array([3])  # Lava's Sigma process takes no bias: netx could not build the block
    with pytest.raises(NetxUnsupportedError, match="layer 1: a sigma .*cannot have a bias"):
        save_netx(net, tmp_path / "back.net")
    with pytest.raises(ValueError, match="SDNN neuron kind 'lif'"):
        SigmaDeltaNeuron("lif")
