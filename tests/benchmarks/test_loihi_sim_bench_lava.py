"""benchmarks/loihi_sim.py at its ``--quick`` size against the real Lava: the common JSON shape, identical spikes."""
import importlib.util
import json

import pytest

from tests.helpers.paths import REPO_ROOT


@pytest.mark.lava
def test_loihi_sim_quick_writes_the_common_shape(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_loihi_sim", REPO_ROOT / "benchmarks" / "loihi_sim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "loihi_sim.json"
    mod.main(["--quick", "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["schema"] == 1 and res["script"] == "loihi_sim" and res["meta"]["threads"] == 1
    assert [t["params"]["network"] for t in res["tables"]] == ["cuba", "delay"]
    for t in res["tables"]:
        assert t["reference"] == "neurokit_batch" and t["params"]["spikes identical"] is True
        assert set(t["contestants"]) == {"neurokit_batch", "neurokit_single", "lava"}
        assert all(r["min_s"] > 0 and r["median_s"] >= r["min_s"] for r in t["contestants"].values())
