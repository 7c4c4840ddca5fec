"""``nk.from_nir`` on graphs Rockpool 3.1's ``to_nir`` writes (made here by calling Rockpool): ``LIFTorch`` (NIR
CubaLIF), ``LIFNeuronTorch`` (LIF) and ``ExpSynTorch`` (LI) MLPs read by Rockpool's signature (``r = tau exp(-dt/tau)
/ dt`` at its default ``dt = 1e-3``, or at a ``dt=`` given) run as Rockpool does: decay ``exp(-dt/tau)``, several spikes
per step (``StepPWL``), reset by subtraction."""

import pytest
import torch
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import ExpSynTorch, LIFNeuronTorch, LIFTorch, LinearTorch
from rockpool.nn.modules.torch.nir import to_nir

from tests.helpers.nir_import import random_spikes as _spikes, import_with_messages as _import

T, B = 40, 3


def _net(cell, dt=1e-3):
    torch.manual_seed(4)
    make = {"cuba": lambda n: LIFTorch(n, tau_mem=0.004, tau_syn=0.002, threshold=0.5, dt=dt),
            "lif": lambda n: LIFNeuronTorch(n, tau_mem=0.004, threshold=0.5, dt=dt),
            "li": lambda n: ExpSynTorch(n, tau=0.004, dt=dt)}[cell]
    net = Sequential(LinearTorch((10, 12), has_bias=False), make(12), LinearTorch((12, 5), has_bias=False), make(5))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, LinearTorch):
                m.weight.mul_(3.0)
    return net


def _theirs(net, x):
    """Rockpool's run of ``x [T, B, N]`` (Rockpool is batch-major), time-major again."""
    net.reset_state()
    with torch.no_grad():
        out, _, _ = net(x.transpose(0, 1))
    return out.transpose(0, 1)


@pytest.mark.parametrize("cell", ["cuba", "lif"])
def test_rockpool_spiking_mlp_matches_rockpool(cell):
    """Exact, spike counts above 1 included; one warning naming both neuron nodes and the Rockpool rule."""
    net = _net(cell)
    x = _spikes(5, (T, B, 10))
    graph = to_nir(net, x[0, :1])
    theirs = _theirs(net, x)
    model, caught = _import(graph)
    assert len(caught) == 1 and "Rockpool's export signature" in caught[0] and "StepPWL" in caught[0]
    with torch.no_grad():
        assert theirs.max() > 1 and (theirs == 0).float().mean() > 0.2      # counts, and silent steps
        assert torch.equal(model(x), theirs)
        single, _ = _import(graph, multi_spike=False)
        assert single(x).max() == 1


def test_rockpool_at_another_dt_needs_dt():
    """A graph exported at dt = 5e-4 is Rockpool's at that dt: from_nir(dt=5e-4) reads it exactly."""
    net = _net("cuba", dt=5e-4)
    x = _spikes(6, (T, B, 10))
    graph = to_nir(net, x[0, :1])
    theirs = _theirs(net, x)
    model, caught = _import(graph, dt=5e-4)
    assert len(caught) == 1 and "Rockpool's export signature" in caught[0]
    with torch.no_grad():
        assert theirs.sum() > 0
        assert torch.equal(model(x), theirs)


def test_rockpool_exp_syn_trace_matches_rockpool():
    """ExpSynTorch (NIR LI, i <- exp(-dt/tau) (i + x)): the float traces agree to float32 rounding (neurokit's
    ``v (1 - 1/tau) + x`` with the gain folded into the weights is not Rockpool's operation order)."""
    net = _net("li")
    x = _spikes(7, (T, B, 10))
    graph = to_nir(net, x[0, :1])
    theirs = _theirs(net, x)
    model, caught = _import(graph)
    assert len(caught) == 1 and "node '1_ExpSynTorch'" in caught[0]
    with torch.no_grad():
        assert theirs.abs().max() > 1
        torch.testing.assert_close(model(x), theirs, rtol=1e-5, atol=1e-5)
