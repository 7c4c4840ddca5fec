"""Smoke test of benchmarks/time_loop.py at a tiny size: every contestant runs and the JSON is complete."""
import importlib.util
import json
from tests.helpers.paths import REPO_ROOT

BENCH = REPO_ROOT / "benchmarks" / "time_loop.py"


def test_time_loop_benchmark_writes_json(tmp_path):
    spec = importlib.util.spec_from_file_location("time_loop", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "r.json"
    bench.main(["--device", "cpu", "--T", "3", "--neurons", "64", "--repeats", "1", "--json", str(out)])
    result = json.loads(out.read_text())
    (tbl,) = result["tables"]
    assert tbl["params"] == {"T": 3, "neurons": 64} and tbl["reference"] == "auto"
    row = tbl["contestants"]
    for name in ("auto", "torch", "snntorch", "spikingjelly"):
        assert row[name]["min_s"] > 0 and row[name]["memory_bytes"] > 0, name
    # the fused path keeps 4 B per neuron-step for backward (fp32), the reference loop more
    assert row["auto"]["memory_bytes"] <= 4 * 3 * 64 < row["torch"]["memory_bytes"]
