"""NIR interop: nk.compile(target="nir") export, nk.from_nir import, and round trips through the real snnTorch.

Tolerance: outputs are spike trains and must be identical. The float paths (ours in float32; snnTorch in float32
with beta = 1 - dt/tau) agree to ~1e-7 on the membrane, so a spike could only differ when a membrane lies within
that distance of the threshold; the test inputs are random and the check is exact equality.
"""
import h5py
import nir
import numpy as np
import pytest
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir
from snntorch.import_nir import import_from_nir
from torch import nn

import neurokit as nk


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 6), nk.LIF(tau=5.0, decay_input=False, v_threshold=0.5),
                         nn.Linear(6, 4, bias=False), nk.CubaLIF(tau_syn=3.0, tau_mem=6.0, v_threshold=0.3)).eval()


def _spikes(seed, shape):
    return (torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


def test_export_passes_nir_read_with_type_check(tmp_path):
    x = _spikes(0, (20, 2, 8))
    cm = nk.compile(_model(), target="nir", example_input=x)
    cm.save(tmp_path / "m.nir")
    assert [p.name for p in tmp_path.iterdir()] == ["m.nir"]  # atomic: no temp file left
    g = nir.read(tmp_path / "m.nir", type_check=True)
    assert {k: type(v).__name__ for k, v in g.nodes.items()} == {
        "input": "Input", "0": "Affine", "1": "LIF", "2": "Linear", "3": "CubaLIF", "output": "Output"}
    assert g.edges == [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    lif, cuba = g.nodes["1"], g.nodes["3"]
    dt = 1e-4
    np.testing.assert_allclose(lif.tau, np.full(6, 5.0 * dt))  # per-neuron arrays (typed graph)
    np.testing.assert_allclose(lif.r, np.full(6, 5.0))           # decay_input=False: r = tau / dt
    np.testing.assert_allclose(cuba.tau_syn, np.full(4, 3 * dt))
    np.testing.assert_allclose(cuba.w_in, np.full(4, 3.0))
    for node in (lif, cuba):
        assert node.metadata == {"dt": dt, "discretization": "forward_euler", "kind": node.metadata["kind"],
                                 "spike": "v > v_threshold", "reset": "zero", "reset_timing": "same_step"}
    rep = cm.report()
    assert rep["nir_nodes"]["LIF"] == 1 and rep["dt"] == dt


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snntorch_imports_our_graph_and_matches(tmp_path, seed):
    model = _model(seed)
    x = _spikes(10 + seed, (50, 2, 8))
    cm = nk.compile(model, target="nir", example_input=x)
    cm.save(tmp_path / "m.nir")
    net = import_from_nir(nir.read(tmp_path / "m.nir"))
    with torch.no_grad():
        ours = model(x)
        state, outs = None, []
        for t in range(x.shape[0]):
            out, state = net(x[t], state)
            outs.append(out)
    theirs = torch.stack(outs)
    assert 0 < ours.mean() < 0.9
    assert torch.equal(theirs, ours)
    assert torch.equal(cm.run(x), ours)  # our own re-import of the exported graph


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_exported_by_snntorch_imports_and_matches(tmp_path, seed):
    torch.manual_seed(seed)
    # the graph does not record snnTorch's reset mode: reset_delay=False zero reset is ("zero", "same_step")
    net = nn.Sequential(
        nn.Linear(8, 6),
        snn.Leaky(beta=torch.full((6,), 0.8), threshold=torch.full((6,), 0.5), reset_mechanism="zero",
                  reset_delay=False, init_hidden=True),
        nn.Linear(6, 4),
        snn.Synaptic(alpha=torch.full((4,), 0.7), beta=torch.full((4,), 0.85), threshold=torch.full((4,), 0.3),
                     reset_mechanism="zero", reset_delay=False, init_hidden=True))
    x = _spikes(20 + seed, (50, 2, 8))
    nir.write(tmp_path / "snn.nir", export_to_nir(net, x[0, 0]))
    snn_utils.reset(net)
    with torch.no_grad():
        theirs = torch.stack([net(x[t]) for t in range(x.shape[0])])
        ours = nk.from_nir(tmp_path / "snn.nir", reset=("zero", "same_step"))(x)
    assert 0 < theirs.mean() < 0.9
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("kind", ["lif_decay_input", "if", "soft_reset", "reset_after_decay", "conv"])
def test_round_trip_neurokit_nir_neurokit(tmp_path, kind):
    torch.manual_seed(3)
    shape = (8,)
    if kind == "lif_decay_input":
        model = nn.Sequential(nn.Linear(8, 5), nk.LIF(tau=3.0, decay_input=True, v_threshold=0.2))
    elif kind == "if":
        model = nn.Sequential(nn.Linear(8, 5), nk.IF(v_threshold=0.6))
    elif kind == "soft_reset":
        model = nn.Sequential(nn.Linear(8, 5), nk.LIF(tau=4.0, v_reset=None, decay_input=False, v_threshold=0.4))
    elif kind == "reset_after_decay":
        model = nn.Sequential(nn.Linear(8, 5), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3,
                                                          reset_after_decay=True))
    else:
        shape = (2, 6, 6)
        model = nn.Sequential(nk.layers.Conv2d(2, 3, 3, padding=1), nk.LIF(tau=2.0, v_threshold=0.3),
                              nk.layers.Flatten(), nn.Linear(108, 4), nk.IF(v_threshold=0.5))
    x = _spikes(4, (30, 2, *shape))
    cm = nk.compile(model.eval(), target="nir", example_input=x)
    cm.save(tmp_path / "m.nir")
    back = nk.from_nir(tmp_path / "m.nir")
    with torch.no_grad():
        ref, out = model(x), back(x)
    assert ref.sum() > 0
    assert torch.equal(out, ref)


# ---------------------------------------------------------------- bad input
def test_truncated_nir_file(tmp_path):
    cm = nk.compile(_model(), target="nir", example_input=_spikes(0, (5, 1, 8)))
    cm.save(tmp_path / "m.nir")
    data = (tmp_path / "m.nir").read_bytes()
    (tmp_path / "cut.nir").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match=r"cut\.nir: not a readable NIR HDF5 file \(truncated or corrupt\?\)"):
        nk.from_nir(tmp_path / "cut.nir")
    with pytest.raises(ValueError, match="no such NIR file"):
        nk.from_nir(tmp_path / "absent.nir")


def test_missing_field_and_unsupported_node(tmp_path):
    cm = nk.compile(_model(), target="nir", example_input=_spikes(0, (5, 1, 8)))
    cm.save(tmp_path / "m.nir")
    with h5py.File(tmp_path / "m.nir", "a") as f:
        del f["node/nodes/1/tau"]
    with pytest.raises(ValueError, match=r"node '1' \(LIF\): missing field 'tau'"):
        nk.from_nir(tmp_path / "m.nir")
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                            "th": nir.Threshold(threshold=np.ones(3)),
                            "output": nir.Output(output_type={"output": np.array([3])})},
                     edges=[("input", "th"), ("th", "output")])
    nir.write(tmp_path / "th.nir", g)
    with pytest.raises(ValueError, match=r"node 'th': NIR type 'Threshold' is not supported"):
        nk.from_nir(tmp_path / "th.nir")


def test_per_neuron_parameters_that_differ_are_rejected():
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                            "fc": nir.Linear(weight=np.ones((2, 2), np.float32)),
                            "lif": nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.full(2, 10.0), v_leak=np.zeros(2),
                                           v_threshold=np.ones(2)),
                            "output": nir.Output(output_type={"output": np.array([2])})},
                     edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    with pytest.raises(ValueError, match=r"NIR node 'lif': field 'tau' differs across neurons"):
        nk.from_nir(g)


# ---------------------------------------------------------------- LeakyIntegrator readout <-> NIR LI
def test_leaky_integrator_readout_round_trip_as_li(tmp_path):
    """LIF MLP + LeakyIntegrator readout -> NIR LI(tau*dt, r=tau, v_leak=0) with its discretization -> nk.from_nir."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 6), nk.LIF(tau=5.0, decay_input=False, v_threshold=0.5),
                          nn.Linear(6, 3), nk.layers.LeakyIntegrator(tau=20.0)).eval()
    x = _spikes(5, (40, 2, 8))
    cm = nk.compile(model, target="nir", example_input=x)
    cm.save(tmp_path / "li.nir")
    li = nir.read(tmp_path / "li.nir", type_check=True).nodes["3"]
    assert isinstance(li, nir.LI) and li.tau.shape == (3,)
    np.testing.assert_allclose(li.tau, 20.0 * 1e-4)
    assert (li.r == 20.0).all() and (li.v_leak == 0).all()
    assert li.metadata == {"dt": 1e-4, "discretization": "forward_euler", "kind": "integrator", "output": "v"}
    back = nk.from_nir(tmp_path / "li.nir")
    assert isinstance(back[-1], nk.layers.LeakyIntegrator) and back[-1].tau == pytest.approx(20.0)
    with torch.no_grad():
        ref, out = model(x), back(x)
    assert model[1](model[0](x)).mean() > 0.05 and ref.abs().max() > 0.1
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cm.run(x), ref, rtol=1e-5, atol=1e-6)
    g = cm.artefact.graph  # an LI gain other than 1 is folded into the synapse before it
    g.nodes["3"].r = g.nodes["3"].r * 2
    with torch.no_grad():
        torch.testing.assert_close(nk.from_nir(g)(x), 2 * ref, rtol=1e-5, atol=1e-6)


def test_delay_snn_without_delays_exports_plain_synapses():
    """delays="none": no Delay nodes (delayed layers: tests/hw_targets/nir/test_nir_delays.py)."""
    x = _spikes(0, (20, 1, 2))
    kw = {"in_features": 2, "num_classes": 4, "hidden": 16, "layers": 1, "max_delay": 12, "dropout": 0.0,
          "readout_tau": 20.0, "seed": 0}
    plain = nk.models.delay_snn(delays="none", **kw).eval()
    cm = nk.compile(plain, target="nir", example_input=x)
    kinds = {k: type(v).__name__ for k, v in cm.artefact.graph.nodes.items()}
    assert kinds["readout"] == "LI" and kinds["hidden_0_0"] == "Affine" and "Delay" not in kinds.values()
    with torch.no_grad():
        torch.testing.assert_close(cm.run(x), plain(x), rtol=1e-5, atol=1e-5)
