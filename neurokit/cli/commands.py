"""Implementations of ``neurokit compile | energy | bench`` (``train`` is in :mod:`neurokit.cli.train_plan`; the typer
layer is in :mod:`neurokit.cli`). Every option is checked before the run folder is read or anything is written."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Optional

from .checks import UsageError, check_device, check_str


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


def run_compile(run_dir: str, target: str, out: Optional[str], device: Optional[str] = None) -> dict:
    """Compile a trained run to ``target`` (``device``: target ``gpu`` only); write the artefact, print the report."""
    import neurokit as nk
    from hw_targets.registry import TARGETS

    from .presets import load_run

    check_str(target, "--target", TARGETS, "target")
    if target == "gpu" and out is not None:
        raise UsageError("--out: target 'gpu' runs the model in-process with torch and has no file artefact; "
                         "drop --out, or compile to a file target: onnx_int (.onnx), loihi2 (.net) or nir (.nir)")
    options = {}
    if device is not None:
        if target != "gpu":
            raise UsageError(f"--device: only target 'gpu' runs on a device; target {target!r} is an artefact for "
                             "another runtime (drop --device)")
        options["device"] = check_device(device, "--device")
    if out is not None and os.path.isdir(out):
        raise UsageError(f"--out: {out!r} is a folder; expected the artefact's file path (e.g. {out!r}/model.onnx)")
    model, record = load_run(run_dir)
    if any(getattr(m, "is_rounded", None) is False for m in model.modules()):
        nk.models.round_delays(model)      # targets run the deployable integer-delay form
    x, _ = example_input(record)
    cm = nk.compile(model, target=target, example_input=x, **options)
    if target == "gpu":
        print("target gpu: runs in-process (no file artefact written)")
    else:
        ext = {"onnx_int": ".onnx", "loihi2": ".net", "nir": ".nir"}.get(target, ".bin")
        out = out or os.path.join(run_dir, f"model{ext}")
        cm.save(out)
        print(f"wrote {out}")
    report = cm.report()
    print(json.dumps(report, indent=2, default=str))
    return report


def run_energy(model_ref: str, targets: Optional[list], plot: Optional[str], per_layer: bool) -> str:
    """Energy table for a trained run folder (or ``demo`` for the built-in demo model) on the given targets."""
    from hw_targets.energy.cost_tables import TABLES
    from hw_targets.energy.summary import demo_model, run_energy_command

    from .presets import load_run

    for name in targets or []:
        check_str(name, "--target", TABLES, "energy target")
    if plot is not None and os.path.isfile(plot) and (targets is None or len(targets) > 1):
        raise UsageError(f"--plot: {plot!r} is a file; with several targets --plot is a folder (one PNG per target)")

    if model_ref == "demo":
        model, x = demo_model()
    else:
        model, record = load_run(model_ref)
        x, _ = example_input(record)
    text = run_energy_command(model, x, targets=targets or None, plot=plot, per_layer=per_layer)
    print(text)
    return text


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
