"""neurokit.integer's sigma-delta arithmetic against the real Lava fixed-point processes (``lava.proc.sdn``, run in
the lava venv): Delta, SigmaDelta with ReLU and UNIT activation, bias and cumulative error, and Sigma; plus the same
function on torch tensors."""
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from hw_targets.loihi2.lava_bridge import lava_python
from neurokit.integer import IntSigmaDeltaParams, sigma_delta_run

pytestmark = pytest.mark.lava

_KINDS = ("delta", "sigma_delta", "sigma")


def _cases():
    rng = np.random.default_rng(0)
    cases = []
    for kind, vth, cum_error, relu in [(0, 0, False, False), (0, 3, True, False), (1, 2, False, True),
                                       (1, 2, True, True), (1, 1, True, False), (2, 0, False, False)]:
        lo = 0 if kind == 0 else -6000
        a = rng.integers(lo, 6000, (14, 5)) * (rng.random((14, 5)) < 0.6)
        if kind == 0:
            a = rng.integers(0, 40 if vth == 0 else 8, (14, 5))
        bias = rng.integers(-2, 3, 5) if kind == 1 else np.zeros(5, np.int64)
        cases.append((kind, vth, cum_error, relu, a, bias))
    return cases


def test_sigma_delta_run_equals_lavas_fixed_point_processes(tmp_path):
    cases = _cases()
    arrays = {}
    for i, (kind, vth, cum, relu, a, bias) in enumerate(cases):
        arrays[f"a{i}"], arrays[f"bias{i}"] = a, bias
        arrays[f"cfg{i}"] = np.array([kind, vth, cum, relu, 6, 6])
    np.savez(tmp_path / "cases.npz", **arrays)
    script = Path(__file__).resolve().parents[1] / "helpers" / "lava_sdn_processes.py"
    proc = subprocess.run([str(lava_python()), str(script), str(tmp_path / "cases.npz"), str(tmp_path / "out.npz")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lava = np.load(tmp_path / "out.npz")
    for i, (kind, vth, cum, relu, a, bias) in enumerate(cases):
        p = IntSigmaDeltaParams(_KINDS[kind], vth=np.int64(vth) << 12, bias=bias.astype(np.int64) << 12,
                                activation=("relu" if relu else "identity") if kind == 1 else None, cum_error=cum)
        ours = sigma_delta_run(a[:, None, :], p)[:, 0, :]
        assert np.abs(ours).max() > 0, i
        np.testing.assert_array_equal(ours, lava[f"y{i}"], err_msg=f"case {i}: {p}")
        assert torch.equal(sigma_delta_run(torch.as_tensor(a[:, None, :]), p)[:, 0, :], torch.as_tensor(ours))
