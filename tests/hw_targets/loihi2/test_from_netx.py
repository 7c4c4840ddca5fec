"""``nk.from_netx``: lava-dl's own netx files and one of ours as trainable models. The model's forward equals the
bit-accurate simulation of the file (which tests/hw_targets/loihi2/test_netx_lava_files.py checks against Lava spike for
spike), gradients reach the float shadow weights, and ``nk.compile(model, target="loihi2").save`` writes the file
back identically, or with the fine-tuned values after training."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.conv_cases import conv_geometry, frames
from tests.helpers.netx_files import assert_netx_identical, netx_datasets

import neurokit as nk
from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, load_netx, save_netx, simulate
from hw_targets.loihi2.netx_model import model_from_network
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files


def _shipped(name, parent):
    return next(p for p in lava_dl_netx_files() if p.name == name and p.parent.name == parent)


def _drive(net, steps=8, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    if net.input_layer is not None:  # integers driving the input neuron's a_in
        return torch.randint(0, 200, (steps, batch, *net.in_shape), generator=g).double()
    return (torch.rand(steps, batch, *net.in_shape, generator=g) < 0.3).double()


def _flat(x):
    return x.detach().reshape(x.shape[0], x.shape[1], -1).numpy()


@pytest.mark.parametrize("name,parent,kw", [("tiny.net", "netx", {}), ("mnist.net", "netx", {}),
                                            ("ntidigits.net", "ntidigits", {"num_layers": 5})])
def test_lava_dl_file_round_trips_through_the_trainable_model(name, parent, kw, tmp_path):
    """tiny.net: input neuron, 5-D kernels, biases; mnist.net: a dense block without neuron (netx's default
    integrator); ntidigits.net: per-neuron delays up to 62 (its first 5 blocks, before the 'average' block)."""
    path = _shipped(name, parent)
    net, model = load_netx(path, **kw), nk.from_netx(path, **kw)
    x = _drive(net, steps=70 if name == "ntidigits.net" else 8)
    ref = simulate(net, _flat(x).astype(np.int64))
    np.testing.assert_array_equal(_flat(model(x)), ref)
    cm = nk.compile(model, target="loihi2", example_input=x)
    np.testing.assert_array_equal(_flat(cm.run(x)), ref)
    assert len(cm.report()["spike_traffic"]["per_boundary"]) == len(net.layers)  # input neurons feed layer 1
    cm.save(tmp_path / "back.net")
    assert_netx_identical(save_netx(net, tmp_path / "ref.net"), tmp_path / "back.net")
    if not kw:
        assert_netx_identical(path, tmp_path / "back.net")


def test_our_compiled_network_round_trips(tmp_path):
    """A conv network of ours (non-square kernel, stride, padding, dilation, groups, folded batch-norm bias, CUBA)."""
    x = frames("conv_geometry", 0, T=20, B=2)
    nk.compile(conv_geometry(0), target="loihi2", example_input=x).save(tmp_path / "ours.net")
    model = nk.from_netx(tmp_path / "ours.net")
    ref = simulate(load_netx(tmp_path / "ours.net"), _flat(x))
    np.testing.assert_array_equal(_flat(model(x)), ref)
    nk.compile(model, target="loihi2", example_input=x).save(tmp_path / "back.net")
    assert_netx_identical(tmp_path / "ours.net", tmp_path / "back.net")


def test_fine_tuning_changes_only_what_training_changed(tmp_path):
    path = _shipped("tiny.net", "netx")
    model = nk.from_netx(path)
    x = _drive(load_netx(path))
    loss = model(x).sum()
    loss.backward()
    syn = model[1].synapse
    assert syn.weight.grad is not None and syn.weight.grad.abs().sum() > 0
    with torch.no_grad():
        syn.weight -= 4.0 * torch.sign(syn.weight.grad)  # one signed step of 4 integer units
    nk.compile(model, target="loihi2", example_input=x).save(tmp_path / "tuned.net")
    back = load_netx(tmp_path / "tuned.net")
    np.testing.assert_array_equal(back.layers[0].weight, syn.int_weight().numpy())
    np.testing.assert_array_equal(simulate(back, _flat(x).astype(np.int64)), _flat(model(x)))
    before, after = netx_datasets(path), netx_datasets(tmp_path / "tuned.net")
    changed = {k for k in before if k in after and not np.array_equal(before[k][2], after[k][2])}
    assert changed == {"layer/1/weight"}, changed  # theta, transform, the other kernel, tSample: as they were


def test_sign_mode_corner_is_refused():
    w = -np.abs(np.random.default_rng(0).integers(1, 33, (3, 4)))
    w[0, 0], w[1, 1] = -64, 0  # all <= 0 with max 0: netx and Lava disagree on the sign mode
    with pytest.raises(ValueError, match="layer 0: netx's sign-mode corner"):
        model_from_network(LoihiNetwork(4, [LoihiLayer(w, 4096, 0, 5)]))


def test_gpu_refuses_lava_neurons():
    """Its float neuron arithmetic (and timing) is not Lava's: a refusal naming the node, never a different result
    (onnx_int runs them exactly: tests/hw_targets/onnx/test_from_netx_onnx.py)."""
    model = nk.from_netx(_shipped("ntidigits.net", "ntidigits"), num_layers=5)
    x = (torch.rand(6, 1, 64, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    with pytest.raises(nk.CompileError, match=r"gpu: .*node '1.neuron' \(neuron\).*runs bit-exactly on targets "
                                              r"'loihi2' and 'onnx_int'"):
        nk.compile(model, target="gpu", example_input=x)
