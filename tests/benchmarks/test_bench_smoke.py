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


def _loop_doc(file, threads, auto_s, snntorch_s):
    """A time_loop document with one T=16 / 64K table: auto and snntorch (min = median) in seconds."""
    c = {"auto": {"min_s": auto_s, "median_s": auto_s}, "snntorch": {"min_s": snntorch_s, "median_s": snntorch_s}}
    return {"_file": file, "script": "time_loop", "title": "loop", "meta": {"threads": threads, "device": "cpu"},
            "tables": [{"title": "T=16, N=65536", "params": {"T": 16, "neurons": 65536}, "contestants": c}]}


def test_one_thread_goal_compares_with_the_committed_baseline():
    gen = _load("results")
    base = _loop_doc(gen.BASELINE, 1, 6e-3, 16e-3)
    rows = gen.goals([_loop_doc("time_loop.json", 2, 2e-3, 12e-3), base, _loop_doc(gen.ONE_THREAD, 1, 3e-3, 16e-3)])
    one = [r for r in rows if r["what"] == gen.ONE_THREAD_GOAL]
    # the 2-thread goals read time_loop.json only (not the one-thread run, not the baseline)
    assert [(r["file"], r["ratio_min"]) for r in rows if r["what"] != gen.ONE_THREAD_GOAL] == [("time_loop.json", 6.0)]
    assert len(one) == 1 and one[0]["ratio_min"] == 2.0 and one[0]["status"] == "met" and one[0]["threads"] == 1
    slower = gen.one_thread_goal([base, _loop_doc(gen.ONE_THREAD, 1, 7e-3, 16e-3)])
    assert slower[0]["status"] == "**NOT met**" and not slower[0]["met"]
    assert gen.one_thread_goal([base]) == []       # no new one-thread run: no row
