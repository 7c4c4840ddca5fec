"""``neurokit train``: resolve and check every option before anything is written, then train.

Order (so that a refused command changes no state): :func:`read_config` and :func:`resolve_train` check the options
and config values (type and range, naming the option or the config key and file); :func:`prepare_train` builds the
data and the model (seeded) and checks what needs them (batch size vs data set size, ``--resume`` against the run
folder); only then does :func:`run_train` write ``run.json`` and start :func:`neurokit.train`.

Seeds: one ``seed`` fixes the model initialisation (``torch.manual_seed(seed)`` before the model is built), the
synthetic data and the rate code (their own seeded generators), the data order and every per-step draw (dropout,
random transforms) through :func:`neurokit.train`'s per-step seeding.

Example::

    >>> plan = resolve_train("binary_mlp", None, None, 1, None, None, 0, "runs/b", False, None)
    >>> run_train(plan, progress=False)["test_acc"]
"""
from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass, field
from typing import Callable, Optional

from .checks import UsageError, check_device, check_int, check_number, check_str, warn

__all__ = ["CONFIG_KEYS", "TrainPlan", "read_config", "resolve_train", "prepare_train", "run_train",
           "PAUSE_STEP_ENV"]

CONFIG_KEYS = {"preset", "data", "epochs", "batch_size", "lr", "weight_decay", "seed", "model", "data_args",
               "checkpoint_every", "device"}
PAUSE_STEP_ENV = "NEUROKIT_TEST_PAUSE_AFTER_STEP"
_SYNTHETIC = ("digits", "delay_task", "coincidence_task")


def _parse(path: str, ext: str):
    if ext == ".toml":
        import tomllib

        with open(path, "rb") as f:
            return tomllib.load(f)
    import yaml

    with open(path) as f:
        return yaml.safe_load(f) or {}


def read_config(path: Optional[str]) -> dict:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) training config; unknown keys are refused."""
    if path is None:
        return {}
    if not os.path.isfile(path):
        raise UsageError(f"--config: config file {path!r} does not exist" if not os.path.exists(path)
                         else f"--config: {path!r} is not a file")
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".toml", ".yaml", ".yml"):
        raise UsageError(f"--config: config file {path!r}: expected a .toml, .yaml or .yml file")
    try:
        cfg = _parse(path, ext)
    except Exception as e:  # noqa: BLE001 - tomllib / yaml / UnicodeDecodeError: all mean "cannot be parsed"
        raise UsageError(f"config file {path!r} cannot be parsed: {e}".replace("\n", " ")) from None
    if not isinstance(cfg, dict):
        raise UsageError(f"config file {path!r}: expected a table of keys, got {type(cfg).__name__}")
    bad = sorted(set(cfg) - CONFIG_KEYS)
    if bad:
        raise UsageError(f"config file {path!r}: unknown key(s) {bad}; allowed: {sorted(CONFIG_KEYS)}")
    for key in ("model", "data_args"):
        if key in cfg and not isinstance(cfg[key], dict):
            raise UsageError(f"config file {path!r}: key {key!r}: expected a table, got {type(cfg[key]).__name__}")
    return cfg


@dataclass(frozen=True)
class TrainPlan:
    """Every checked input of one ``neurokit train`` command."""

    preset: str
    data: str
    data_args: dict
    model_args: dict
    epochs: int
    seed: int
    out: str
    resume: bool
    train_kwargs: dict = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.train_kwargs["batch_size"])

    def record(self) -> dict:
        """What ``run.json`` holds."""
        return {"preset": self.preset, "model": self.model_args, "data": self.data, "data_args": self.data_args,
                "epochs": self.epochs, "seed": self.seed}


def _pick(cli_value, cfg: dict, key: str, option: str, config: Optional[str]):
    """``(value, name)``: the command-line value if given, else the config's; ``name`` says where it came from."""
    if cli_value is not None:
        return cli_value, option
    return cfg.get(key), f"config file {config!r}: key {key!r}"


def resolve_train(preset, config, data, epochs, batch_size, lr, seed, out, resume, checkpoint_every,
                  device=None) -> TrainPlan:
    """Check the options and the config file (nothing is built or written); ``UsageError`` names the culprit."""
    from .presets import DATASETS, PRESETS

    cfg = read_config(config)
    preset, name = _pick(preset, cfg, "preset", "PRESET", config)
    if preset is None:
        raise UsageError(f"no preset given: pass PRESET or set `preset` in the config file; presets: {sorted(PRESETS)}")
    check_str(preset, name, PRESETS, "preset")
    p = PRESETS[preset]
    data, name = _pick(data, cfg, "data", "--data", config)
    data = check_str(data, name, DATASETS, "data set") if data is not None else p.data
    values = {}
    for key, cli_value, option, default in (("epochs", epochs, "--epochs", 10), ("seed", seed, "--seed", 0),
                                            ("batch_size", batch_size, "--batch-size", None),
                                            ("checkpoint_every", checkpoint_every, "--checkpoint-every", None)):
        value, name = _pick(cli_value, cfg, key, option, config)
        if value is not None:
            values[key] = check_int(value, name, minimum=0 if key == "seed" else 1)
        elif default is not None:
            values[key] = default
    for key, cli_value, option, inclusive in (("lr", lr, "--lr", False), ("weight_decay", None, None, True)):
        value, name = _pick(cli_value, cfg, key, option, config)
        if value is not None:
            values[key] = check_number(value, name, 0.0, inclusive)
    value, name = _pick(device, cfg, "device", "--device", config)
    if value is not None:
        values["device"] = check_device(value, name)
    if os.path.isfile(out):
        raise UsageError(f"--out: {out!r} is a file; expected a run folder (it will hold run.json and checkpoints)")
    data_args = {**(p.data_kwargs if data == p.data else {}), **cfg.get("data_args", {})}
    kwargs = {**p.train_kwargs, **{k: v for k, v in values.items() if k not in ("epochs", "seed")}}
    kwargs.setdefault("batch_size", 32)
    return TrainPlan(preset, data, data_args, dict(cfg.get("model", {})), values["epochs"], values["seed"], out,
                     bool(resume), kwargs)


def _check_resume(plan: TrainPlan, model, n_train: int) -> None:
    """Refuse ``--resume`` onto a run folder written by a different run; warn when there is nothing to resume."""
    from ..training import CHECKPOINT_NAME, load_checkpoint, read_checkpoint_meta
    from .presets import RUN_FILE

    ckpt = os.path.join(plan.out, CHECKPOINT_NAME)
    if not os.path.exists(ckpt):
        warn(f"--resume: no checkpoint {ckpt!r} yet; training from scratch")
        return
    run_path = os.path.join(plan.out, RUN_FILE)
    if os.path.isfile(run_path):
        try:
            with open(run_path) as f:
                old = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"--resume: {run_path!r} cannot be read: {e}") from None
        for key, value in plan.record().items():
            if isinstance(old, dict) and key in old and old[key] != value:
                raise UsageError(f"--resume: {run_path!r} was written with {key}={old[key]!r}, this command has "
                                 f"{key}={value!r}; resuming needs the same {key} (or use another --out)")
    try:
        meta = read_checkpoint_meta(ckpt)
        load_checkpoint(ckpt, model)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UsageError(f"--resume: checkpoint {ckpt!r} cannot be resumed: {e}") from None
    expected = {"seed": plan.seed, "batch_size": plan.batch_size, "epochs": plan.epochs, "n_train": n_train}
    for key, value in expected.items():
        if meta.get(key) != value:
            raise UsageError(f"--resume: checkpoint {ckpt!r} was written with {key}={meta.get(key)!r}, this command "
                             f"has {key}={value!r}; resuming needs the same {key}")


def prepare_train(plan: TrainPlan, world_size: int = 1):
    """Build ``(model, train_ds, test_ds)`` (model initialised from ``plan.seed``) and check what needs them."""
    import torch

    from .presets import build_data, build_model

    args = dict(plan.data_args)
    if plan.data in _SYNTHETIC:
        args.setdefault("seed", plan.seed)
    train_ds, test_ds = build_data(plan.data, args)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(plan.seed)
        model = build_model(plan.preset, plan.model_args)
    if plan.batch_size > len(train_ds):
        raise UsageError(f"--batch-size: the global batch {plan.batch_size} is larger than the training set "
                         f"({len(train_ds)} samples of data set {plan.data!r})")
    if plan.batch_size % world_size:
        raise UsageError(f"--batch-size: the global batch {plan.batch_size} is not divisible by the world size "
                         f"{world_size} (processes)")
    if plan.resume:
        _check_resume(plan, model, len(train_ds))
    return model, train_ds, test_ds


def _pause_hook(steps_per_epoch: int) -> Optional[Callable]:
    """Test hook (``NEUROKIT_TEST_PAUSE_AFTER_STEP=N``): after the N-th optimizer step (and the checkpoint that step
    may write), rank 0 prints ``neurokit: test pause after step N`` on stdout and blocks until a signal ends the
    process, so a test can interrupt training at a known point by reading that line, without racing it."""
    target = os.environ.get(PAUSE_STEP_ENV)
    if target is None:
        return None
    target = int(target)

    def hook(epoch: int, step: int, _loss: float) -> None:
        import neurokit as nk

        if epoch * steps_per_epoch + step + 1 == target and nk.training.is_main_process():
            print(f"neurokit: test pause after step {target}", flush=True)
            while True:
                signal.pause()

    return hook


def run_train(plan: TrainPlan, progress: bool = True) -> dict:
    """Train ``plan`` and write ``out/run.json`` + ``out/last.safetensors``; returns the last epoch's record."""
    import neurokit as nk
    from neurokit.training.progress import format_record

    from .presets import write_run

    distributed = nk.training.launched_by_torchrun()
    world = int(os.environ.get("WORLD_SIZE", "1")) if distributed else 1
    model, train_ds, test_ds = prepare_train(plan, world)
    main = not distributed or int(os.environ.get("RANK", "0")) == 0
    if main:
        write_run(plan.out, plan.record())
    history = nk.train(model, train_ds, plan.epochs, test_data=test_ds, seed=plan.seed, checkpoint_dir=plan.out,
                       resume=plan.resume, distributed=distributed, progress=progress,
                       on_step_end=_pause_hook(len(train_ds) // plan.batch_size), **plan.train_kwargs)
    last = history[-1] if history else {}
    if main:
        print(f"trained {plan.preset} on {plan.data}, {len(history)} epoch(s); last: "
              + (format_record(last, plan.epochs) if last else "nothing left to train"))
        print(f"run folder: {os.path.abspath(plan.out)}")
    return last
