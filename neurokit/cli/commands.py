"""Implementations of ``neurokit train | compile | energy | bench`` (the typer layer is in :mod:`neurokit.cli`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Optional

CONFIG_KEYS = {"preset", "data", "epochs", "batch_size", "lr", "weight_decay", "seed", "model", "data_args",
               "checkpoint_every"}


def read_config(path: Optional[str]) -> dict:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) training config; unknown keys are refused."""
    if path is None:
        return {}
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file {path!r} does not exist")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".toml":
            import tomllib

            with open(path, "rb") as f:
                cfg = tomllib.load(f)
        elif ext in (".yaml", ".yml"):
            import yaml

            with open(path) as f:
                cfg = yaml.safe_load(f) or {}
        else:
            raise ValueError(f"config file {path!r}: expected a .toml, .yaml or .yml file")
    except (ValueError, OSError) as e:
        raise ValueError(f"config file {path!r} cannot be parsed: {e}") from None
    except Exception as e:  # yaml.YAMLError
        raise ValueError(f"config file {path!r} cannot be parsed: {e}") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"config file {path!r}: expected a table of keys, got {type(cfg).__name__}")
    bad = sorted(set(cfg) - CONFIG_KEYS)
    if bad:
        raise ValueError(f"config file {path!r}: unknown key(s) {bad}; allowed: {sorted(CONFIG_KEYS)}")
    for key in ("model", "data_args"):
        if key in cfg and not isinstance(cfg[key], dict):
            raise ValueError(f"config file {path!r}: {key!r} must be a table, got {type(cfg[key]).__name__}")
    return cfg


def run_train(preset: Optional[str], config: Optional[str], data: Optional[str], epochs: Optional[int],
              batch_size: Optional[int], lr: Optional[float], seed: Optional[int], out: str, resume: bool,
              checkpoint_every: Optional[int], progress: bool = True) -> dict:
    """Train a preset (optionally from a config file) and write ``out/run.json`` + ``out/last.safetensors``."""
    import neurokit as nk

    from .presets import PRESETS, build_data, build_model, write_run

    cfg = read_config(config)
    preset = preset or cfg.get("preset")
    if preset is None:
        raise ValueError("no preset given: pass PRESET or set `preset` in the config file; "
                         f"presets: {sorted(PRESETS)}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    p = PRESETS[preset]
    data_name = data or cfg.get("data", p.data)
    data_args = {**(p.data_kwargs if data_name == p.data else {}), **cfg.get("data_args", {})}
    seed = seed if seed is not None else int(cfg.get("seed", 0))
    model_args = {**cfg.get("model", {})}
    train_ds, test_ds = build_data(data_name, {**data_args, "seed": seed} if "seed" not in data_args
                                   and data_name in ("digits", "delay_task", "coincidence_task") else data_args)
    model = build_model(preset, model_args)
    kwargs = dict(p.train_kwargs)
    for key, value in (("batch_size", batch_size if batch_size is not None else cfg.get("batch_size")),
                       ("lr", lr if lr is not None else cfg.get("lr")),
                       ("weight_decay", cfg.get("weight_decay")),
                       ("checkpoint_every", checkpoint_every if checkpoint_every is not None
                        else cfg.get("checkpoint_every"))):
        if value is not None:
            kwargs[key] = value
    epochs = epochs if epochs is not None else int(cfg.get("epochs", 10))
    distributed = nk.training.launched_by_torchrun()
    if not distributed or nk.training.is_main_process():
        write_run(out, {"preset": preset, "model": model_args, "data": data_name, "data_args": data_args,
                        "epochs": epochs, "seed": seed})
    history = nk.train(model, train_ds, epochs, test_data=test_ds, seed=seed, checkpoint_dir=out, resume=resume,
                       distributed=distributed, progress=progress, **kwargs)
    last = history[-1] if history else {}
    if not distributed or nk.training.is_main_process():
        print(f"trained {preset} on {data_name}: " + ", ".join(
            f"{k}={v:.4f}" for k, v in last.items() if isinstance(v, float)))
        print(f"run folder: {os.path.abspath(out)}")
    return last


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


def run_compile(run_dir: str, target: str, out: Optional[str]) -> dict:
    """Compile a trained run to ``target``; write the artefact and print the report."""
    import neurokit as nk

    from .presets import load_run

    model, record = load_run(run_dir)
    if any(getattr(m, "is_rounded", None) is False for m in model.modules()):
        nk.models.round_delays(model)      # targets run the deployable integer-delay form
    x, _ = example_input(record)
    cm = nk.compile(model, target=target, example_input=x)
    ext = {"onnx_int": ".onnx", "loihi2": ".net", "nir": ".nir", "gpu": ".pt"}.get(target, ".bin")
    out = out or os.path.join(run_dir, f"model{ext}")
    if target != "gpu":
        cm.save(out)
        print(f"wrote {out}")
    report = cm.report()
    print(json.dumps(report, indent=2, default=str))
    return report


def run_energy(model_ref: str, targets: Optional[list], plot: Optional[str], per_layer: bool) -> str:
    """Energy table for a trained run folder (or ``demo`` for the built-in demo model) on the given targets."""
    from hw_targets.energy.summary import demo_model, run_energy_command

    from .presets import load_run

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
    """Run benchmark scripts from ``benchmarks/`` (``all`` = every one) with the same interpreter."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    names = list(BENCHMARKS) if not names or names == ["all"] else names
    for name in names:
        if name not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {name!r}; expected one of {sorted(BENCHMARKS)} or 'all'")
    rc = 0
    for name in names:
        script = os.path.join(root, BENCHMARKS[name])
        if not os.path.isfile(script):
            raise FileNotFoundError(f"benchmark script {script!r} not found (run from a source checkout)")
        print(f"== {name}: {sys.executable} {BENCHMARKS[name]} {' '.join(extra)}", flush=True)
        rc = subprocess.call([sys.executable, script, *extra], cwd=root) or rc
    return rc
