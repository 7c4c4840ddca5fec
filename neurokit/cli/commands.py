"""Implementations of ``neurokit compile | energy | bench`` (``train`` is in :mod:`neurokit.cli.train_plan`; the typer
layer is in :mod:`neurokit.cli`). Every option is checked before the run folder is read or anything is written."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

from .checks import UsageError, check_str


def example_input(record: dict, batch: int = 8):
    """A real input batch ``[T, B, ...]`` from the run's test set (for capture and energy)."""
    import torch

    from ..data import collate_time_major
    from .presets import build_data

    args = dict(record.get("data_args", {}))
    if record.get("data") in ("digits", "delay_task", "coincidence_task"):
        args.setdefault("seed", record.get("seed", 0))
    _, test_ds = build_data(record["data"], args)
    xs, ys = collate_time_major([test_ds[i] for i in range(min(batch, len(test_ds)))])
    return xs.to(torch.float32), ys


def run_energy(model_ref: str, targets: Optional[list], plot: Optional[str], per_layer: bool) -> list:
    """Energy tables for a trained run folder (or ``demo`` for the built-in demo model) on the given targets; writes
    the plots to ``plot`` and returns the files written."""
    from hw_targets.energy.cost_tables import TABLES
    from hw_targets.energy.summary import demo_model, run_energy_command

    from .presets import load_run

    for name in targets or []:
        check_str(name, "--target", TABLES, "energy target")
    if plot is not None and os.path.isfile(plot) and (targets is None or len(targets) > 1):
        raise UsageError(f"--plot: {plot!r} is a file; with several targets --plot is a folder (one PNG per target)")

    if model_ref == "demo":
        model, x = demo_model()
        title = "demo conv SNN (random weights), random frames"
    else:
        model, record = load_run(model_ref)
        x, _ = example_input(record)
        title = f"{record.get('preset', 'model')}, {record.get('data', '?')}"
    return run_energy_command(model, x, targets=targets or None, plot=plot, per_layer=per_layer, title=title)


# name -> script under benchmarks/; each prints its own table (contestants interleaved, min / median, threads,
# ratio). A new benchmark is one script plus one entry here.
BENCHMARKS = {"time_loop": "benchmarks/time_loop.py", "train_step": "benchmarks/train_step.py",
              "delays": "benchmarks/delays.py", "recurrent": "benchmarks/recurrent.py",
              "onnx_int": "benchmarks/onnx_time_loop.py", "loihi_sim": "benchmarks/loihi_sim.py"}


def run_bench(names: list, extra: list) -> int:
    """Run benchmark scripts from ``benchmarks/`` (``all`` = every one) with the same interpreter; returns the exit
    code of the last script that failed (0 when all succeeded), so ``neurokit bench`` exits with the script's code."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    names = list(BENCHMARKS) if not names or names == ["all"] else names
    for name in names:
        if name not in BENCHMARKS:
            raise UsageError(f"unknown benchmark {name!r}; expected one of {sorted(BENCHMARKS)} or 'all'")
    rc = 0
    for name in names:
        script = os.path.join(root, BENCHMARKS[name])
        if not os.path.isfile(script):
            raise FileNotFoundError(f"benchmark script {script!r} not found (run from a source checkout)")
        print(f"== {name}: {sys.executable} {BENCHMARKS[name]} {' '.join(extra)}", flush=True)
        rc = subprocess.call([sys.executable, script, *extra], cwd=root) or rc
    return rc
