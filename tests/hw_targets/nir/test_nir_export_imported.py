"""What ``nk.from_nir`` imports exports again: a Sinabs CNN (IF with ``r = 1``, SumPool2d) round-trips to the same
nodes and the same spikes; neurokit's IF / SumPool2d graphs are accepted by Norse's importer (its run spikes as
ours) and neurokit's IF graphs by snnTorch's (which requires ``r = 1``)."""
import warnings

import nir
import norse.torch as norse
import numpy as np
import sinabs
import sinabs.activation as sa
import sinabs.layers as sl
import torch
from snntorch.import_nir import import_from_nir
from torch import nn

import neurokit as nk

T = 20


def _quiet_from_nir(graph, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nk.from_nir(graph, **kw)


def test_sinabs_cnn_round_trip_is_identical(tmp_path):
    torch.manual_seed(0)
    iaf = dict(batch_size=2, spike_fn=sa.SingleSpike, spike_threshold=0.6)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), sl.IAFSqueeze(**iaf), sl.SumPool2d(2),
                        nn.Flatten(), nn.Linear(64, 5, bias=False), sl.IAFSqueeze(**iaf))
    graph = sinabs.to_nir(net, torch.zeros(2, 2, 8, 8))
    model = _quiet_from_nir(graph, multi_spike=False).eval()           # SingleSpike, not Sinabs's default
    x = (torch.rand(T, 2, 2, 8, 8, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    cm = nk.compile(model, target="nir", example_input=x)
    cm.save(tmp_path / "back.nir")
    back = nir.read(tmp_path / "back.nir")
    kinds = lambda g: sorted(type(n).__name__ for n in g.nodes.values())
    assert kinds(back) == kinds(graph)
    for name in ("1", "5"):
        assert np.all(back.nodes[name].r == 1.0) and np.allclose(back.nodes[name].v_threshold, 0.6)
    np.testing.assert_array_equal(back.nodes["2"].kernel_size, graph.nodes["2"].kernel_size)
    np.testing.assert_allclose(back.nodes["0"].weight, graph.nodes["0"].weight)
    with torch.no_grad():
        first = model(x)
        again = nk.from_nir(tmp_path / "back.nir")(x)      # the metadata it carries now: no warning needed
    assert 0 < first.mean() < 0.8
    assert torch.equal(again, first)


def _if_cnn():
    torch.manual_seed(2)
    model = nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), nk.IF(v_threshold=0.5),
                          nk.layers.AvgPool2d(2, divisor_override=1), nk.layers.Flatten(), nn.Linear(64, 5),
                          nk.IF(v_threshold=0.5))
    return model.eval()


def test_norse_imports_our_if_sumpool_graph_and_spikes_as_we_do():
    """Norse's from_nir reads IF (v += x, reset to v_reset), SumPool2d and Conv2d as neurokit wrote them. (Norse's
    Flatten import takes NIR's batch-less start_dim as a batched one, so the comparison runs one sample.)"""
    model = _if_cnn()
    x = (torch.rand(T, 1, 2, 8, 8, generator=torch.Generator().manual_seed(3)) < 0.3).float()
    graph = nk.compile(model, target="nir", example_input=x).artefact.graph
    assert {"IF", "SumPool2d"} <= {type(n).__name__ for n in graph.nodes.values()}
    theirs_model = norse.from_nir(graph)
    state, outs = None, []
    with torch.no_grad():
        ours = model(x)
        for t in range(T):
            out, state = theirs_model(x[t], state)
            outs.append(out)
    theirs = torch.stack(outs).reshape(ours.shape)
    assert 0 < ours.mean() < 0.8
    assert torch.equal(theirs, ours)


def test_snntorch_accepts_our_if_graph():
    """snnTorch's importer requires IF r == 1 (neurokit writes r = 1 per step) and builds its own stand-in for IF
    (snn.Leaky(beta=0.9), its documented choice), which runs on our graph."""
    model = nn.Sequential(nn.Linear(6, 4), nk.IF(v_threshold=0.5)).eval()
    x = (torch.rand(T, 1, 6, generator=torch.Generator().manual_seed(4)) < 0.4).float()
    graph = nk.compile(model, target="nir", example_input=x).artefact.graph
    net = import_from_nir(graph)
    state, outs = None, []
    with torch.no_grad():
        for t in range(T):
            out, state = net(x[t], state)
            outs.append(out[0] if isinstance(out, tuple) else out)
    assert torch.stack(outs).shape[-1] == 4
    assert np.all(graph.nodes["1"].r == 1.0)
