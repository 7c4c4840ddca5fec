"""``nk.from_nir`` on graphs Spyx 1.0's ``spyx.nir.to_nir`` writes (made here by calling Spyx and run in Spyx/JAX on
CPU): ``LIF`` / ``CuBaLIF`` MLPs, an ``IF`` next to a ``LIF``, a ``Conv -> LIF -> SumPool -> Flatten -> Linear ->
LIF`` net, read by Spyx's signature (``r = beta``, ``tau = dt / (1 - beta)``, rule 3 of
:mod:`hw_targets.nir.conventions`) and run as Spyx does: ``v <- beta v + x``, subtraction, spikes one step late, a
Linear after a Flatten reading Spyx's channels-last order.

Tolerance: the spikes are compared exactly. The membranes are not bit-equal (neurokit computes ``v - v / tau + x``
with ``tau = 1 / (1 - beta)``, Spyx ``beta * v + x``, both in float32), so a membrane within a few float32 ulps of the
threshold could in principle spike in one and not the other; with these seeds no step comes that close.
"""

import jax.numpy as jnp
import nir
import numpy as np
import pytest
import spyx.nir
import spyx.nn as snn
import torch
from flax import nnx

from tests.helpers.nir_import import import_with_messages as _import

import neurokit as nk

T, B = 30, 3
SPYX_RULE = "Spyx's export signature (r = beta, tau = dt / (1 - beta))"


def _spikes(seed, shape, p=0.4):
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def _theirs(net, x):
    """Spyx's own run (``spyx.nn.run``: a ``jax.lax.scan`` over the leading time axis) of ``x [T, B, ...]``."""
    out, _ = snn.run(net, jnp.asarray(x))
    return np.asarray(out)


def _ours(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def _neuron(kind, n, rngs):
    """Scalar ``beta`` / ``alpha``: neurokit takes one value per layer (Spyx's default is a random one per neuron)."""
    return {"lif": lambda: snn.LIF((n,), beta=0.8, threshold=1.0, rngs=rngs),
            "cuba": lambda: snn.CuBaLIF((n,), alpha=0.7, beta=0.85, threshold=1.0, rngs=rngs),
            "if": lambda: snn.IF((n,), threshold=1.0)}[kind]()


def _mlp(first, second, seed=0):
    rngs = nnx.Rngs(seed)
    return snn.Sequential(nnx.Linear(10, 12, rngs=rngs), _neuron(first, 12, rngs), nnx.Linear(12, 5, rngs=rngs),
                          _neuron(second, 5, rngs))


@pytest.mark.parametrize("kind,dt", [("lif", 1.0), ("cuba", 1.0), ("lif", 1e-3)])
def test_spyx_mlp_matches_spyx(kind, dt):
    """Exact. Exported at ``to_nir``'s default ``dt = 1`` the graph is read without arguments; exported at another
    step it is Spyx's at the ``dt=`` given. One warning naming both neuron nodes and Spyx's rule."""
    net = _mlp(kind, kind)
    x = _spikes(1, (T, B, 10))
    theirs = _theirs(net, x)
    graph = spyx.nir.to_nir(net, {"input": np.array([10])}, {"output": np.array([5])}, dt=dt)
    model, caught = _import(graph, **({} if dt == 1.0 else {"dt": dt}))
    assert len(caught) == 1 and all(f"node 'layer_{k}' ({kind})" in caught[0] for k in (1, 3))
    assert caught[0].count(SPYX_RULE) == 2 and "spikes one step late" in caught[0]
    assert theirs.sum() > 20 and (theirs == 0).mean() > 0.3      # spiking, and silent steps
    np.testing.assert_array_equal(_ours(model, x), theirs)


def test_spyx_if_next_to_lif_is_read_as_spyx(tmp_path):
    """An ``IF`` (NIR ``IF``, ``r = 1``: Sinabs's IAF export field for field) in a graph that also has a Spyx LIF is
    Spyx's IF (exact, through a ``.nir`` file); a graph of Spyx IFs alone carries no Spyx signature and is read by the
    step-based rule (Sinabs IAF / Norse IAFCell), which the warning says."""
    net = _mlp("if", "lif")
    x = _spikes(2, (T, B, 10))
    theirs = _theirs(net, x)
    path = tmp_path / "spyx_if.nir"
    nir.write(path, spyx.nir.to_nir(net, {"input": np.array([10])}, {"output": np.array([5])}))
    model, caught = _import(path)
    assert len(caught) == 1 and "node 'layer_1' (if): " + SPYX_RULE in caught[0]
    assert "node 'layer_3' (lif): " + SPYX_RULE in caught[0]
    assert theirs.sum() > 10
    np.testing.assert_array_equal(_ours(model, x), theirs)
    only_if = spyx.nir.to_nir(_mlp("if", "if"), {"input": np.array([10])}, {"output": np.array([5])})
    _, caught = _import(only_if)
    assert len(caught) == 1 and SPYX_RULE not in caught[0]
    assert "node 'layer_1' (if): r = 1 with no dt (a step-based exporter: Sinabs IAF, Norse IAFCell)" in caught[0]


def test_spyx_conv_flatten_net_matches_spyx():
    """``nnx.Conv`` (SAME) -> LIF -> ``SumPool`` (VALID, NIR SumPool2d) -> ``spyx.nn.Flatten`` -> ``nnx.Linear`` -> LIF.
    Spyx runs channels-last
    ``(B, H, W, C)`` and ``to_nir`` writes the Linear's kernel in that flatten order while the Conv2d / LIF nodes are
    channels-first; neurokit reads the input channels-first, so the Linear's columns are reordered (named in the
    warning). Exact; without the reordering the spikes after the Linear differ."""
    C, H, W = 2, 6, 5
    rngs = nnx.Rngs(1)
    net = snn.Sequential(nnx.Conv(C, 4, (3, 3), rngs=rngs), snn.LIF((H, W, 4), beta=0.8, rngs=rngs),
                         snn.SumPool((2, 2), (2, 2), "VALID"), snn.Flatten(), nnx.Linear(4 * 3 * 2, 7, rngs=rngs),
                         snn.LIF((7,), beta=0.7, rngs=rngs))
    for layer, gain in ((net.layers[0], 3.0), (net.layers[4], 2.0)):
        layer.kernel[...] = layer.kernel[...] * gain
    x = _spikes(3, (T, B, H, W, C), p=0.3)
    theirs = _theirs(net, x)
    graph = spyx.nir.to_nir(net, {"input": np.array([C, H, W])}, {"output": np.array([7])})
    assert isinstance(graph.nodes["layer_2"], nir.SumPool2d) and isinstance(graph.nodes["layer_3"], nir.Flatten)
    model, caught = _import(graph)
    assert len(caught) == 1 and all(f"node 'layer_{k}' (lif): " + SPYX_RULE in caught[0] for k in (1, 5))
    assert "node 'layer_4' (synapse): inputs after Flatten of (4, 3, 2) read in Spyx's channels-last" in caught[0]
    ours = _ours(model, np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3)))   # NIR's (C, H, W)
    assert theirs.sum() > 50
    np.testing.assert_array_equal(ours, theirs)
    linear = model[4]
    with torch.no_grad():       # the Linear in Spyx's column order: other spikes
        linear.weight.copy_(torch.from_numpy(np.asarray(graph.nodes["layer_4"].weight)))
    assert not np.array_equal(_ours(model, np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3))), theirs)


def test_spyx_default_per_neuron_beta_is_refused_by_name():
    """Spyx's default ``LIF`` draws a ``beta`` per neuron; neurokit neurons take one value per layer."""
    rngs = nnx.Rngs(0)
    net = snn.Sequential(nnx.Linear(10, 12, rngs=rngs), snn.LIF((12,), rngs=rngs))
    graph = spyx.nir.to_nir(net, {"input": np.array([10])}, {"output": np.array([12])})
    with pytest.raises(ValueError, match=r"NIR node 'layer_1': field 'r' differs across neurons .*one value per layer"):
        nk.from_nir(graph)
