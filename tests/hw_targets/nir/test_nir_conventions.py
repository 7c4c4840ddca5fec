"""``nk.from_nir`` on graphs written by other frameworks: snnTorch ``export_to_nir``, Norse ``to_nir`` and Sinabs
``to_nir`` graphs (made here by calling those packages) import with each exporter's conventions and spike exactly
as that framework's own run of the exported model; the choices the graph leaves open are named in one warning; a
network that cannot spike is reported; ``v_leak`` folds into the bias."""

import norse.torch as norse
from norse.torch.functional.lif_box import LIFBoxFeedForwardState
import pytest
import sinabs
import sinabs.activation as sa
import sinabs.layers as sl
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir
from torch import nn

from tests.helpers.nir_import import random_spikes as _spikes, import_recording as _import

T, B = 40, 3


def _snntorch_run(net, x):
    snn_utils.reset(net)
    with torch.no_grad():
        return torch.stack([net(x[t]) for t in range(x.shape[0])])


def _snntorch_mlp(neuron: str, reset: str, seed: int):
    torch.manual_seed(seed)
    def cell(n):
        kw = dict(threshold=torch.full((n,), 0.5), reset_mechanism=reset, init_hidden=True)
        if neuron == "leaky":
            return snn.Leaky(beta=torch.full((n,), 0.85), **kw)
        return snn.Synaptic(alpha=torch.full((n,), 0.6), beta=torch.full((n,), 0.8), **kw)
    net = nn.Sequential(nn.Linear(10, 12), cell(12), nn.Linear(12, 5), cell(5))
    with torch.no_grad():
        for lin in (net[0], net[2]):
            lin.weight.mul_(2.5)
    return net


@pytest.mark.parametrize("neuron", ["leaky", "synaptic"])
def test_snntorch_default_reset_by_subtraction(neuron):
    """snnTorch's default (subtract, reset_delay=True) is not in the graph: the default rule picks it and says so
    once; reset="subtract" gives the same spikes without the reset note; both equal snnTorch's run."""
    net = _snntorch_mlp(neuron, "subtract", 0)
    x = _spikes(1, (T, B, 10))
    graph = export_to_nir(net, x[0, 0])
    theirs = _snntorch_run(net, x)
    model, caught = _import(graph)
    assert len(caught) == 1
    msg = str(caught[0].message)
    assert "node '1'" in msg and "node '3'" in msg and "'subtract'" in msg and "snnTorch" in msg
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(model(x), theirs)
        explicit, caught = _import(graph, reset="subtract")
        assert torch.equal(explicit(x), theirs)
    assert all("reset not recorded" not in str(w.message) for w in caught)


@pytest.mark.parametrize("neuron", ["leaky", "synaptic"])
def test_snntorch_reset_to_zero_with_reset_zero(neuron):
    """reset="zero": Leaky resets on the same step, Synaptic one step late (its reset_delay=True), as snnTorch."""
    net = _snntorch_mlp(neuron, "zero", 1)
    x = _spikes(2, (T, B, 10))
    model, _ = _import(export_to_nir(net, x[0, 0]), reset="zero")
    theirs = _snntorch_run(net, x)
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(model(x), theirs)


def _norse_run(model, x, state=None):
    outs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            out, state = model(x[t], state)
            outs.append(out)
    return torch.stack(outs)


@pytest.mark.parametrize("cell", ["lif_box", "lif", "iaf", "lif_box_leak"])
def test_norse_graphs_match_norse(cell):
    """Norse 1.1 writes tau = dt / tau_mem_inv (r = 1): read as Norse steps (dt * tau_mem_inv); LIFCell's current
    jumps by the input unscaled; v_leak != v_reset is folded into the bias; IAFCell resets to v_reset."""
    torch.manual_seed(3)
    make = {"lif_box": lambda: norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.tensor(150.0),
                                                                        v_th=torch.tensor(0.4))),
            "lif_box_leak": lambda: norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.tensor(150.0),
                                                                             v_leak=torch.tensor(0.3),
                                                                             v_th=torch.tensor(0.5))),
            "lif": lambda: norse.LIFCell(norse.LIFParameters(tau_syn_inv=torch.tensor(300.0),
                                                             tau_mem_inv=torch.tensor(150.0),
                                                             v_th=torch.tensor(0.2))),
            "iaf": lambda: norse.IAFCell(norse.IAFParameters(v_th=torch.tensor(1.2)))}[cell]
    model = norse.SequentialState(nn.Linear(10, 8), make(), nn.Linear(8, 4), make())
    with torch.no_grad():
        for lin in (model[0], model[2]):
            lin.weight.mul_(3.0)
    x = _spikes(4, (T, B, 10))
    graph = norse.to_nir(model, x[0])
    # Norse starts a LIFBox membrane at v_leak, NIR leaves the initial state open and neurokit starts at rest
    # (v_reset): with v_leak != v_reset, Norse is started at v_reset here
    rest = [None, LIFBoxFeedForwardState(torch.zeros(B, 8)), None, LIFBoxFeedForwardState(torch.zeros(B, 4))]
    theirs = _norse_run(model, x, rest if cell == "lif_box_leak" else None)
    ours, caught = _import(graph, reset="zero", multi_spike=False)     # IAFCell: one spike per step
    assert len(caught) == 1 and "node '1'" in str(caught[0].message)
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(ours(x), theirs)


def test_sinabs_cnn_if_r1_without_dt():
    """A Sinabs CNN (IAF -> NIR IF with r = 1, no dt; SumPool2d) imports with gain 1 per step and Sinabs's reset by
    subtraction, and spikes as Sinabs does; read at dt = 1e-4 instead, it cannot spike and is reported."""
    torch.manual_seed(5)
    iaf = dict(batch_size=B, spike_fn=sa.SingleSpike, spike_threshold=0.7)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), sl.IAFSqueeze(**iaf), sl.SumPool2d(2),
                        nn.Conv2d(4, 4, 3, bias=False), sl.IAFSqueeze(**iaf), nn.Flatten(),
                        nn.Linear(16, 5, bias=False), sl.IAFSqueeze(**iaf))
    x = _spikes(6, (T, B, 2, 8, 8), p=0.3)
    graph = sinabs.to_nir(net, torch.zeros(B, 2, 8, 8))
    with torch.no_grad():
        net.apply(lambda m: m.reset_states() if isinstance(m, sl.StatefulLayer) else None)
        flat = x.transpose(0, 1).reshape(B * T, 2, 8, 8)                  # Sinabs's [B*T, ...] layout
        theirs = net(flat).reshape(B, T, 5).transpose(0, 1)
    model, caught = _import(graph, multi_spike=False)                   # SingleSpike, not Sinabs's default
    assert len(caught) == 1
    assert "r = 1 with no dt" in str(caught[0].message) and "MembraneSubtract" in str(caught[0].message)
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(model(x), theirs)
    _, caught = _import(graph, dt=1e-4)
    silent = [w for w in caught if "cannot spike" in str(w.message)]
    assert len(silent) == 1 and "node '1'" in str(silent[0].message) and "dt=" in str(silent[0].message)


def test_sinabs_lif_time_constant_in_steps():
    """Sinabs writes LIF tau_mem in steps (r = 1) and decays by exp(-1/tau), adding (1 - alpha) x (norm_input):
    nk.LIF(tau = 1 / (1 - exp(-1/tau)), decay_input=True) with Sinabs's reset by subtraction."""
    torch.manual_seed(7)
    lif = dict(tau_mem=5.0, batch_size=B, spike_fn=sa.SingleSpike, spike_threshold=0.4)
    net = nn.Sequential(nn.Linear(10, 8), sl.LIFSqueeze(**lif), nn.Linear(8, 4), sl.LIFSqueeze(**lif))
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[2].weight.mul_(3.0)
    x = _spikes(8, (T, B, 10))
    graph = sinabs.to_nir(net, torch.zeros(B, 10))
    with torch.no_grad():
        net.apply(lambda m: m.reset_states() if isinstance(m, sl.StatefulLayer) else None)
        theirs = net(x.transpose(0, 1).reshape(B * T, 10)).reshape(B, T, 4).transpose(0, 1)
    model, caught = _import(graph, multi_spike=False)
    assert len(caught) == 1 and "Sinabs's export signature" in str(caught[0].message)
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(model(x), theirs)


def test_cuba_lif_v_leak_is_refused_by_name():
    """A CubaLIF filters a constant input through its current, so v_leak != v_reset cannot fold into a bias."""
    torch.manual_seed(9)
    model = norse.SequentialState(nn.Linear(4, 3), norse.LIFCell(norse.LIFParameters(v_leak=torch.tensor(0.2))))
    graph = norse.to_nir(model, torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"NIR node '1' \(CubaLIF\): v_leak=0.2.* cannot be folded"):
        _import(graph)


def test_norse_leaky_integrator_readout_with_v_leak():
    """Norse's LIBoxCell (NIR LI, r = 1, tau = dt / tau_mem_inv) with v_leak != 0: the leak is folded into the bias
    and the trace equals Norse's (started at 0, since NIR records no initial state)."""
    from norse.torch.functional.leaky_integrator_box import LIBoxState

    torch.manual_seed(10)
    li = norse.LIBoxCell(norse.LIBoxParameters(tau_mem_inv=torch.tensor(200.0), v_leak=torch.tensor(0.25)))
    model = norse.SequentialState(nn.Linear(10, 4), li)
    x = _spikes(11, (T, B, 10))
    graph = norse.to_nir(model, x[0])
    theirs = _norse_run(model, x, [None, LIBoxState(torch.zeros(B, 4))])
    ours, caught = _import(graph)
    assert len(caught) == 1 and "Norse" in str(caught[0].message)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs, rtol=1e-5, atol=1e-6)
    assert theirs.abs().max() > 0.1
