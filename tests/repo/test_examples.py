"""Every example script runs end to end at its reduced (--quick) size, as a user would run it."""
import os
import subprocess
import sys

import pytest
from tests.helpers.paths import REPO_ROOT

ROOT = REPO_ROOT
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _run(args, cwd):
    env = {**ENV, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r.stdout


def test_examples_folder_is_fully_covered():
    scripts = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
    assert scripts == sorted(CASES), "every example needs a CI case below"


CASES = {
    "binary_digits.py": ["--quick"],
    "quantized_snn.py": ["--quick"],
    "hlop_continual.py": ["--quick"],
    "spikformer_digits.py": ["--quick"],
    "step_transformers_digits.py": ["--quick"],
    "delay_snn_synthetic.py": ["--quick"],
    "delay_snn_shd.py": ["--quick"],
    "energy_demo.py": [],
    "recurrent_memory.py": ["--quick"],
}


#: what the examples that write files write by default, relative to the working directory (and say so)
DEFAULT_OUTPUTS = {
    "energy_demo.py": [f"neurokit-out/energy_demo/energy_{t}.png" for t in ("cmos45", "gpu", "loihi2", "onnx_int",
                                                                           "targets")],
    "hlop_continual.py": ["neurokit-out/hlop_continual/hlop_acc.png"],
    "spikformer_digits.py": ["neurokit-out/spikformer_digits/spikformer_digits_quick.json",
                             "neurokit-out/spikformer_digits/spikformer_digits_quick.png"],
    "delay_snn_synthetic.py": ["neurokit-out/delay_snn_synthetic/delay_snn_synthetic_quick.json",
                               "neurokit-out/delay_snn_synthetic/delay_snn_synthetic_quick.png"],
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs_quick(script, tmp_path):
    """Run from an empty working directory: an example writes only its default outputs (under ./neurokit-out/) or
    what its options name, and prints where they went."""
    work = tmp_path / "cwd"
    work.mkdir()
    args = [a.replace("{tmp}", str(tmp_path)) for a in CASES[script]]
    out = _run([str(ROOT / "examples" / script), *args], cwd=work)
    assert out.strip(), f"{script} printed nothing"
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
    assert written == sorted(DEFAULT_OUTPUTS.get(script, [])), written
    for rel in DEFAULT_OUTPUTS.get(script, []):
        assert str((work / rel).parent) in out, f"{script} does not say where {rel} went"
