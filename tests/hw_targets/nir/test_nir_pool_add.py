"""NIR export / import of average pooling (NIR AvgPool2d) and residual adds (several edges into one node, summed),
and the refusals for ops NIR cannot express (max-pool, attention).

Tolerance: the round trips run the same float32 weights through the same torch ops, so they are compared with
``torch.testing.assert_close(rtol=1e-5, atol=1e-6)`` (float tolerance; today they are bit-identical).
"""
import re

import nir
import numpy as np
import pytest
import torch
from snntorch.import_nir import import_from_nir
from torch import nn

import neurokit as nk
from neurokit.layers.delays import DelayedLinear
from hw_targets.nir.graph import GraphModel


def _spikes(seed, shape, p=0.5):
    return (torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def _pool_cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), nk.LIF(tau=2.0, v_threshold=0.3),
                         nk.layers.AvgPool2d(2),
                         nk.layers.Conv2d(4, 4, 3, padding=1), nk.IF(v_threshold=0.3),
                         nk.layers.AvgPool2d(3, stride=2, padding=1),
                         nk.layers.Flatten(), nn.Linear(16, 5), nk.layers.LeakyIntegrator(tau=10.0)).eval()


class ResidualCNN(nn.Module):
    """conv -> LIF -> avg-pool, two residual blocks ``lif(conv(s) + s)`` (SEW-style, spikes added), a residual sum
    of spikes into the readout Linear, an LI readout."""

    def __init__(self):
        super().__init__()
        self.stem, self.lif0 = nk.layers.Conv2d(2, 4, 3, padding=1), nk.LIF(tau=2.0, v_threshold=0.3)
        self.pool = nk.layers.AvgPool2d(2)
        self.conv1, self.lif1 = nk.layers.Conv2d(4, 4, 3, padding=1), nk.LIF(tau=3.0, v_threshold=0.3)
        self.conv2, self.lif2 = nk.layers.Conv2d(4, 4, 3, padding=1), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0,
                                                                                   v_threshold=0.2)
        self.flat, self.fc, self.ro = nk.layers.Flatten(), nn.Linear(64, 3), nk.layers.LeakyIntegrator(tau=10.0)

    def forward(self, x):
        s0 = self.pool(self.lif0(self.stem(x)))
        s1 = self.lif1(self.conv1(s0) + s0)
        s2 = self.lif2(self.conv2(s1) + s1)
        return self.ro(self.fc(self.flat(s2 + s0)))


def _round_trip(model, x, tmp_path):
    cm = nk.compile(model, target="nir", example_input=x)
    cm.save(tmp_path / "m.nir")
    graph = nir.read(tmp_path / "m.nir", type_check=True)
    back = nk.from_nir(tmp_path / "m.nir")
    with torch.no_grad():
        ref, out = model(x), back(x)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(cm.run(x), ref, rtol=1e-5, atol=1e-6)
    return graph, back, ref


@pytest.mark.parametrize("seed", [0, 1])
def test_avg_pool_cnn_exports_avgpool2d_and_round_trips(tmp_path, seed):
    model = _pool_cnn(seed)
    graph, back, ref = _round_trip(model, _spikes(seed, (20, 2, 2, 8, 8)), tmp_path)
    pools = {k: v for k, v in graph.nodes.items() if isinstance(v, nir.AvgPool2d)}
    assert sorted(pools) == ["2", "5"]
    assert pools["5"].kernel_size.tolist() == [3, 3] and pools["5"].stride.tolist() == [2, 2]
    assert pools["5"].padding.tolist() == [1, 1]
    assert pools["2"].output_type["output"].tolist() == [4, 4, 4]   # types inferred by nir.read
    assert isinstance(back, nn.Sequential) and isinstance(back[2], nk.layers.AvgPool2d)
    assert back[5].kernel_size == (3, 3) and back[5].padding == (1, 1) and back[5].count_include_pad
    with torch.no_grad():
        assert model[:5](_spikes(seed, (20, 2, 2, 8, 8))).mean() > 0.02 and ref.abs().max() > 0.1


@pytest.mark.parametrize("seed", [0, 1])
def test_residual_cnn_exports_summed_edges_and_round_trips(tmp_path, seed):
    torch.manual_seed(seed)
    model = ResidualCNN().eval()
    x = _spikes(10 + seed, (25, 2, 2, 8, 8))
    graph, back, ref = _round_trip(model, x, tmp_path)
    assert isinstance(graph.nodes["pool"], nir.AvgPool2d)
    assert not any("add" in k for k in graph.nodes)                 # an add is edges, not a node
    into = lambda node: sorted(a for a, b in graph.edges if b == node)
    assert into("lif1") == ["conv1", "pool"] and into("lif2") == ["conv2", "lif1"]
    assert into("flat") == ["lif2", "pool"]                          # s2 + s0 summed into the Flatten
    assert isinstance(back, GraphModel)
    assert ref.abs().max() > 0.1
    with torch.no_grad():
        assert model.lif2(model.conv2(model.lif1(model.conv1(model.pool(model.lif0(model.stem(x))))))).sum() > 0
    again = nk.compile(back, target="nir", example_input=x)          # the imported graph model compiles again
    strip = lambda k: k.removeprefix("layers_")                        # GraphModel's submodules are layers.<node>
    assert sorted((strip(a), strip(b)) for a, b in again.artefact.graph.edges) == sorted(graph.edges)


class ResidualMLP(nn.Module):
    def __init__(self, delayed: bool):
        super().__init__()
        self.fc0, self.lif0 = nn.Linear(8, 12), nk.LIF(tau=3.0, v_threshold=0.3, decay_input=False)
        self.fc1, self.lif1 = nn.Linear(12, 12), nk.LIF(tau=2.0, v_threshold=0.3, decay_input=False)
        if delayed:  # a delayed synapse reading a residual sum, summed with a skip edge into its neuron
            self.fc2 = DelayedLinear(12, 4, max_delay=3, mode="random", generator=torch.Generator().manual_seed(1))
        else:
            self.fc2 = nn.Linear(12, 4)
        self.skip, self.lif2 = nn.Linear(12, 4, bias=False), nk.LIF(tau=2.0, v_threshold=0.3, decay_input=False)

    def forward(self, x):
        s0 = self.lif0(self.fc0(x))
        s1 = self.lif1(self.fc1(s0))
        return self.lif2(self.fc2(s1 + s0) + self.skip(s0))


def test_residual_mlp_with_delays_round_trips(tmp_path):
    torch.manual_seed(2)
    model = ResidualMLP(delayed=True).eval()
    graph, back, ref = _round_trip(model, _spikes(3, (30, 2, 8)), tmp_path)
    assert any(isinstance(v, nir.Delay) for v in graph.nodes.values()) and ref.sum() > 0
    assert sorted(a for a, b in graph.edges if b == "fc2_delay1") == ["lif0", "lif1"]
    assert isinstance(back.layers["fc2_w0"], DelayedLinear)
    assert torch.equal(back.layers["fc2_w0"].delay, model.fc2.delay)


def test_snntorch_imports_our_residual_graph_and_matches():
    torch.manual_seed(0)
    model = ResidualMLP(delayed=False).eval()
    x = _spikes(5, (30, 2, 8))
    net = import_from_nir(nk.compile(model, target="nir", example_input=x).artefact.graph)
    with torch.no_grad():
        ours, state, outs = model(x), None, []
        for t in range(x.shape[0]):
            out, state = net(x[t], state)
            outs.append(out)
    assert ours.sum() > 0 and torch.equal(torch.stack(outs), ours)


def test_sum_pool_imports_as_a_sum():
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
                            "sp": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                padding=np.array([0, 0])),
                            "output": nir.Output(output_type={"output": np.array([1, 2, 2])})},
                     edges=[("input", "sp"), ("sp", "output")])
    x = torch.arange(2 * 1 * 16, dtype=torch.float32).reshape(2, 1, 1, 4, 4)
    with torch.no_grad():
        y = nk.from_nir(g)(x)
    assert torch.equal(y, x.reshape(2, 1, 1, 2, 2, 2, 2).sum((4, 6)))


# ---------------------------------------------------------------- refusals
def test_max_pool_is_refused_with_the_node_and_a_way_out():
    model = nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), nk.LIF(), nk.layers.MaxPool2d(2),
                          nk.layers.Flatten(), nn.Linear(64, 3))
    with pytest.raises(nk.CompileError, match=r"^nir: node '2' \(pool\): max-pool has no NIR node; use AvgPool2d"):
        nk.compile(model, target="nir", example_input=_spikes(0, (3, 1, 2, 8, 8)))


def test_attention_is_refused_with_a_reason_per_op():
    model = nk.models.spikformer("tiny").eval()
    with pytest.raises(nk.CompileError) as err:
        nk.compile(model, target="nir", example_input=_spikes(0, (2, 1, 1, 8, 8)))
    msg = str(err.value)
    assert msg.startswith("nir: ") and "nodes cannot be exported" in msg
    assert re.search(r"node 'blocks\.0\.attn\.\w+' \(matmul\).*: op 'matmul' is not supported by NIR: NIR edges "
                       r"only add; it has no product of two activation tensors", msg)
    assert "op 'reshape' is not supported by NIR: NIR has no reshape node" in msg
    assert "op 'permute' is not supported by NIR" in msg and "op 'mean' is not supported by NIR" in msg


def test_alif_and_doubled_add_are_refused():
    alif = nn.Sequential(nn.Linear(4, 3), nk.ALIF())
    with pytest.raises(nk.CompileError, match=r"node '1' \(neuron\): neuron kind 'alif' is not supported by NIR: "):
        nk.compile(alif, target="nir", example_input=_spikes(0, (3, 1, 4)))

    class Double(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.lif = nn.Linear(4, 3), nk.LIF()

        def forward(self, x):
            s = self.lif(self.fc(x))
            return s + s

    with pytest.raises(nk.CompileError, match=r"node 'add' \(add\) sums NIR node\(s\) \['lif'\] twice"):
        nk.compile(Double(), target="nir", example_input=_spikes(0, (3, 1, 4)))
