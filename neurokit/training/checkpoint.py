"""Training checkpoints in one safetensors file, written atomically.

Layout of the file:

* tensors ``model.<state_dict key>`` -- the (unwrapped) model's ``state_dict``;
* tensors ``optim.<param index>.<state key>`` -- the optimizer's per-parameter state (e.g. AdamW ``exp_avg``,
  ``exp_avg_sq``, ``step``);
* metadata key ``"neurokit"`` -- JSON with the optimizer's ``param_groups`` and non-tensor state, the grad scaler's
  state and the caller's ``meta`` dict (epoch, step, seed, history, ...).

The file is written to a temporary file in the same folder, flushed to disk and renamed over the target with
``os.replace``, so a reader never sees a half-written checkpoint even if the writer is killed.

Example::

    >>> save_checkpoint("ckpt/last.safetensors", model, optimizer, meta={"epoch": 3})
    >>> meta = load_checkpoint("ckpt/last.safetensors", model, optimizer)
    >>> meta["epoch"]
    3
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, Optional

import torch
from torch import nn

from ..atomic import atomic_path

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint_meta", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "last.safetensors"
_META_KEY = "neurokit"
_FORMAT_VERSION = 1


def _flatten(model: nn.Module, optimizer: Optional[torch.optim.Optimizer]):
    tensors: Dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        tensors[f"model.{key}"] = value.detach().cpu().contiguous().clone()
    optim_meta = None
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars: Dict[str, Dict[str, Any]] = {}
        for index, entry in state["state"].items():
            for key, value in entry.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous().clone()
                else:
                    scalars.setdefault(str(index), {})[key] = value
        optim_meta = {"param_groups": state["param_groups"], "scalars": scalars}
    return tensors, optim_meta


def save_checkpoint(path, model: nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
                    scaler: Optional[torch.amp.GradScaler] = None, meta: Optional[dict] = None) -> None:
    """Write model (+ optimizer, grad scaler, JSON-serialisable ``meta``) to ``path`` atomically.

    ``model`` should be the unwrapped module (not the DDP wrapper) so keys carry no ``module.`` prefix.

    Example::

        >>> save_checkpoint(tmp_path / "c.safetensors", nn.Linear(2, 2), meta={"epoch": 0})
    """
    from safetensors.torch import save_file

    path = os.fspath(path)
    tensors, optim_meta = _flatten(model, optimizer)
    header = {"version": _FORMAT_VERSION, "optimizer": optim_meta,
              "scaler": scaler.state_dict() if scaler is not None else None, "meta": meta or {}}
    try:
        metadata = {_META_KEY: json.dumps(header)}
    except TypeError as err:
        raise ValueError(f"meta: checkpoint metadata must be JSON-serialisable ({err})") from err
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)


def _read(path):
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: checkpoint {path!r} does not exist")
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        raise ValueError(f"path: {path!r} is not a readable safetensors checkpoint ({err})") from err
    if _META_KEY not in metadata:
        raise ValueError(f"{path}: missing metadata field {_META_KEY!r}; not a neurokit checkpoint")
    try:
        header = json.loads(metadata[_META_KEY])
    except ValueError as err:
        raise ValueError(f"{path}: metadata field {_META_KEY!r} is not valid JSON ({err})") from err
    if not isinstance(header, dict):
        raise ValueError(f"{path}: metadata field {_META_KEY!r} must be a JSON object, got {type(header).__name__}")
    if header.get("version") != _FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format version {header.get('version')!r}, expected {_FORMAT_VERSION}")
    for field, types in (("meta", (dict,)), ("optimizer", (dict, type(None))), ("scaler", (dict, type(None)))):
        if not isinstance(header.get(field), types):
            raise ValueError(f"{path}: metadata field {_META_KEY}.{field} must be "
                             f"{' or '.join('null' if t is type(None) else 'an object' for t in types)}, "
                             f"got {type(header.get(field)).__name__}")
    return path, tensors, header


def read_checkpoint_meta(path) -> dict:
    """The ``meta`` dict stored in a checkpoint, without loading it into a model.

    Example::

        >>> read_checkpoint_meta("ckpt/last.safetensors")["epoch"]
        3
    """
    return _read(path)[2]["meta"]


def _load_model(path: str, model: nn.Module, tensors: Dict[str, torch.Tensor]) -> None:
    expected = model.state_dict()
    stored = {key[len("model."):]: value for key, value in tensors.items() if key.startswith("model.")}
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{path}: model keys do not match the checkpoint; missing in checkpoint: {missing[:8]}, "
                         f"unexpected in checkpoint: {unexpected[:8]}")
    for key, value in expected.items():
        if tuple(stored[key].shape) != tuple(value.shape):
            raise ValueError(f"{path}: tensor 'model.{key}' has shape {tuple(stored[key].shape)}, the model "
                             f"expects {tuple(value.shape)}")
    bad = [key for key, value in stored.items() if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        warnings.warn(f"{path}: tensor(s) {['model.' + k for k in bad[:8]]} contain NaN or Inf values (loaded as "
                      "stored; nk.compile refuses such a model)", RuntimeWarning, stacklevel=3)
    model.load_state_dict(stored)


def _load_optimizer(path: str, optimizer: torch.optim.Optimizer, tensors, optim_meta) -> None:
    if optim_meta is None:
        raise ValueError(f"{path}: the checkpoint holds no optimizer state, but an optimizer was given")
    groups = optim_meta["param_groups"]
    n_stored = sum(len(g["params"]) for g in groups)
    n_given = sum(len(g["params"]) for g in optimizer.param_groups)
    if len(groups) != len(optimizer.param_groups) or n_stored != n_given:
        raise ValueError(f"{path}: optimizer has {len(optimizer.param_groups)} groups / {n_given} parameters, "
                         f"the checkpoint {len(groups)} groups / {n_stored} parameters")
    state: Dict[int, Dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, entries in optim_meta["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def load_checkpoint(path, model: nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
                    scaler: Optional[torch.amp.GradScaler] = None) -> dict:
    """Restore a checkpoint written by :func:`save_checkpoint` in place; returns its ``meta`` dict.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the field for a corrupt file,
    mismatched keys or shapes.

    Example::

        >>> meta = load_checkpoint("ckpt/last.safetensors", model, optimizer)
    """
    path, tensors, header = _read(path)
    _load_model(path, model, tensors)
    try:
        if optimizer is not None:
            _load_optimizer(path, optimizer, tensors, header["optimizer"])
        if scaler is not None and header.get("scaler") is not None:
            scaler.load_state_dict(header["scaler"])
    except (KeyError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(f"{path}: malformed optimizer / grad scaler state in metadata field {_META_KEY!r} "
                         f"({type(err).__name__}: {err})") from err
    return header["meta"]
