"""Every example script runs end to end at its reduced (--quick) size, as a user would run it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _run(args, tmp_path):
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r.stdout


def test_examples_folder_is_fully_covered():
    scripts = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
    assert scripts == sorted(CASES), "every example needs a CI case below"


CASES = {
    "binary_digits.py": ["--quick"],
    "quantized_snn.py": ["--quick"],
    "hlop_continual.py": ["--quick", "--plot", "{tmp}/hlop.png"],
    "spikformer_digits.py": ["--quick", "--out", "{tmp}"],
    "step_transformers_digits.py": ["--quick"],
    "delay_snn_synthetic.py": ["--quick", "--out", "{tmp}"],
    "delay_snn_shd.py": ["--quick"],
    "energy_demo.py": ["--plot-dir", "{tmp}"],
    "recurrent_memory.py": ["--quick"],
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs_quick(script, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in CASES[script]]
    out = _run([f"examples/{script}", *args], tmp_path)
    assert out.strip(), f"{script} printed nothing"
