"""nk.layers.Recurrent on the targets: captured as an IR ``recurrent`` node; gpu equals eager; NIR export as a cycle
(snnTorch's RLeaky layout) and import of cycles, including graphs snnTorch itself exports (the integer targets:
test_recurrent_integer.py, test_recurrent_loihi.py)."""
import nir
import numpy as np
import pytest
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir

import neurokit as nk
from compile import ir
from compile.capture import capture


def _net(neuron, seed=0, bias=True):
    net = nk.models.rsnn(in_features=6, hidden=(10, 7), num_classes=3, neuron=neuron, v_threshold=0.3, bias=bias,
                         seed=seed)
    for layer in (net.hidden[0][0], net.hidden[1][0]):
        layer.recurrent_bias = torch.nn.Parameter(torch.rand(layer.out_features) * 0.1) if bias else None
    return net.eval()


def _spikes(seed, shape=(30, 2, 6), p=0.3):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def test_capture_gives_dense_plus_recurrent_node():
    g = capture(_net("cuba"), _spikes(0))
    rec = g.node("hidden.0.0")
    assert isinstance(rec, ir.Recurrent) and rec.inputs == ("hidden.0.0.ff",)
    assert rec.weight.shape == (10, 10) and rec.bias.shape == (10,)
    assert rec.cell.kind == "cuba" and rec.cell.tau_syn == 5.0
    assert isinstance(g.node("hidden.0.0.ff"), ir.Dense)


@pytest.mark.parametrize("neuron", ["cuba", "lif", "alif"])
@pytest.mark.parametrize("seed", [0, 1])
def test_gpu_target_equals_eager(neuron, seed):
    net, x = _net(neuron, seed), _spikes(seed)
    cm = nk.compile(net, target="gpu", example_input=x)
    with torch.no_grad():
        ref = net(x)
    assert torch.equal(cm.run(x), ref)
    ops = {layer["name"]: layer["ops"] for layer in cm.report()["layers"]}
    assert ops["hidden.0.0"] == 10 * 10 + 10




@pytest.mark.parametrize("neuron", ["cuba", "lif"])
def test_nir_export_is_a_cycle_and_round_trips(neuron, tmp_path):
    net, x = _net(neuron), _spikes(3)
    cm = nk.compile(net, target="nir", example_input=x)
    g = cm.artefact.graph
    assert {("hidden_0_0", "hidden_0_0_w_rec"), ("hidden_0_0_w_rec", "hidden_0_0"),
            ("hidden_0_0_ff", "hidden_0_0")} <= set(g.edges)
    assert isinstance(g.nodes["hidden_0_0_w_rec"], nir.Affine)
    cm.save(str(tmp_path / "rsnn.nir"))
    with torch.no_grad():
        ref = net(x)
        back = nk.from_nir(tmp_path / "rsnn.nir")(x)
    torch.testing.assert_close(back, ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(cm.run(x), back)


def test_nir_refuses_recurrent_alif():
    with pytest.raises(nk.CompileError, match=r"hidden.0.0.*adaptive threshold has no NIR primitive"):
        nk.compile(_net("alif"), target="nir", example_input=_spikes(0))


class _SnnRLeaky(torch.nn.Module):
    def __init__(self, n_in, n, beta, threshold):
        super().__init__()
        self.fc = torch.nn.Linear(n_in, n)
        # snnTorch's NIR convention is reset to zero on the same step (reset_delay=False)
        self.lif = snn.RLeaky(beta=torch.full((n,), beta), threshold=torch.full((n,), threshold), linear_features=n,
                              all_to_all=True, reset_mechanism="zero", reset_delay=False, init_hidden=True)

    def forward(self, x):
        return self.lif(self.fc(x))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_exported_by_snntorch_rleaky_imports_and_matches(tmp_path, seed):
    torch.manual_seed(seed)
    net = _SnnRLeaky(8, 6, 0.8 - 0.05 * seed, 0.5)
    x = _spikes(10 + seed, (50, 2, 8))
    graph = export_to_nir(net, x[0, 0])
    assert {("lif.lif", "lif.w_rec"), ("lif.w_rec", "lif.lif")} <= set(graph.edges)
    nir.write(tmp_path / "rleaky.nir", graph)
    snn_utils.reset(net)
    with torch.no_grad():
        theirs = torch.stack([net(x[t]) for t in range(x.shape[0])])
        ours = nk.from_nir(tmp_path / "rleaky.nir", reset=("zero", "same_step"))(x)
    assert 0 < theirs.mean() < 0.9
    assert torch.equal(ours, theirs)



class _SnnRSynaptic(torch.nn.Module):
    def __init__(self, n_in, n, alpha, beta, threshold, reset):
        super().__init__()
        self.fc = torch.nn.Linear(n_in, n)
        # snnTorch 1.0's RSynaptic runs only with reset_delay=True (its reset_delay=False branch reads the unset
        # local ``spk``), i.e. the reset one step late
        self.lif = snn.RSynaptic(alpha=torch.full((n,), alpha), beta=torch.full((n,), beta),
                                 threshold=torch.full((n,), threshold), linear_features=n, all_to_all=True,
                                 reset_mechanism=reset, init_hidden=True)

    def forward(self, x):
        return self.lif(self.fc(x))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_exported_by_snntorch_rsynaptic_imports_and_matches(tmp_path, seed, reset):
    """RSynaptic's export (CubaLIF with a recurrent Linear back into it) reproduces snnTorch's own spikes; the
    default reset (subtraction, one step late) is what from_nir's rule picks, reset to zero is stated."""
    torch.manual_seed(seed)
    net = _SnnRSynaptic(8, 6, 0.6, 0.8 - 0.05 * seed, 0.5, reset)
    x = _spikes(20 + seed, (50, 2, 8))
    graph = export_to_nir(net, x[0, 0])
    assert isinstance(graph.nodes["lif.lif"], nir.CubaLIF)
    assert {("lif.lif", "lif.w_rec"), ("lif.w_rec", "lif.lif")} <= set(graph.edges)
    nir.write(tmp_path / "rsynaptic.nir", graph)
    snn_utils.reset(net)
    with torch.no_grad():
        theirs = torch.stack([net(x[t]) for t in range(x.shape[0])])
        ours = nk.from_nir(tmp_path / "rsynaptic.nir",
                           reset=None if reset == "subtract" else ("zero", "next_step"))(x)
    assert 0 < theirs.mean() < 0.9
    assert torch.equal(ours, theirs)

def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _lif(n):
    return nir.LIF(tau=np.full(n, 2e-4), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.ones(n),
                   v_reset=np.zeros(n))


def test_cycle_errors_name_the_cycle_nodes_only():
    w = np.eye(3, dtype=np.float32)
    io = {"input": nir.Input(input_type={"input": np.array([3])}), "output": nir.Output(output_type={"output":
                                                                                                   np.array([3])})}
    loop = _graph({**io, "a": nir.Linear(weight=w), "b": nir.Linear(weight=w), "after": nir.Linear(weight=w)},
                  [("input", "a"), ("a", "b"), ("b", "a"), ("b", "after"), ("after", "output")])
    with pytest.raises(ValueError, match=r"nodes \['a', 'b'\] form a cycle with no neuron on it \(an algebraic loop"
                       ) as err:
        nk.from_nir(loop)
    assert "after" not in str(err.value)
    two = _graph({**io, "fc": nir.Linear(weight=w), "l1": _lif(3), "l2": _lif(3), "w": nir.Linear(weight=w)},
                 [("input", "fc"), ("fc", "l1"), ("l1", "l2"), ("l2", "w"), ("w", "l1"), ("l2", "output")])
    with pytest.raises(ValueError, match=r"cycle through nodes \['l1', 'l2', 'w'\] is not one neuron node"):
        nk.from_nir(two)
    wide = _graph({**io, "fc": nir.Linear(weight=w), "l": _lif(3), "w": nir.Linear(weight=np.ones((2, 3), np.float32))},
                  [("input", "fc"), ("fc", "l"), ("l", "w"), ("w", "l"), ("l", "output")])
    with pytest.raises(ValueError, match=r"NIR node 'w': recurrent weight of 'l' must be square, got shape \(2, 3\)"):
        nk.from_nir(wide)


def test_energy_counts_recurrent_synops_from_measured_spikes():
    from hw_targets.energy.counting import count_events

    net, x = _net("cuba", bias=False), _spikes(5)
    counts = count_events(net, x)
    layer = net.hidden[0][0]
    with torch.no_grad():
        s = layer(x)
    prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
    rec = counts.layer("hidden.0.0.recurrent")
    assert prev.sum() > 0
    # every spike of step t-1 drives one accumulate per recurrent synapse (out_features fan-out) at step t
    assert float(rec.synops.sum()) == float(prev.sum()) * layer.out_features
    assert float(counts.layer("hidden.0.0.neuron").spikes.sum()) == float(s.sum())
    assert counts.layer("hidden.0.0.ff").weight_words == 10 * 6
