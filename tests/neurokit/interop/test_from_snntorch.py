"""``nk.from_snntorch``: snnTorch's default ``Leaky`` and ``Synaptic`` MLPs and CNNs spike exactly as snnTorch runs
them, then compile to ``onnx_int`` (bit-exact to the integer reference, with the one-step-late reset by subtraction)
and ``nir``; ``loihi2`` refuses naming the snnTorch setting to change; unsupported settings are refused by name."""
import numpy as np
import pytest
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim

T, B = 12, 2


def _snn_run(net, x):
    snn_utils.reset(net)
    with torch.no_grad():
        outs = [net(x[t]) for t in range(x.shape[0])]
    return torch.stack([o[0] if isinstance(o, tuple) else o for o in outs])


def _neuron(kind, **kw):
    if kind == "leaky":
        return snn.Leaky(beta=0.8, init_hidden=True, **kw)
    return snn.Synaptic(alpha=0.6, beta=0.8, init_hidden=True, **kw)


def _net(kind, arch, seed):
    torch.manual_seed(seed)
    if arch == "mlp":
        net = nn.Sequential(nn.Linear(16, 20), _neuron(kind), nn.Linear(20, 6), _neuron(kind, output=True))
        x = (torch.rand(T, B, 16) < 0.4).float()
    else:
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), _neuron(kind), nn.AvgPool2d(2), nn.Flatten(),
                            nn.Linear(4 * 4 * 4, 6), _neuron(kind, output=True))
        x = (torch.rand(T, B, 1, 8, 8) < 0.4).float()
    with torch.no_grad():
        for m in net:
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(2.0)
    return net, x


@pytest.mark.parametrize("kind", ["leaky", "synaptic"])
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_default_snntorch_models_spike_as_snntorch_and_compile(kind, arch):
    net, x = _net(kind, arch, 0)
    theirs = _snn_run(net, x)
    model = nk.from_snntorch(net).eval()
    with torch.no_grad():
        ours = model(x)
    assert 0 < theirs.mean() < 0.8
    assert torch.equal(ours, theirs)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    got, ref = cm.run(x).numpy(), integer_sim.run(cm.graph, x)
    np.testing.assert_array_equal(got, ref)
    assert ref.sum() > 0
    nir_cm = nk.compile(model, target="nir", example_input=x)
    assert torch.equal(nir_cm.run(x), ours)
    with pytest.raises(CompileError, match="loihi2: node '.*' \\(neuron\\): Lava's CUBA LIF resets v to 0.*set "
                                           "reset_mechanism='zero'"):
        nk.compile(model, target="loihi2", example_input=x)


def test_zero_reset_models_reach_loihi2():
    """The setting the loihi2 refusal names (Leaky reset_mechanism='zero'; Synaptic with reset_delay=False) gives
    snnTorch models Lava can run (a CUBA layer without bias: Lava adds a bias to v, not to the current); the
    converted model still spikes as snnTorch."""
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(16, 12), snn.Leaky(beta=0.8, reset_mechanism="zero", init_hidden=True),
                        nn.Linear(12, 6, bias=False),
                        snn.Synaptic(alpha=0.5, beta=0.8, reset_mechanism="zero", reset_delay=False, init_hidden=True))
    x = (torch.rand(T, B, 16) < 0.4).float()
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[2].weight.mul_(2.0)
    model = nk.from_snntorch(net).eval()
    with torch.no_grad():
        assert torch.equal(model(x), _snn_run(net, x))
    cm = nk.compile(model, target="loihi2", example_input=x)
    np.testing.assert_array_equal(cm.run(x).numpy(), integer_sim.run(cm.graph, x, latency=1))


@pytest.mark.parametrize("layer,match", [
    (lambda: snn.Leaky(beta=0.9, reset_mechanism="none", init_hidden=True), "reset_mechanism='subtract' or 'zero'"),
    (lambda: snn.Leaky(beta=0.9, reset_delay=False, init_hidden=True), "set reset_delay=True"),
    (lambda: snn.Leaky(beta=torch.tensor([0.5, 0.9, 0.9]), init_hidden=True), "beta differs across neurons"),
    (lambda: snn.Leaky(beta=0.9, graded_spikes_factor=2.0, init_hidden=True), "graded_spikes_factor=1.0"),
    (lambda: snn.Lapicque(beta=0.9, init_hidden=True), "only snnTorch Leaky and Synaptic"),
    (lambda: nn.Dropout2d(0.1), "use nn.Dropout"),
], ids=["no_reset", "subtract_without_reset_delay", "per_neuron_beta", "graded_spikes", "lapicque", "dropout2d"])
def test_unsupported_settings_are_refused_by_name(layer, match):
    net = nn.Sequential(nn.Linear(4, 3), layer())
    with pytest.raises(ValueError, match=f"from_snntorch: module '1'.*{match}"):
        nk.from_snntorch(net)
    with pytest.raises(TypeError, match="export_to_nir"):
        nk.from_snntorch(net[0])


def test_other_surrogate_keeps_spikes_and_warns():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(16, 6), snn.Leaky(beta=0.8, spike_grad=snn.surrogate.triangular(), init_hidden=True))
    x = (torch.rand(T, B, 16) < 0.4).float()
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    with pytest.warns(UserWarning, match="module '1': spike_grad .* the spikes are exact"):
        model = nk.from_snntorch(net)
    with torch.no_grad():
        theirs = _snn_run(net, x)
        assert theirs.sum() > 0
        assert torch.equal(model(x), theirs)
