"""benchmarks/sdnn_digits.py at a tiny size: the dense ANN, SDNN and rate-coded SNN rows obey the counting rules of
hw_targets/energy/sdnn_compare.py (messages equal the counted messages / spikes, energy equals the loihi2 table
applied to those counts, the SDNN never sends or costs more than the dense ANN); no result is hard-coded."""
import importlib.util
import warnings

import numpy as np
import pytest
import torch

import neurokit as nk
from hw_targets.energy import count_events, estimate, get_table
from hw_targets.energy.counting import EnergyError
from hw_targets.energy.sdnn_compare import dense_counts, loihi_summary
from tests.helpers.paths import REPO_ROOT

THRESHOLDS = (0.0, 0.5)
T, N = 2, 12
FIGURES = ("messages", "synops", "energy_j", "dynamic_j")


def _figures(row):
    return {k: row[k] for k in FIGURES}


def _load():
    spec = importlib.util.spec_from_file_location("bench_sdnn_digits", REPO_ROOT / "benchmarks" / "sdnn_digits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def run():
    bench = _load()
    ann, x, y = bench.train_ann(steps=5)
    with warnings.catch_warnings():             # a dead layer in the first, tiny epoch is expected here
        warnings.filterwarnings("ignore", message="nk.train: neuron layer", category=RuntimeWarning)
        snn, xs, ys = bench.train_snn(ann, T=3, epochs=1)
    assert torch.equal(y, ys)                       # the same test split for both codings
    x, y, xs = x[:N], y[:N], xs[:, :N]
    rows = bench.compare_sdnn_snn(ann, x, y, snn, xs, THRESHOLDS, T=T)
    return bench, ann, x, y, snn, xs, rows


def _spike_j():
    t = get_table("loihi2")
    return t["spike_tile"].value + t["hops_per_spike"].value * t["hop"].value


def _check_costs(report, summary):
    """The row's energy is the loihi2 table applied to its counted messages and synaptic ops."""
    t = get_table("loihi2")
    comp = report.component_totals()
    spikes_all = sum(r["spikes"] for r in report.per_layer if r["kind"] == "neuron")
    assert comp["traffic"] == pytest.approx(spikes_all * _spike_j(), rel=1e-9)
    assert comp["synaptic"] == pytest.approx(summary["synops"] * t["synop"].value, rel=1e-9)
    assert summary["energy_j"] == pytest.approx(report.total_j, rel=1e-12)
    assert 0 < summary["dynamic_j"] < summary["energy_j"]


def test_rows_follow_the_counting_rules(run):
    bench, ann, x, y, snn, xs, rows = run
    assert [r["model"] for r in rows] == ["ANN (dense)"] + ["SDNN"] * len(THRESHOLDS) + ["SNN (rate)"]
    frames = x.unsqueeze(0).expand(T, *x.shape).contiguous()
    rep = nk.models.conversion_report(ann, x, y, thresholds=THRESHOLDS, T=T)
    dense = rows[0]
    assert dense["messages"] == pytest.approx(rep["dense_messages"])          # every input / hidden activation
    assert dense["accuracy"] == pytest.approx(rep["ann_accuracy"])
    dense_rep = estimate(dense_counts(count_events(nk.models.ann_to_sdnn(ann, 0.0), frames)), "loihi2")
    assert loihi_summary(dense_rep) == pytest.approx(_figures(dense))
    _check_costs(dense_rep, dense)
    for row, want in zip(rows[1:-1], rep["sdnn"]):
        assert row["threshold"] == want["threshold"] and row["accuracy"] == pytest.approx(want["accuracy"])
        assert row["messages"] == pytest.approx(want["messages"])           # = message_stats of nk.SigmaDelta
        sd_rep = nk.energy(nk.models.ann_to_sdnn(ann, row["threshold"]), frames, "loihi2")
        _check_costs(sd_rep, row)
        assert loihi_summary(sd_rep) == pytest.approx(_figures(row))
        for k in FIGURES:
            assert row[k] <= dense[k], (k, row, dense)
    assert rows[1]["accuracy"] == pytest.approx(dense["accuracy"])           # threshold 0: the ANN's answers


def test_snn_row_messages_are_its_spikes(run):
    bench, ann, x, y, snn, xs, rows = run
    row = rows[-1]
    spikes, hooks = [], [m.register_forward_hook(lambda _m, _i, out: spikes.append(float(out.sum())))
                         for m in snn if isinstance(m, nk.LIF)]                 # nk.IF (the input relay) is an LIF
    try:
        with torch.no_grad():
            out = snn(xs)
    finally:
        for h in hooks:
            h.remove()
    assert spikes[0] == float(xs.sum())                                       # the relay repeats the input spikes
    assert row["messages"] == pytest.approx(sum(spikes) / N)
    assert row["T"] == xs.shape[0] and row["accuracy"] == pytest.approx(float((out.mean(0).argmax(-1) == y)
                                                                              .float().mean()))
    snn_rep = nk.energy(snn, xs, "loihi2")
    _check_costs(snn_rep, row)
    assert loihi_summary(snn_rep, readout_ops=()) == pytest.approx(_figures(row))
    with pytest.raises(EnergyError, match="binary spikes"):
        dense_counts(count_events(snn, xs))
    md = bench.table(rows).splitlines()
    assert len(md) == 2 + len(rows) and md[2].startswith("| ANN (dense) | 2 | - |")


def test_dense_counts_mark_every_slot():
    ann = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    x = torch.rand(3, 2, 5)
    counts = count_events(nk.models.ann_to_sdnn(ann, 0.3), x)
    dense = dense_counts(counts)
    for lc, d in zip(counts.layers, dense.layers):
        if lc.kind == "neuron":
            np.testing.assert_array_equal(d.spikes, lc.updates)
            np.testing.assert_array_equal(d.payload_bits, lc.updates * lc.message_bits)
            assert (lc.spikes <= d.spikes).all()
        else:
            np.testing.assert_array_equal(d.synops, lc.dense)
            assert (lc.synops <= d.synops).all()
