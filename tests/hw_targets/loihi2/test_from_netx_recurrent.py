"""``nk.from_netx`` of netx ``dense_rec`` blocks (Lava's ``RecurrentDense``): a
:class:`~neurokit.layers.lava.LavaRecurrentBlock` whose forward equals ``simulate(load_netx(path), x)`` and Lava's own
``Loihi2SimCfg("fixed_pt")`` run spike for spike, for a file lava-dl's slayer writes in the test run and for fresh
networks of ours (netx's one exponent for ``hstack(weight, weight_rec)``, the sign-mode corner where Lava applies other
weights than stored: refused); compiled back to an identical file and re-targeted to ``onnx_int`` and ``nir`` with the
same spikes; trainable (both weight matrices), the fine-tuned integers written back."""
from __future__ import annotations


import numpy as np
import pytest
import torch
from tests.helpers.netx_files import assert_netx_identical
from tests.helpers.slayer_files import export_slayer_files

import neurokit as nk
from hw_targets.loihi2 import LoihiLayer, LoihiNetwork, load_netx, run_lava, save_netx, simulate
from hw_targets.loihi2.weights import encode_weights
from neurokit.layers.lava import LavaCubaLIF, LavaDense, LavaRecurrentBlock

pytestmark = pytest.mark.lava

T = 30


def _spikes(n_in, seed, batch=1):
    return (np.random.default_rng(seed).random((T, batch, n_in)) < 0.4).astype(np.int64)


def _shared_exponent_net(rng, rec_bias=False):
    """Small feed-forward weights (alone: exponent -6) and large recurrent ones (together: exponent -1)."""
    w, v = rng.integers(-3, 4, (8, 6)), rng.integers(-120, 121, (8, 8))
    first = (LoihiLayer(w, 4096, 256, 2, weight_rec=v, bias=rng.integers(-2, 3, 8)) if rec_bias
             else LoihiLayer(w, 1024, 128, 3, weight_rec=v))
    return LoihiNetwork(6, [first, LoihiLayer(rng.integers(-30, 31, (3, 8)), 4096, 205, 20, bias=np.full(3, 2))])


def _corner_net():
    """Recurrent weights in {0, -64, -128} after feed-forward ones in {0, 64}: under the shared exponent (-1, two
    weight bits) a -128's mantissa is -256, which Lava's inhibitory Dense clips to -255 and truncates to -192
    (``lava.utils.weightutils``): it applies -96, not the stored -128."""
    rng = np.random.default_rng(2)
    w, v = 64 * rng.integers(0, 2, (5, 4)), -64 * rng.integers(0, 3, (5, 5))
    w[0, 0], v[0, 1] = 64, -128
    return LoihiNetwork(4, [LoihiLayer(w, 1024, 0, 90, weight_rec=v)])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """slayer's recurrent file, our two fresh dense_rec networks and the corner, with one Lava run of them all."""
    out = tmp_path_factory.mktemp("netx_rec")
    assert export_slayer_files(out, "recurrent")["recurrent"]["error"] is None
    rng = np.random.default_rng(0)
    paths = {"slayer": out / "recurrent.net"}
    for name, net in (("shared", _shared_exponent_net(rng)), ("shared_bias", _shared_exponent_net(rng, True)),
                      ("corner", _corner_net())):
        paths[name] = save_netx(net, out / f"{name}.net")
    xs = {name: _spikes(load_netx(p).n_in, seed) for seed, (name, p) in enumerate(paths.items())}
    lava = dict(zip(paths, run_lava([(paths[k], xs[k]) for k in paths])))
    return paths, xs, lava


@pytest.mark.parametrize("name", ["slayer", "shared", "shared_bias"])
def test_forward_equals_simulate_and_lava_compiles_back_identical_and_retargets(files, name, tmp_path):
    paths, xs, lava = files
    path, x, res = paths[name], xs[name], lava[name]
    net, model = load_netx(path), nk.from_netx(path)
    assert res.blocks[0] == "RecurrentDense" and isinstance(model[0], LavaRecurrentBlock)
    xt = torch.from_numpy(x).double()
    ref = simulate(net, x, record=True)
    with torch.no_grad():
        first = model[0](xt)
        out = model[1:](first)
    for i, (ours, theirs) in enumerate(zip(ref.spikes, res.spikes)):
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name}: block {i}")
    np.testing.assert_array_equal(first.numpy(), res.spikes[0], err_msg=name)
    np.testing.assert_array_equal(out.numpy(), res.spikes[-1], err_msg=name)
    assert res.spikes[0].any() and res.spikes[-1].any(), name
    no_rec = LoihiNetwork(net.n_in, [LoihiLayer(net.layers[0].weight, net.layers[0].i_decay, net.layers[0].v_decay,
                                                net.layers[0].vth_mant, bias=net.layers[0].bias)])
    assert not np.array_equal(simulate(no_rec, x), res.spikes[0]), f"{name}: weight_rec has no effect"
    cm = nk.compile(model, target="loihi2", example_input=xt)
    np.testing.assert_array_equal(cm.run(xt).numpy(), res.spikes[-1], err_msg=name)
    assert cm.report()["loihi_layers"][0]["recurrent"]
    cm.save(tmp_path / "back.net")
    assert_netx_identical(path, tmp_path / "back.net", label=name)
    onnx = nk.compile(model, target="onnx_int", example_input=xt)           # re-targeted: integer ONNX, NIR
    np.testing.assert_array_equal(onnx.run(xt).numpy(), res.spikes[-1], err_msg=f"{name}: onnx_int")
    nir_cm = nk.compile(model, target="nir", example_input=xt)
    assert ("0", "0_w_rec") in nir_cm.artefact.graph.edges and ("0_w_rec", "0") in nir_cm.artefact.graph.edges
    np.testing.assert_array_equal(nir_cm.run(xt).numpy(), res.spikes[-1], err_msg=f"{name}: nir")
    if name == "shared":  # netx's one exponent for hstack(weight, weight_rec) is not the feed-forward one alone
        layer = net.layers[0]
        assert layer.synapse.weight_exp == layer.synapse_rec.weight_exp == -1
        assert encode_weights(layer.weight).weight_exp == -6


def test_sign_mode_corner_is_refused(files):
    """Lava runs the corner file as simulate does (its encoding), not with the stored integers: from_netx refuses."""
    paths, xs, lava = files
    net, x = load_netx(paths["corner"]), xs["corner"]
    layer = net.layers[0]
    assert not layer.exact_weights and layer.synapse_rec.sign_mode == 3  # Lava's inhibitory Dense
    applied = layer.synapse_rec.mantissa * 2.0 ** layer.synapse_rec.weight_exp
    assert set(applied[layer.weight_rec == -128]) == {-96.0}
    np.testing.assert_array_equal(simulate(net, x), lava["corner"].spikes[-1])
    stored = LavaRecurrentBlock(LavaDense(torch.from_numpy(layer.weight).double()),
                                LavaDense(torch.from_numpy(layer.weight_rec).double()),
                                LavaCubaLIF(layer.i_decay, layer.v_decay, layer.vth_mant))
    with torch.no_grad():
        assert not np.array_equal(stored(torch.from_numpy(x).double()).numpy(), lava["corner"].spikes[-1])
    with pytest.raises(ValueError, match=r"from_netx: layer 0: netx's sign-mode corner \(a synapse whose weights are "
                                         r"all <= 0, under the one exponent netx gives hstack\(weight, weight_rec\)"):
        nk.from_netx(paths["corner"])
    exact = LoihiNetwork(4, [LoihiLayer(layer.weight, 1024, 0, 90, weight_rec=layer.weight_rec // 2 - 1)])
    assert exact.layers[0].exact_weights and exact.layers[0].synapse_rec.sign_mode == 3  # all < 0, yet as stored
    with torch.no_grad():
        np.testing.assert_array_equal(nk.from_netx(save_netx(exact, paths["corner"].with_name("exact.net")))(
            torch.from_numpy(x).double()).numpy(), simulate(exact, x))


def test_training_reaches_both_matrices_and_save_writes_the_tuned_integers(tmp_path):
    net = _shared_exponent_net(np.random.default_rng(1))
    model = nk.from_netx(save_netx(net, tmp_path / "rec.net"))
    x = torch.from_numpy(_spikes(6, 3, batch=2)).double()
    target = torch.full((2, 3), 0.3, dtype=torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=1.0)  # about one integer unit per step
    losses = []
    for _ in range(4):
        loss = ((model(x).mean(0) - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        for p in (model[0].synapse.weight, model[0].synapse_rec.weight):
            assert p.grad is not None and p.grad.abs().sum() > 0
        opt.step()
        losses.append(float(loss.detach()))
    assert len(set(losses)) > 1, losses
    blk = model[0]
    for got, stored in ((blk.synapse, net.layers[0].weight), (blk.synapse_rec, net.layers[0].weight_rec)):
        assert not np.array_equal(got.int_weight().numpy(), stored)
    nk.compile(model, target="loihi2", example_input=x).save(tmp_path / "tuned.net")
    back = load_netx(tmp_path / "tuned.net")
    np.testing.assert_array_equal(back.layers[0].weight, blk.synapse.int_weight().numpy())
    np.testing.assert_array_equal(back.layers[0].weight_rec, blk.synapse_rec.int_weight().numpy())
    assert back.layers[0].exact_weights
    with torch.no_grad():
        np.testing.assert_array_equal(simulate(back, x.numpy()), model(x).numpy())


def test_gpu_refuses_the_recurrent_lava_block(tmp_path):
    """gpu's float neuron arithmetic is not Lava's: a refusal naming the recurrent layer's Lava neuron."""
    path = save_netx(LoihiNetwork(6, [LoihiLayer(np.ones((4, 6)), 1024, 0, 3, weight_rec=np.eye(4) * 8)]),
                     tmp_path / "r.net")
    with pytest.raises(nk.CompileError, match=r"gpu: .*node '0(\.neuron)?' \(neuron\).*runs bit-exactly on targets "
                                              r"'loihi2' and 'onnx_int'"):
        nk.compile(nk.from_netx(path), target="gpu", example_input=torch.from_numpy(_spikes(6, 0)).float())
