"""``nk.from_nir`` on graphs SpikingJelly 2.0's ``export_to_nir`` writes (made here by calling SpikingJelly): each
spikes exactly as SpikingJelly's own multi-step run of the exported model; the rules that read them are named in one
warning (SpikingJelly records no dt: its default 1e-4 is the default rule's; its ``LIFNode(decay_input=False)`` and
``CUBALIFNode`` carry snnTorch's fields, read with ``reset=("zero", "same_step")``, SpikingJelly's hard reset)."""

import pytest
import torch
from spikingjelly.activation_based import functional, layer, neuron
from spikingjelly.activation_based.nir_exchange import export_to_nir
from torch import nn

from tests.helpers.nir_import import random_spikes as _spikes, import_with_messages as _import

T, B = 40, 3


def _run(net, x):
    functional.reset_net(net)
    with torch.no_grad():
        return net(x)


CELLS = {
    "lif": (lambda: neuron.LIFNode(tau=2.5, decay_input=True, v_threshold=0.5), 6.0, {}, "no dt in the graph"),
    "lif_no_decay_input": (lambda: neuron.LIFNode(tau=3.0, decay_input=False, v_threshold=0.8), 2.5,
                           {"reset": ("zero", "same_step")}, "SpikingJelly's LIFNode(decay_input=False)"),
    "if": (lambda: neuron.IFNode(v_threshold=0.9, v_reset=0.2), 2.5, {}, "no dt in the graph"),
    "cuba": (lambda: neuron.CUBALIFNode(c_decay=0.6, v_decay=0.7, v_threshold=0.6), 2.0,
             {"reset": ("zero", "same_step")}, "CUBALIFNode"),
}


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_spikingjelly_mlp_matches_spikingjelly(cell):
    """LIFNode (both decay_input forms), IFNode (v_reset 0.2) and CUBALIFNode MLPs: exact, one warning."""
    make, scale, kw, note = CELLS[cell]
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(10, 12), make(), layer.Linear(12, 5), make())
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        net[0].weight.mul_(scale)
        net[2].weight.mul_(scale)
    x = _spikes(1, (T, B, 10))
    graph = export_to_nir(net, x)
    theirs = _run(net, x)
    model, caught = _import(graph, **kw)
    assert len(caught) == 1 and note in caught[0] and "node '_1'" in caught[0]
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(model(x), theirs)


def test_spikingjelly_cnn_matches_spikingjelly():
    """Conv2d -> IFNode -> AvgPool2d -> Conv2d -> LIFNode -> Flatten -> Linear -> IFNode: exact."""
    torch.manual_seed(2)
    net = nn.Sequential(layer.Conv2d(2, 4, 3, padding=1), neuron.IFNode(v_threshold=0.5), layer.AvgPool2d(2),
                        layer.Conv2d(4, 4, 3), neuron.LIFNode(tau=2.0, v_threshold=0.3), layer.Flatten(),
                        layer.Linear(16, 5), neuron.IFNode(v_threshold=0.4))
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        for m in (net[0], net[3], net[6]):
            m.weight.mul_(3.0)
    x = _spikes(3, (T, B, 2, 8, 8), p=0.3)
    graph = export_to_nir(net, x)
    theirs = _run(net, x)
    model, caught = _import(graph)
    assert len(caught) == 1
    with torch.no_grad():
        assert 0 < theirs.mean() < 0.8
        assert torch.equal(model(x), theirs)


def test_spikingjelly_soft_reset_has_no_graph():
    """SpikingJelly refuses to export a soft reset (v_reset=None): NIR records no reset mode (its own words)."""
    net = nn.Sequential(layer.Linear(4, 3), neuron.LIFNode(v_reset=None))
    functional.set_step_mode(net, "m")
    with pytest.raises(NotImplementedError, match="soft reset"):
        export_to_nir(net, torch.zeros(2, 1, 4))
