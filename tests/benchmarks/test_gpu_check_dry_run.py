"""``benchmarks/gpu_check.sh`` in its CPU dry run: every step runs and the JSON + markdown summary is complete."""
import json
import os
import subprocess
import sys
from tests.helpers.paths import REPO_ROOT

ROOT = REPO_ROOT


def test_gpu_check_dry_run_writes_summary(tmp_path):
    env = {**os.environ, "GPU_CHECK_DRY_RUN": "1", "OUT_DIR": str(tmp_path), "PYTHON": sys.executable,
           "GPU_CHECK_SITE": str(tmp_path / "site"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [s["step"] for s in summary["steps"]] == ["kernel_tests", "autocast", "ddp", "energy", "time_loop"]
    assert summary["ok"] and all(s["rc"] == 0 for s in summary["steps"])
    by_step = {s["step"]: s for s in summary["steps"]}
    assert by_step["ddp"]["result"]["grads_equal_across_ranks"] is True
    assert by_step["autocast"]["result"]["bfloat16"]["finite"] is True
    assert {t["params"]["T"] for t in summary["time_loop"]["tables"]} == {2, 4}
    assert "# GPU check: PASS" in (tmp_path / "gpu_check.md").read_text()
