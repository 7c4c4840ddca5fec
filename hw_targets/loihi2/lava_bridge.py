"""Run netx files in the real Lava simulator from neurokit's Python (a subprocess in the lava venv).

Lava 0.10 does not import on Python 3.11, so :func:`run_lava` writes the inputs to a temporary folder
and runs :mod:`hw_targets.loihi2.lava_runner` with the Python 3.10 venv built by
``scripts/setup_env.sh --lava`` (``.venv-lava``; override with ``NEUROKIT_LAVA_PYTHON``).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().with_name("lava_runner.py")


@dataclass
class LavaResult:
    """One job's result: ``spikes[l]`` int64 ``[T, B, n_l]`` per layer (last = ``net.out``; 0/1 spikes, or graded
    messages of a sigma-delta block), ``v_last`` int64 ``[T, B, n_L]`` (a sigma-delta block's ``sigma``),
    ``seconds`` per sample (load + build + run wall time),
    ``run_seconds`` per sample (``net.run`` alone) and ``blocks``, the classes of the blocks netx built."""

    spikes: list[np.ndarray]
    v_last: np.ndarray
    seconds: np.ndarray
    run_seconds: np.ndarray
    blocks: list[str]


def lava_python() -> Path:
    """Path of the lava venv's interpreter; ``FileNotFoundError`` saying how to build it if absent.

    Example:
        >>> lava_python().name
        'python'
    """
    p = Path(os.environ.get("NEUROKIT_LAVA_PYTHON", _ROOT / ".venv-lava" / "bin" / "python"))
    if not p.exists():
        raise FileNotFoundError(f"Lava interpreter {p} not found; build it with scripts/setup_env.sh --lava "
                                "(or set NEUROKIT_LAVA_PYTHON)")
    return p


def lava_dl_netx_files() -> list[Path]:
    """The netx ``.net`` files shipped inside the installed lava-dl package (its ``tests/lava/lib/dl/netx`` folder in
    the lava venv's site-packages), sorted; ``FileNotFoundError`` if there are none.

    Example:
        >>> sorted(p.name for p in lava_dl_netx_files())[:2]
        ['mnist.net', 'network.net']
    """
    venv = lava_python().parent.parent
    files = sorted(venv.glob("lib/python3*/site-packages/tests/lava/lib/dl/netx/**/*.net"))
    if not files:
        raise FileNotFoundError(f"no lava-dl netx files under {venv}/lib/python3*/site-packages/tests/lava/lib/dl/netx")
    return files


def _run_runner(spec: list[dict], tmp: str, timeout: float) -> None:
    (Path(tmp) / "jobs.json").write_text(json.dumps(spec))
    proc = subprocess.run([str(lava_python()), str(RUNNER), str(Path(tmp) / "jobs.json")], capture_output=True,
                          check=False, text=True, timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise RuntimeError(f"Lava runner failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def lava_builds(jobs: Sequence[tuple[str | Path, dict]], timeout: float = 300) -> list[dict]:
    """Build each ``(netx_path, netx_kwargs)`` network with lava-dl's reader only (no run), in one subprocess.

    Returns, per job, ``{"error": "<ExceptionType>: <message>" or None, "blocks": [block class names] or None}``.

    Example::

        lava_builds([("ntidigits.net", {})])[0]["error"]      # 'NotImplementedError: average is not implemented.'
    """
    with tempfile.TemporaryDirectory(prefix="nk_lava_") as tmp:
        spec = [{"net": str(Path(p).resolve()), "output": str(Path(tmp) / f"b{i}.json"), **kw}
                for i, (p, kw) in enumerate(jobs)]
        _run_runner(spec, tmp, timeout)
        return [json.loads(Path(j["output"]).read_text()) for j in spec]


def run_lava(jobs: Sequence[tuple], timeout: float = 900) -> list[LavaResult]:
    """Run every ``(netx_path, spikes [T, B, n_in])`` or ``(netx_path, spikes, netx_kwargs)`` job in one Lava
    subprocess (``netx_kwargs``: ``num_layers`` / ``skip_layers`` for lava-dl's ``hdf5.Network``).

    Args:
        jobs: netx files and their input (time-major, like the simulator's): 0/1 spikes, or for a network whose
            first block is an input neuron the integers driving its ``a_in``.
        timeout: seconds before the subprocess is killed.

    Returns:
        One :class:`LavaResult` per job, arrays time-major ``[T, B, n]``.

    Example::

        res = run_lava([("model.net", spikes)])
        res[0].spikes[-1].shape          # [T, B, n_out]
    """
    with tempfile.TemporaryDirectory(prefix="nk_lava_") as tmp:
        spec = []
        for i, (net, x, *kw) in enumerate(jobs):
            x = np.asarray(x)
            if x.ndim != 3:
                raise ValueError(f"job {i}: spikes must be [T, B, n_in], got shape {x.shape}")
            inp = Path(tmp) / f"in{i}.npy"
            np.save(inp, np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.int32))
            spec.append({"net": str(Path(net).resolve()), "input": str(inp), "output": str(Path(tmp) / f"out{i}.npz"),
                         **(kw[0] if kw else {})})
        _run_runner(spec, tmp, timeout)
        results = []
        for job in spec:
            with np.load(job["output"]) as z:
                n = len([k for k in z.files if k.startswith("layer")])
                spikes = [z[f"layer{i + 1}"].transpose(1, 0, 2) for i in range(n)]
                results.append(LavaResult(spikes, z["v_last"].transpose(1, 0, 2), z["seconds"], z["run_seconds"],
                                          [str(b) for b in z["blocks"]]))
        return results
