"""Per-synapse delays through NIR: export decomposed by delay value (Delay -> Linear branches), nk.from_nir rebuilds
a rounded DelayedLinear.

Tolerance: the round trips run the same float32 weights and integer delays, so they are compared with
``torch.testing.assert_close(rtol=1e-5, atol=1e-6)`` (float tolerance; today they are bit-identical).
"""
import nir
import numpy as np
import pytest
import torch
from tests.helpers.delay_cases import demo_delay_snn
from tests.helpers.delay_cases import spikes as demo_spikes
from torch import nn

import neurokit as nk
from neurokit.layers.delays import DelayedLinear, delay_layers, delayed_linear_reference

DT = 1e-4
DECOMPOSITION = "per-synapse delays decomposed by delay value"
DELAY = torch.tensor([[0, 5, 1, 0], [3, 3, 0, 5], [1, 0, 5, 3]])  # values 0, 1, 3, 5 (no 2, no 4)


def _spikes(seed, shape, p=0.5):
    return (torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def _delayed(bias: bool, out_neuron: bool) -> nn.Sequential:
    torch.manual_seed(0)
    layer = DelayedLinear(4, 3, max_delay=5, mode="random", bias=bias, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer.delay.copy_(DELAY)
        layer.weight.mul_(3.0)
        if bias:
            layer.bias.copy_(torch.tensor([0.2, -0.1, 0.3]))
    return nn.Sequential(layer, *([nk.LIF(tau=2.0, v_threshold=0.3)] if out_neuron else [])).eval()


def test_export_decomposes_by_delay_value_and_type_checks(tmp_path):
    model = _delayed(bias=True, out_neuron=True)
    x = _spikes(0, (20, 2, 4))
    cm = nk.compile(model, target="nir", example_input=x)
    cm.save(tmp_path / "d.nir")
    g = nir.read(tmp_path / "d.nir", type_check=True)
    assert {k: type(v).__name__ for k, v in g.nodes.items()} == {
        "input": "Input", "0_w0": "Affine", "0_delay1": "Delay", "0_w1": "Linear", "0_delay3": "Delay",
        "0_w3": "Linear", "0_delay5": "Delay", "0_w5": "Linear", "1": "LIF", "output": "Output"}
    assert sorted(g.edges) == sorted([("input", "0_w0"), ("input", "0_delay1"), ("0_delay1", "0_w1"),
                                      ("input", "0_delay3"), ("0_delay3", "0_w3"), ("input", "0_delay5"),
                                      ("0_delay5", "0_w5"), ("0_w0", "1"), ("0_w1", "1"), ("0_w3", "1"),
                                      ("0_w5", "1"), ("1", "output")])
    w, d = model[0].weight.detach().numpy(), DELAY.numpy()
    for k in (0, 1, 3, 5):
        lin = g.nodes[f"0_w{k}"]
        np.testing.assert_array_equal(lin.weight, np.where(d == k, w, 0))  # only the synapses with delay k
        assert lin.input_type["input"].tolist() == [4] and list(lin.output_type["output"]) == [3]
        meta = {"dt": DT, "delay_steps": k, "unit": "s", "layer": "0", "decomposition": DECOMPOSITION}
        assert lin.metadata == meta
        if k:
            delay = g.nodes[f"0_delay{k}"]
            np.testing.assert_allclose(delay.delay, np.full(4, k * DT))  # seconds, every input channel
            assert delay.input_type["input"].tolist() == [4] and delay.metadata == meta
    np.testing.assert_array_equal(g.nodes["0_w0"].bias, model[0].bias.detach().numpy())
    assert g.metadata["delays"] == DECOMPOSITION and g.metadata["dt"] == DT

    back = nk.from_nir(tmp_path / "d.nir")
    assert isinstance(back[0], DelayedLinear) and back[0].is_rounded
    assert torch.equal(back[0].delay, DELAY) and torch.equal(back[0].weight, model[0].weight)
    with torch.no_grad():
        ref = model(x)
        assert ref.sum() > 0
        torch.testing.assert_close(back(x), ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(cm.run(x), ref, rtol=1e-5, atol=1e-6)


def test_delayed_layer_as_graph_output_sums_into_output_node():
    model = _delayed(bias=False, out_neuron=False)
    x = _spikes(1, (15, 2, 4))
    cm = nk.compile(model, target="nir", example_input=x)
    assert sum(b == "output" for _, b in cm.artefact.graph.edges) == 4
    with torch.no_grad():
        torch.testing.assert_close(cm.run(x), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delay_snn_round_trip(tmp_path, seed):
    """The demo's delay SNN (2 -> 64 -> 4, delays 0..12, folded batch norm, LI readout): NIR -> neurokit == eager."""
    model = demo_delay_snn(seed)
    x = demo_spikes(seed, T=80, B=3)
    for layer in delay_layers(model):  # the delay 0 (no Delay node) and max_delay are both exported
        assert {0, 12} <= set(layer.delay.unique().tolist())
    cm = nk.compile(model, target="nir", example_input=x)
    cm.save(tmp_path / "snn.nir")
    g = nir.read(tmp_path / "snn.nir", type_check=True)
    assert type(g.nodes["readout"]).__name__ == "LI" and "hidden_0_0_delay12" in g.nodes
    assert "hidden_0_0_delay0" not in g.nodes and "hidden_0_0_w0" in g.nodes
    back = nk.from_nir(tmp_path / "snn.nir")
    assert [type(m).__name__ for m in back] == ["DelayedLinear", "LIF", "DelayedLinear", "LeakyIntegrator"]
    assert torch.equal(back[2].delay, model.output.delay)
    with torch.no_grad():
        ref = model(x)
        assert 0.02 < model.hidden(x).mean() < 0.5 and ref.abs().max() > 1.0
        torch.testing.assert_close(cm.run(x), ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(back(x), ref, rtol=1e-5, atol=1e-6)


def test_delay_snn_as_built_by_the_demo_round_trips():
    model = nk.models.round_delays(nk.models.delay_snn(
        in_features=2, num_classes=4, hidden=64, layers=1, max_delay=12, dropout=0.0, readout_tau=20.0,
        sigma_final=0.1, anneal_fraction=0.5, seed=0)).eval()
    x = demo_spikes(5, T=60, B=2, p=0.5)
    cm = nk.compile(model, target="nir", example_input=x)
    with torch.no_grad():
        torch.testing.assert_close(cm.run(x), model(x), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- hand-built NIR graphs
def _graph(delay_s):
    """input [3] -> Delay(delay_s seconds) -> Affine(2 x 3, bias [0.5, -0.5]) -> output; graph dt 1e-4."""
    w = np.arange(1, 7, dtype=np.float32).reshape(2, 3) / 4
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "dly": nir.Delay(delay=np.asarray(delay_s, dtype=np.float64)),
             "fc": nir.Affine(weight=w, bias=np.array([0.5, -0.5], np.float32)),
             "output": nir.Output(output_type={"output": np.array([2])})}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "dly"), ("dly", "fc"), ("fc", "output")], metadata={"dt": DT})


def test_single_delay_linear_chain_with_per_channel_delays_imports():
    g = _graph([0.0, 2 * DT, 4 * DT])
    layer = nk.from_nir(g)[0]
    assert isinstance(layer, DelayedLinear)
    assert layer.delay.tolist() == [[0, 2, 4], [0, 2, 4]]
    x = _spikes(2, (12, 2, 3))
    with torch.no_grad():
        ref = delayed_linear_reference(x, layer.weight, torch.tensor([[0, 2, 4]] * 2), torch.tensor([0.5, -0.5]))
        torch.testing.assert_close(layer(x), ref, rtol=1e-5, atol=1e-6)


def test_non_integer_delay_is_rejected_on_import(tmp_path):
    nir.write(tmp_path / "half.nir", _graph(np.full(3, 1.5 * DT)))
    with pytest.raises(ValueError, match=r"node 'dly' \(Delay\): delay 0\.00015 s is 1\.5 steps of dt=0\.0001 s; "
                                         r"neurokit delays must be non-negative whole time steps"):
        nk.from_nir(tmp_path / "half.nir")
    with pytest.raises(ValueError, match=r"delay -0\.0002 s is -2 steps"):
        nk.from_nir(_graph(np.full(3, -2 * DT)))


def test_delay_not_feeding_a_linear_is_rejected():
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                            "dly": nir.Delay(delay=np.full(3, DT)),
                            "output": nir.Output(output_type={"output": np.array([3])})},
                     edges=[("input", "dly"), ("dly", "output")])
    with pytest.raises(ValueError, match=r"node 'dly' \(Delay\): neurokit imports a Delay only as the input of one "
                                         r"Linear/Affine"):
        nk.from_nir(g)
