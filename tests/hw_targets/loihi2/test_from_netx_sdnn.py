"""``nk.from_netx`` of sigma-delta files: a float64 model of ``nk.SigmaDelta`` units and plain synapses whose every
block output, rescaled (messages x 4096, the Sigma block's sigma x 2**18), equals the fixed-point simulator's
integers exactly (tolerance 0) on a fresh network and on lava-dl's PilotNet SDNN; it trains (gradients reach every
weight and bias); refusals. The simulator equals Lava on these files: test_netx_lava_files.py, test_sdnn_netx_write.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.sdnn_files import sdnn_network

import neurokit as nk
from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, load_netx, save_netx, simulate
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files
from hw_targets.loihi2.netx_sdnn_model import MESSAGE_SCALE, SIGMA_SCALE
from hw_targets.loihi2.sdnn import SigmaDeltaNeuron
from neurokit.neurons.sigma_delta import Sigma, SigmaDelta


def _block_outputs(model, x, in_shape):
    """Each SigmaDelta / Sigma output of ``model`` on the integer input ``x [T, B, n]``, flattened ``[T, B, n_i]``."""
    h = torch.as_tensor(x, dtype=torch.float64).reshape(*x.shape[:2], *in_shape) / 64
    outs = []
    for m in model:
        h = m(h)
        if isinstance(m, (SigmaDelta, Sigma)):
            outs.append(h.reshape(*h.shape[:2], -1))
    return h, outs


def _assert_exact(model, net, x):
    rec = simulate(net, x, record=True)
    _, outs = _block_outputs(model, x, net.in_shape)
    assert len(outs) == len(rec.spikes)
    for i, (ours, lava) in enumerate(zip(outs, rec.spikes)):
        scale = SIGMA_SCALE if isinstance(model[-1], Sigma) and i == len(outs) - 1 else MESSAGE_SCALE
        np.testing.assert_array_equal((ours.detach() * scale).numpy(), lava, err_msg=f"block {i}")
    return rec


def test_fresh_sdnn_file_model_equals_fixed_point_run_and_trains(tmp_path):
    net = sdnn_network()
    model = nk.from_netx(save_netx(net, tmp_path / "sd.net"))
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["SigmaDelta", "Conv2d", "LavaLatency", "SigmaDelta", "Flatten", "Linear", "LavaLatency",
                     "SigmaDelta", "Linear", "LavaLatency", "Sigma"]
    assert model[0].threshold == 1 / 64 and not model[0].sigma and model[3].threshold == 2 / 64
    assert torch.equal(model[1].weight.detach() * 64, torch.as_tensor(net.layers[0].weight, dtype=torch.float64))
    x = np.random.default_rng(1).integers(0, 100, (10, 2, 36))
    rec = _assert_exact(model, net, x)
    assert (rec.spikes[1] == 0).any() and np.abs(rec.spikes[1]).max() > 1  # thresholded graded messages
    y, _ = _block_outputs(model, x, net.in_shape)
    y.square().mean().backward()
    for m in (model[1], model[5], model[8]):
        assert m.weight.grad is not None and m.weight.grad.abs().sum() > 0
    assert model[3].bias.grad.abs().sum() > 0 and model[7].bias.grad.abs().sum() > 0


def test_lava_dl_pilotnet_sdnn_model_equals_fixed_point_run():
    for p in lava_dl_netx_files():
        if p.parent.name != "pilotnet_sdnn":
            continue
        net = load_netx(p)
        model = nk.from_netx(p)
        assert [m.threshold * 64 for m in model if isinstance(m, SigmaDelta)] == [0, 13, 0, 0, 0, 23, 1, 6][
            :len(net.layers) + 1]  # vThMant 0 stays threshold 0
        with torch.no_grad():
            _assert_exact(model, net, np.random.default_rng(3).integers(0, 200, (5, 1, net.n_in)))


def test_sdnn_files_from_netx_cannot_model_are_refused(tmp_path):
    net = sdnn_network()
    corner = LoihiLayer(np.array([[-64, 0]] * 2), 4096, 0, 0, sdnn=SigmaDeltaNeuron("sigma"))  # Lava: [-32, 0]
    head = LoihiLayer(np.ones((2, 36), int), 4096, 0, 0, sdnn=SigmaDeltaNeuron("sigma_delta", 1))
    bad = LoihiNetwork(36, [head, corner], input_layer=net.input_layer)
    with pytest.raises(ValueError, match="layer 1: netx's sign-mode corner"):
        nk.from_netx(save_netx(bad, tmp_path / "c.net"))
    delayed = LoihiLayer(np.ones((2, 36), int), 4096, 0, 0, delay=np.full((2, 36), 3),
                         sdnn=SigmaDeltaNeuron("sigma_delta", 1))
    with pytest.raises(ValueError, match="layer 0: synaptic delays"):
        nk.from_netx(save_netx(LoihiNetwork(36, [delayed], input_layer=net.input_layer), tmp_path / "d.net"))
