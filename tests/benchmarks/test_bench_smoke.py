"""Smoke runs of the benchmark scripts at tiny sizes (no timing assertions): each runs every contestant and
writes complete JSON; `neurokit bench` knows every script."""
import importlib.util
import json

from neurokit.cli.commands import BENCHMARKS
from tests.helpers.paths import REPO_ROOT

ROOT = REPO_ROOT


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_registry_points_at_existing_scripts():
    assert {"time_loop", "train_step", "delays", "onnx_int", "loihi_sim"} <= set(BENCHMARKS)
    for script in BENCHMARKS.values():
        assert (ROOT / script).is_file(), script


def test_train_step_quick(tmp_path):
    out = tmp_path / "t.json"
    _load("train_step").main(["--quick", "--json", str(out)])
    res = json.loads(out.read_text())
    assert set(res["results"]) == {"neurokit", "snntorch", "spikingjelly"}
    assert all(r["min_s"] > 0 and r["median_s"] >= r["min_s"] for r in res["results"].values())
    assert res["meta"]["threads"] >= 1


def test_delays_quick(tmp_path):
    out = tmp_path / "d.json"
    _load("delays").main(["--quick", "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["meta"]["dcls"] is True
    assert set(res["annealing_mean"]) == {"neurokit", "dense", "dcls"}
    assert set(res["inference"]) == {"neurokit", "dense"}
    assert len(res["per_sigma"]) >= 2
