"""Smoke runs of the benchmark scripts at their ``--quick`` size (no timing assertions): each writes the common JSON
shape (benchmarks/harness.py), `neurokit bench` knows every script, and benchmarks/results.py renders the produced
JSON into RESULTS.md with the goals table and the neuron-loop scaling plot."""
import importlib.util
import json

import pytest

from neurokit.cli.commands import BENCHMARKS
from tests.helpers.paths import REPO_ROOT

ROOT = REPO_ROOT
QUICK = ["time_loop", "train_step", "delays", "recurrent", "onnx_time_loop"]   # loihi_sim: tests/benchmarks/...lava


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_shape(res):
    """The common result shape: schema, environment, and tables whose reference is a contestant."""
    assert res["schema"] == 1 and res["title"] and res["description"]
    meta = res["meta"]
    assert meta["threads"] >= 1 and meta["torch"] and meta["command"].startswith("python benchmarks/")
    assert len(meta["load_avg_start"]) == 3 and len(meta["load_avg_end"]) == 3
    assert res["tables"]
    for t in res["tables"]:
        assert t["reference"] in t["contestants"] and isinstance(t["params"], dict)
        for r in t["contestants"].values():
            assert r["min_s"] > 0 and r["median_s"] >= r["min_s"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results")
    out = {}
    for name in QUICK:
        path = folder / f"{name}.json"
        _load(name).main(["--quick", "--json", str(path)])
        out[name] = json.loads(path.read_text())
    return folder, out


def test_registry_points_at_existing_scripts():
    assert {"time_loop", "train_step", "delays", "recurrent", "onnx_int", "loihi_sim"} <= set(BENCHMARKS)
    for script in BENCHMARKS.values():
        assert (ROOT / script).is_file(), script


def test_every_script_writes_the_common_shape(results):
    _, res = results
    for name in QUICK:
        check_shape(res[name])
    assert {res[n]["script"] for n in QUICK} == {"time_loop", "train_step", "delays", "recurrent", "onnx_int"}
    assert set(res["train_step"]["tables"][0]["contestants"]) == {"neurokit", "neurokit_dense_in", "snntorch",
                                                                   "spikingjelly"}
    phases = [t["params"]["phase"] for t in res["delays"]["tables"]]
    assert res["delays"]["meta"]["dcls"] is True and phases[-1] == "inference (rounded)"
    assert phases[-2].startswith("annealing") and phases.count("learning step") >= 2
    assert set(res["delays"]["tables"][0]["contestants"]) == {"neurokit", "dense", "dcls"}
    assert {"onnx_loop", "onnx_unrolled", "eager"} == set(res["onnx_time_loop"]["tables"][0]["contestants"])
    assert {(t["params"]["T"], t["params"]["neurons"]) for t in res["time_loop"]["tables"]} == {
        (2, 64), (2, 128), (4, 64), (4, 128)}


def test_results_md_is_generated_from_the_json(results, tmp_path):
    folder, res = results
    out, plot = tmp_path / "RESULTS.md", tmp_path / "scaling.png"
    gen = _load("results")
    assert gen.main(["--results", str(folder), "--out", str(out), "--plot", str(plot)]) == 0
    text = out.read_text()
    for name in QUICK:
        assert f"## {res[name]['title']}" in text
    assert "## Goals" in text and "SHD MLP training step" in text
    # every goal row says met or NOT met, and the neuron-loop goal has no 16/64K table in the quick run
    goal_rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ">= " in ln]
    assert goal_rows and all(("met" in ln) for ln in goal_rows)
    assert "neuron loop" not in "".join(goal_rows)
    assert "threads **" in text and "load average" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "](scaling.png)" in text
    assert "## GPU" in text and "Not measured" in text


def test_results_refuses_a_foreign_json(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="x.json: not a benchmark result"):
        _load("results").load(str(tmp_path))
