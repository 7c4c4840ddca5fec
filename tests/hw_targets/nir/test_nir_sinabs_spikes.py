"""``nk.from_nir`` on Sinabs 3.1 graphs with what ``sinabs.to_nir`` does not record: the spike function (the graph
is the same with ``MultiSpike``, Sinabs's default for ``IAF`` / ``LIF``, and ``SingleSpike``: the default rule reads
``MultiSpike`` and says so, ``multi_spike=False`` reads ``SingleSpike``) and ``ExpLeak`` (NIR LI with
``tau`` in steps, ``r = 1``: decay ``exp(-1/tau)``, input unscaled, ExpLeak's default ``norm_input=False``); all
compared with Sinabs's own run of the exported model."""

import pytest
import sinabs
import sinabs.activation as sa
import sinabs.layers as sl
import torch
from torch import nn

from tests.helpers.nir_import import random_spikes as _spikes, import_with_messages as _import

import neurokit as nk

T, B = 40, 3


def _sinabs_run(net, x, n_out):
    """Sinabs's run of ``x [T, B, ...]`` in its ``[B*T, ...]`` layout, time-major again."""
    net.apply(lambda m: m.reset_states() if isinstance(m, sl.StatefulLayer) else None)
    with torch.no_grad():
        return net(x.transpose(0, 1).reshape(B * T, *x.shape[2:])).reshape(B, T, n_out).transpose(0, 1)


def _mlp(cell, scale, seed):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(10, 8), cell(), nn.Linear(8, 4), cell())
    with torch.no_grad():
        net[0].weight.mul_(scale)
        net[2].weight.mul_(scale)
    return net


CASES = {
    "iaf_subtract": (lambda: sl.IAFSqueeze(batch_size=B, spike_fn=sa.MultiSpike, spike_threshold=0.5), 3.0, None),
    "iaf_reset": (lambda: sl.IAFSqueeze(batch_size=B, spike_fn=sa.MultiSpike, reset_fn=sa.MembraneReset(),
                                        spike_threshold=0.5), 3.0, "zero"),
    "lif_subtract": (lambda: sl.LIFSqueeze(tau_mem=3.0, batch_size=B, spike_fn=sa.MultiSpike, spike_threshold=0.3),
                     12.0, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sinabs_multi_spike_by_default(case):
    """IAF / LIF with MultiSpike (MembraneSubtract, and MembraneReset with reset="zero"): exact by the default rule,
    which names the choice and multi_spike=False; multi_spike=False gives one spike per step."""
    cell, scale, reset = CASES[case]
    net = _mlp(cell, scale, 1)
    x = _spikes(2, (T, B, 10))
    graph = sinabs.to_nir(net, torch.zeros(B, 10))
    theirs = _sinabs_run(net, x, 4)
    model, caught = _import(graph, reset=reset)
    assert len(caught) == 1 and "Sinabs's default MultiSpike" in caught[0] and "multi_spike=False" in caught[0]
    with torch.no_grad():
        assert theirs.max() > 1 and (theirs == 0).float().mean() > 0.2
        assert torch.equal(model(x), theirs)
        assert torch.equal(_import(graph, reset=reset, multi_spike=True)[0](x), theirs)
        assert _import(graph, reset=reset, multi_spike=False)[0](x).max() == 1


def test_sinabs_exp_leak_readout_matches_sinabs():
    """IAF (MultiSpike) -> Linear -> ExpLeak (NIR LI, tau in steps): the trace equals Sinabs's to float32 rounding
    (neurokit's ``v (1 - 1/tau) + x`` with ``tau = 1 / (1 - exp(-1/tau_mem))`` against Sinabs's ``alpha v + x``)."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(10, 8), sl.IAFSqueeze(batch_size=B, spike_threshold=0.5), nn.Linear(8, 4),
                        sl.ExpLeakSqueeze(tau_mem=4.0, batch_size=B))
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    x = _spikes(4, (T, B, 10))
    graph = sinabs.to_nir(net, torch.zeros(B, 10))
    theirs = _sinabs_run(net, x, 4)
    model, caught = _import(graph)
    assert len(caught) == 1 and "node '3' (li): Sinabs's export signature" in caught[0]
    with torch.no_grad():
        assert theirs.abs().max() > 1
        torch.testing.assert_close(model(x), theirs, rtol=1e-5, atol=1e-5)


def test_compile_refuses_multi_spike_neurons_by_name():
    """A spike count has no IR node: nk.compile names the module and the multi_spike=False way out."""
    net = _mlp(CASES["iaf_subtract"][0], 3.0, 5)
    model, _ = _import(sinabs.to_nir(net, torch.zeros(B, 10)))
    with pytest.raises(nk.errors.CompileError, match=r"unsupported module '1' \(MultiSpike\).*multi_spike=False"):
        nk.compile(model, target="nir", example_input=_spikes(6, (4, B, 10)))
