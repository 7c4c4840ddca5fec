"""Named model + data presets used by the command line (``neurokit train PRESET``) and the demo.

A run folder written by ``neurokit train`` holds ``run.json`` (preset, model and data arguments) and the
checkpoint ``last.safetensors``; :func:`load_run` rebuilds the trained model from it.

Example::

    >>> model = build_model("binary_mlp", {})
    >>> train_ds, test_ds = build_data("digits", {"T": 8})
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, Tuple

from torch import nn

from .. import data as _data
from ..atomic import atomic_write_text
from .. import models as _models

__all__ = ["PRESETS", "DATASETS", "Preset", "build_model", "build_data", "write_run", "load_run", "RUN_FILE"]

RUN_FILE = "run.json"


@dataclass(frozen=True)
class Preset:
    """A model builder with its default arguments, default data set and training options."""

    build: Callable[..., nn.Module]
    model_kwargs: dict
    data: str
    data_kwargs: dict
    train_kwargs: dict = field(default_factory=dict)
    description: str = ""


PRESETS: Dict[str, Preset] = {
    "delay_snn": Preset(
        _models.delay_snn,
        dict(in_features=2, num_classes=4, hidden=64, layers=1, max_delay=12, dropout=0.0, readout_tau=20.0,
             sigma_final=0.1, anneal_fraction=0.5, seed=0),
        "delay_task", dict(n_train=1024, n_test=512, T=40, n_classes=4, gap_step=3),
        dict(lr=5e-3, weight_decay=1e-5, lr_scale={"position": 20.0}, no_decay=("position",), batch_size=64),
        "delay-learning SNN (DCLS-style per-synapse delays) on the synthetic gap task"),
    "binary_mlp": Preset(
        _models.binary_mlp, dict(in_features=64, hidden=(128,), num_classes=10, estimator="reste"),
        "digits", dict(T=8, encoding="rate"), dict(lr=5e-3, batch_size=64),
        "binary-weight spiking MLP on the digits set"),
    "quant_snn": Preset(
        _models.quant_snn, dict(in_features=64, hidden=(128,), num_classes=10, weight_bits=8, membrane_bits=16),
        "digits", dict(T=8, encoding="rate"), dict(lr=5e-3, batch_size=64),
        "8-bit quantized SNN with an integer-range membrane on the digits set"),
    "rsnn": Preset(
        _models.rsnn,
        dict(in_features=2, hidden=(64,), num_classes=4, neuron="cuba", recurrent=True, tau_mem=2.0, tau_syn=2.0,
             v_threshold=0.25, readout_tau=20.0, seed=0),
        "delay_task", dict(n_train=512, n_test=256, T=50, n_classes=4, min_gap=2, gap_step=6),
        dict(lr=5e-3, weight_decay=1e-5, batch_size=64),
        "recurrent CUBA-LIF SNN (nk.layers.Recurrent) on the long-gap delay task; for SHD use --data shd with "
        "model.in_features = 700, num_classes = 20 and data_args.path in a config"),
    "spikformer_tiny": Preset(
        lambda **kw: _models.spikformer("tiny", **kw), dict(), "digits", dict(T=4, encoding="direct", flatten=False),
        dict(lr=3e-3, batch_size=64), "tiny Spikformer on the digits images"),
}

DATASETS: Dict[str, Callable[..., Tuple]] = {
    "digits": _data.digits,
    "delay_task": _data.delay_task,
    "coincidence_task": _data.coincidence_task,
    "shd": _data.shd,
    "ssc": _data.ssc,
}


def _check_name(name: str, table: dict, what: str) -> None:
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(table)}")


def build_model(preset: str, overrides: dict) -> nn.Module:
    """Build the model of ``preset`` with ``overrides`` applied to its default arguments."""
    _check_name(preset, PRESETS, "preset")
    p = PRESETS[preset]
    kwargs = {**p.model_kwargs, **overrides}
    try:
        return p.build(**kwargs)
    except TypeError as e:
        raise ValueError(f"preset {preset!r}: bad model argument(s) {sorted(overrides)}: {e}") from None


def build_data(name: str, kwargs: dict):
    """Return ``(train_ds, test_ds)`` of data set ``name`` (``shd``/``ssc`` need ``path``)."""
    _check_name(name, DATASETS, "data set")
    try:
        return DATASETS[name](**kwargs)
    except TypeError as e:
        raise ValueError(f"data set {name!r}: bad argument(s) {sorted(kwargs)}: {e}") from None


def write_run(folder: str, record: dict) -> str:
    """Write ``run.json`` (preset, model/data arguments) atomically into ``folder``."""
    path = os.path.join(folder, RUN_FILE)
    atomic_write_text(path, json.dumps(record, indent=2, default=list))
    return path


def load_run(folder: str):
    """Rebuild a trained model from a run folder. Returns ``(model, record)``; raises ``ValueError`` when the folder,
    ``run.json`` or the checkpoint is missing or corrupt."""
    from ..training import CHECKPOINT_NAME, load_checkpoint

    run_path = os.path.join(folder, RUN_FILE)
    ckpt = os.path.join(folder, CHECKPOINT_NAME)
    if not os.path.exists(folder):
        raise FileNotFoundError(f"run folder {folder!r} does not exist")
    if not os.path.isdir(folder):
        raise ValueError(f"{folder!r} is a file; expected a run folder written by `neurokit train`")
    for path in (run_path, ckpt):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path!r} is missing (expected a folder written by `neurokit train`)")
    try:
        with open(run_path) as f:
            record = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{run_path!r} is not valid JSON: {e}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{run_path!r}: expected a JSON object, got {type(record).__name__}")
    for key, kind in (("preset", str), ("model", dict)):
        if not isinstance(record.get(key), kind):
            raise ValueError(f"{run_path!r}: field {key!r} must be a JSON {'string' if kind is str else 'object'}, "
                             f"got {record.get(key)!r}"[:300])
    try:
        model = build_model(record["preset"], record["model"])
    except (TypeError, RuntimeError, OverflowError) as e:  # e.g. a size of the wrong type or range for torch
        raise ValueError(f"{run_path!r}: field 'model' {record['model']!r} does not build preset "
                         f"{record['preset']!r}: {e}"[:400]) from None
    try:
        load_checkpoint(ckpt, model)
    except Exception as e:  # noqa: BLE001 - report any unreadable checkpoint as bad input
        raise ValueError(f"checkpoint {ckpt!r} cannot be loaded: {e}") from None
    model.eval()
    return model, record
