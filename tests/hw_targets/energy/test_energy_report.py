"""EnergyReport outputs, cost-table provenance, NVML integration logic, the SNN-vs-QNN comparison, compiled models."""
import json

import pytest
import torch
from torch import nn

import neurokit as nk
from hw_targets.energy import (
    TABLES,
    EnergyError,
    compare_snn_qnn,
    count_events,
    energy,
    get_table,
)
from hw_targets.energy.compare import scale_activity
from hw_targets.energy.gpu_measure import integrate_power, maybe_measure
from hw_targets.energy.summary import demo_model, energy_table, run_energy_command
from tests.helpers.models import two_layer_if_net

PJ = 1e-12


def test_every_constant_has_source_and_node():
    for name, table in TABLES.items():
        assert table.costs and table.assumptions, name
        for key, cost in table.costs.items():
            assert cost.source.strip() and cost.node.strip() and cost.unit.strip(), (name, key)
            assert cost.value > 0, (name, key)
    assert get_table("cmos45")["mac"].value == pytest.approx(4.6 * PJ)
    assert get_table("cmos45")["ac"].value == pytest.approx(0.9 * PJ)
    assert "LOIHI 1" in get_table("loihi2")["synop"].source
    with pytest.raises(EnergyError, match="no constant"):
        get_table("gpu")["synop"]


def test_report_dict_markdown_plot(tmp_path):
    model, x = demo_model(steps=2, batch=1)
    rep = nk.energy(model, x, target="loihi2")
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["total_j"] == pytest.approx(sum(r["total"] for r in d["per_layer"]))
    assert sum(d["shares"].values()) == pytest.approx(1.0) and d["shares"]["static"] > 0
    assert d["cost_table"]["costs"]["synop"]["node"].startswith("Intel 14 nm")
    md = rep.to_markdown()
    assert "| (static) |" in md and "Loihi 1 figures" in md and md.count("\n| ") >= len(rep.per_layer) + 2
    out = rep.plot(tmp_path / "sub" / "e.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["e.png"]          # no temp file left behind


def test_energy_table_every_target(tmp_path):
    model, x = demo_model(steps=2, batch=1)
    md = energy_table(model, x, plot_dir=tmp_path)
    for t in TABLES:
        assert f"| {t} |" in md and (tmp_path / f"energy_{t}.png").is_file()
    assert (tmp_path / "energy_targets.png").is_file()
    assert run_energy_command(model, x, targets=["cmos45"], plot=tmp_path / "one.png") == [tmp_path / "one.png"]
    assert (tmp_path / "one.png").is_file()


def test_integrate_power_trapezoid_with_a_fake_sampler():
    ticks = iter(range(1000))
    clock = lambda: float(next(ticks))                    # deterministic clock: 1 s per reading
    calls = []
    joules, seconds, n = integrate_power(lambda: calls.append(1), lambda: 50.0, repeats=4, period_s=10.0,
                                         clock=clock)
    assert len(calls) == 4 and n == 2 and seconds == 1.0 and joules == 50.0
    ramp = iter([10.0, 30.0])                             # linear power: trapezoid is exact
    joules, seconds, _ = integrate_power(lambda: None, lambda: next(ramp), 1, period_s=10.0, clock=clock)
    assert joules == pytest.approx(20.0 * seconds)


def test_gpu_measure_falls_back_or_raises_without_nvml():
    model, x = demo_model(steps=2, batch=1)
    rep = energy(model, x, "gpu")
    if torch.cuda.is_available():                         # on a GPU machine with pynvml this is a measurement
        assert rep.measured or "ESTIMATE" in rep.assumptions[0]
    else:
        assert not rep.measured and "not a measurement" in rep.assumptions[0]
        with pytest.raises(EnergyError, match="measure=True needs a CUDA GPU"):
            maybe_measure(rep, model, x, measure=True)


def _snn_qnn():
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        fc1.weight.uniform_(0.2, 1.0)
        fc2.weight.uniform_(0.2, 1.0)
    snn = nn.Sequential(fc1, nk.IF(v_threshold=0.5, backend="torch"), fc2, nk.IF(v_threshold=0.5, backend="torch"))
    qnn = nn.Sequential(fc1, nn.ReLU(), fc2)
    x = (torch.rand(16, 1, 4) < 0.4).float()
    return snn, qnn, x


def test_compare_break_even_by_hand_paper_convention():
    snn, qnn, x = _snn_qnn()
    tab = compare_snn_qnn(snn, x, qnn, torch.rand(1, 1, 4) + 0.1, accounting="paper", bits=None)
    # QNN: all MACs, 4*3 + 3*2 = 18 x 4.6 pJ. SNN: SOP = sum_t nnz(input_t) x fan-out, x 0.9 pJ
    with torch.no_grad():
        s1 = snn[1](snn[0](x))
        s2 = snn[3](snn[2](s1))
    sop = float(x.sum()) * 3 + float(s1.sum()) * 2
    rate = float(s1.sum() + s2.sum()) / (16 * 5)
    assert tab.qnn_j == pytest.approx(18 * 4.6 * PJ) and tab.snn_j == pytest.approx(sop * 0.9 * PJ)
    assert tab.measured_rate == pytest.approx(rate)
    # every spike-driven count scales with rate / measured rate, so E_snn(r) = sop * 0.9 pJ * r / rate
    assert tab.break_even_rate == pytest.approx(rate * 18 * 4.6 / (sop * 0.9), rel=1e-6)
    assert "| firing rate |" in tab.to_markdown() and json.dumps(tab.to_dict())


def test_compare_integer_event_accounting_is_consistent():
    snn, qnn, x = _snn_qnn()
    tab = compare_snn_qnn(snn, x, qnn, torch.rand(1, 1, 4) + 0.1, snn_accuracy=0.9, qnn_accuracy=0.95)
    assert any("WARNING: accuracies differ" in n for n in tab.notes)
    snn_e = [r["snn_j"] for r in tab.rows]
    assert snn_e == sorted(snn_e)                                    # more spikes, more energy
    assert [r for r in tab.rows if r["measured"]][0]["snn_j"] == tab.snn_j
    if tab.break_even_rate is not None:                              # the QNN is matched at the break-even rate
        counts = count_events(snn, x)
        assert 0 < tab.break_even_rate < 1
        assert scale_activity(counts, 2.0).per_sample("spikes") == pytest.approx(2 * counts.per_sample("spikes"))
    else:
        assert "even" in tab.verdict
    with pytest.raises(EnergyError, match="no spikes"):
        compare_snn_qnn(snn, torch.zeros_like(x), qnn, torch.rand(1, 1, 4))


def test_compiled_model_counts_match_its_integer_run():

    from hw_targets import compile_model
    from hw_targets.energy.compiled import compiled_counts

    net, x = two_layer_if_net()
    eager = count_events(net, x)
    for target in ("onnx_int", "loihi2"):
        cm = compile_model(net, target, example_input=x)
        counts, info = compiled_counts(cm, x)
        out = cm.run(x)
        assert counts.layers[-1].spikes.sum() == float(torch.as_tensor(out).sum())      # same run as the target
        assert info["weight_bits"] == {n.name: n.quant.bits for n in cm.graph.nodes if getattr(n, "quant", None)}
        rep = energy(cm, x, target)
        assert rep.total_j > 0 and rep.extra["target_info"]["act_bits"] == 8
    cm = compile_model(net, "onnx_int", example_input=x)
    assert compiled_counts(cm, x)[0].synops() == eager.synops()     # integer weights keep the same sparsity
