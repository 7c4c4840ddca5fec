"""``nk.train``: AdamW + per-step cosine schedule, AMP on CUDA, rich progress, per-epoch metrics, atomic safetensors
checkpoints with exact mid-epoch resume, and DistributedDataParallel training.

Reproducibility contract (same seed, same global ``batch_size`` -> same losses and parameters):

* the data order of epoch ``e`` is ``randperm(len(train_data))`` seeded with ``seed + e``; global step ``k`` uses
  samples ``perm[k*batch_size:(k+1)*batch_size]`` whatever the number of processes; the last incomplete global
  batch is dropped, so every step sees exactly ``batch_size`` samples;
* the global torch RNG is re-seeded before every step from ``(seed, global step, rank)``, before the step's batch
  is fetched, so stochastic layers (dropout) and random transforms in a dataset's ``__getitem__`` that draw from
  torch's global RNG draw the same numbers after a resume as in an uninterrupted run (no RNG state needs saving;
  with ``num_workers > 0`` the workers' own RNGs make such transforms differ after a mid-epoch resume);
* model initialisation is the caller's: build the model after ``torch.manual_seed(seed)`` (the CLI does);
* on CUDA, bit-identical runs also need ``torch.use_deterministic_algorithms(True)`` and
  ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (some kernels use atomics); AMP is on by default there;
* ``anneal(epoch, epochs)`` hooks must set their state as a function of their arguments (e.g. DCLS's
  ``sigma = sigma0 * alpha ** min(epoch, final)``), because they are called again for the resumed epoch.

Example::

    >>> train_ds, test_ds = nk.data.delay_task(n_train=512, seed=0)
    >>> history = nk.train(model, train_ds, epochs=10, test_data=test_ds, batch_size=64,
    ...                    checkpoint_dir="runs/delay", resume=True)
    >>> history[-1]["test_acc"]
"""
from __future__ import annotations

import math
import os
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..data.base import collate_time_major
from ..layers.time_major import BATCH_NORMS
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .distributed import (DistContext, ResumableDistributedSampler, all_reduce_sum, check_global_batch,
                          convert_sync_batchnorm, revert_sync_batchnorm, setup_distributed,
                          teardown_distributed)
from .metrics import SpikeRecorder, cast_input, evaluate, get_loss, predictions
from .dead_layers import DeadLayerMonitor
from .progress import EpochProgress

__all__ = ["train", "cosine_lr", "step_seed", "call_anneal_hooks"]


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    """Cosine schedule from ``base_lr`` (step 0) towards 0: ``base_lr * (1 + cos(pi * step / total_steps)) / 2``.

    Example::

        >>> cosine_lr(1e-3, 50, 100)
        0.0005
    """
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * step / max(total_steps, 1)))


def step_seed(seed: int, global_step: int, rank: int) -> int:
    """The torch seed used before global step ``global_step`` on ``rank`` (a SeedSequence hash, 63 bits).

    Example::

        >>> step_seed(0, 5, 0) == step_seed(0, 5, 0) != step_seed(0, 6, 0)
        True
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(global_step), int(rank)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def call_anneal_hooks(model: nn.Module, epoch: int, epochs: int) -> int:
    """Call ``anneal(epoch, epochs)`` on every submodule (the model included) that defines it; returns how many.

    Example::

        >>> call_anneal_hooks(model, epoch=0, epochs=10)   # e.g. sets DCLS sigma for epoch 0
        2
    """
    hooks = [m for m in model.modules() if callable(getattr(m, "anneal", None))]
    for module in hooks:
        module.anneal(epoch, epochs)
    return len(hooks)


def _param_groups(model: nn.Module, lr: float, weight_decay: float, lr_scale: Optional[Dict[str, float]],
                  no_decay: Sequence[str]):
    groups: Dict[tuple, List[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        scale = next((s for key, s in (lr_scale or {}).items() if key in name), 1.0)
        decay = weight_decay if param.dim() >= 2 and not any(key in name for key in no_decay) else 0.0
        groups.setdefault((scale, decay), []).append(param)
    if not groups:
        raise ValueError("model: has no trainable parameters (requires_grad=True)")
    return [{"params": params, "lr": lr * scale, "base_lr": lr * scale, "weight_decay": decay}
            for (scale, decay), params in groups.items()]


def _check_args(model, train_data, epochs, lr, weight_decay, checkpoint_every, resume, checkpoint_dir):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not (hasattr(train_data, "__len__") and hasattr(train_data, "__getitem__")):
        raise TypeError(f"train_data: expected a map-style dataset of (x [T, ...], y), got {type(train_data).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected an integer >= 1, got {epochs!r}")
    for name, value in (("lr", lr), ("weight_decay", weight_decay)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr: expected a finite learning rate > 0, got {lr!r}")
    if not (weight_decay >= 0 and math.isfinite(weight_decay)):
        raise ValueError(f"weight_decay: expected a finite number >= 0, got {weight_decay!r}")
    if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every < 1):
        raise ValueError(f"checkpoint_every: expected None or an integer >= 1 (steps), got {checkpoint_every!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume: resume=True needs checkpoint_dir (the folder holding last.safetensors)")


def _amp_dtype(amp: Optional[bool], device: torch.device) -> Optional[torch.dtype]:
    if amp is None:
        amp = device.type == "cuda"
    if not amp:
        return None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def _freeze_batchnorm(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, BATCH_NORMS):
            module.eval()


def _resume_state(path, core, optimizer, scaler, expected: dict) -> dict:
    meta = load_checkpoint(path, core, optimizer, scaler)
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ValueError(f"resume: checkpoint {path} was written with {key}={meta.get(key)!r}, this run has "
                             f"{key}={value!r}; resuming needs the same {key}")
    return meta


def train(model: nn.Module, train_data, epochs: int, *, test_data=None, lr: float = 1e-3, weight_decay: float = 1e-2,
          batch_size: int = 32, loss: Union[str, Callable] = "ce_rate", seed: int = 0, device="auto",
          amp: Optional[bool] = None, checkpoint_dir=None, checkpoint_every: Optional[int] = None,
          resume: bool = False, lr_scale: Optional[Dict[str, float]] = None, no_decay: Sequence[str] = (),
          freeze_batchnorm: bool = False,
          on_step_end: Optional[Callable] = None, on_epoch_end: Optional[Callable] = None,
          distributed: bool = False, progress: bool = True, num_workers: int = 0) -> List[dict]:
    """Train ``model`` on ``train_data`` (samples ``(x [T, ...], y)``, batched to ``x [T, B, ...]``).

    Args:
        model: maps ``x [T, B, ...]`` to ``[T, B, C]`` or ``[B, C]``; inputs are cast to its parameter dtype.
        train_data, test_data: map-style datasets (e.g. from :mod:`neurokit.data`).
        epochs: number of epochs. lr, weight_decay: AdamW (decay only on parameters with >= 2 dims); the lr
            follows :func:`cosine_lr` per step over all steps. lr_scale: ``{name substring: lr multiplier}``,
            e.g. ``{"position": 100.0}`` for ``delay_snn``'s delay positions. no_decay: name substrings of
            parameters that get no weight decay (e.g. ``("position",)``).
        batch_size: the *global* batch (split over processes when distributed).
        loss: ``"ce_rate" | "ce_per_step"`` or ``callable(out, y) -> scalar``.
        seed: data order and per-step RNG (see the module docstring). Model initialisation is the caller's.
        device: ``"auto"`` (CUDA if available) or a torch device. amp: autocast (bf16, or fp16 + GradScaler on GPUs
            without bf16); default on for CUDA only.
        checkpoint_dir: write ``<dir>/last.safetensors`` (rank 0, atomically) after every epoch and every
            ``checkpoint_every`` steps. resume: continue from it if it exists (any world size).
        freeze_batchnorm: keep BatchNorm layers in eval mode (running statistics), which makes data-parallel
            training exactly equal to single-process training for models with BatchNorm on CPU (gloo has no
            SyncBatchNorm); on CUDA, distributed runs convert BatchNorm to SyncBatchNorm instead.
        on_step_end: ``f(epoch, step, loss)`` after every optimizer step (all ranks). on_epoch_end:
            ``f(epoch, record)`` after every epoch (all ranks). Submodules with ``anneal(epoch, epochs)`` are
            called at the start of every epoch.
        distributed: DDP over the process group (see :mod:`neurokit.training.distributed`).
        progress: on rank 0, a live bar while an epoch runs (terminals only) and one summary line per epoch
            (loss, accuracy and spike rate in percent, time). A neuron layer that emits no spike during an
            epoch gets one ``RuntimeWarning`` naming it (the dead-neuron problem).

    Returns:
        history: one dict per epoch with ``epoch``, ``train_loss``, ``train_acc``, ``train_spike_rate``, ``lr``,
        ``step_losses`` and, with ``test_data``, ``test_loss``, ``test_acc``, ``test_spike_rate`` (all reduced
        over processes).

    Example::

        >>> model = nn.Sequential(nn.Linear(64, 100), nk.LIF(), nn.Linear(100, 10))
        >>> train_ds, test_ds = nk.data.digits(T=8)
        >>> history = nk.train(model, train_ds, epochs=3, test_data=test_ds, batch_size=64)
    """
    _check_args(model, train_data, epochs, lr, weight_decay, checkpoint_every, resume, checkpoint_dir)
    loss_fn = get_loss(loss)
    ctx = setup_distributed(distributed, device)
    sync_bn = ctx.distributed and ctx.device.type == "cuda" and not freeze_batchnorm
    try:
        if sync_bn:
            convert_sync_batchnorm(model)
        return _run(model, train_data, epochs, ctx, test_data=test_data, lr=lr, weight_decay=weight_decay,
                    batch_size=batch_size, loss_fn=loss_fn, seed=int(seed), amp=amp, checkpoint_dir=checkpoint_dir,
                    checkpoint_every=checkpoint_every, resume=resume, lr_scale=lr_scale, no_decay=tuple(no_decay),
                    freeze_batchnorm=freeze_batchnorm, on_step_end=on_step_end, on_epoch_end=on_epoch_end,
                    progress=progress, num_workers=num_workers)
    finally:
        if sync_bn:
            revert_sync_batchnorm(model)
        teardown_distributed(ctx)


def _run(model, train_data, epochs, ctx: DistContext, *, test_data, lr, weight_decay, batch_size, loss_fn, seed,
         amp, checkpoint_dir, checkpoint_every, resume, lr_scale, no_decay, freeze_batchnorm, on_step_end,
         on_epoch_end, progress, num_workers) -> List[dict]:
    local_batch = check_global_batch(batch_size, ctx.world_size)
    n_train = len(train_data)
    steps_per_epoch = n_train // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"batch_size: the global batch {batch_size} is larger than train_data ({n_train} samples)")
    total_steps = epochs * steps_per_epoch
    core = model.to(ctx.device)
    net = core
    if ctx.distributed:
        net = nn.parallel.DistributedDataParallel(
            core, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(_param_groups(core, lr, weight_decay, lr_scale, no_decay), lr=lr)
    amp_dtype = _amp_dtype(amp, ctx.device)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    ckpt_path = os.path.join(os.fspath(checkpoint_dir), CHECKPOINT_NAME) if checkpoint_dir is not None else None
    run_id = {"seed": seed, "batch_size": batch_size, "epochs": epochs, "n_train": n_train}
    history: List[dict] = []
    start_epoch, start_step, partial = 0, 0, None
    if resume and os.path.exists(ckpt_path):
        meta = _resume_state(ckpt_path, core, optimizer, scaler, run_id)
        start_epoch, start_step = meta["epoch"], meta["step_in_epoch"]
        history, partial = meta["history"], meta.get("partial")

    def checkpoint(epoch: int, step_in_epoch: int, partial_state: Optional[dict]) -> None:
        if ckpt_path is not None and ctx.is_main:
            save_checkpoint(ckpt_path, core, optimizer, scaler,
                            meta={**run_id, "epoch": epoch, "step_in_epoch": step_in_epoch, "history": history,
                                  "partial": partial_state, "world_size": ctx.world_size})

    bar = EpochProgress(enabled=progress and ctx.is_main)
    dead = DeadLayerMonitor()
    for epoch in range(start_epoch, epochs):
        call_anneal_hooks(core, epoch, epochs)
        first = start_step if epoch == start_epoch else 0
        sampler = ResumableDistributedSampler(n_train, ctx.rank, ctx.world_size, seed, epoch, skip=first * local_batch)
        loader = DataLoader(train_data, batch_size=local_batch, sampler=sampler, drop_last=True,
                            collate_fn=collate_time_major, num_workers=num_workers)
        sums = list(partial["sums"]) if partial and epoch == start_epoch else [0.0] * 5
        step_losses = list(partial["step_losses"]) if partial and epoch == start_epoch else []
        net.train()
        if freeze_batchnorm:
            _freeze_batchnorm(core)
        bar.start_epoch(epoch, epochs, steps_per_epoch, completed=first)
        batches = iter(loader)
        for step in range(first, steps_per_epoch):
            global_step = epoch * steps_per_epoch + step
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(group["base_lr"], global_step, total_steps)
            torch.manual_seed(step_seed(seed, global_step, ctx.rank))   # before the fetch: seeds random transforms
            x, y = next(batches)
            x, y = cast_input(x, core, ctx.device), y.to(ctx.device)
            autocast = (torch.autocast(ctx.device.type, dtype=amp_dtype) if amp_dtype is not None else nullcontext())
            with SpikeRecorder(core) as rec, autocast:
                out = net(x)
                batch_loss = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(batch_loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                batch_loss.backward()
                optimizer.step()
            local = torch.stack([batch_loss.detach().double() * y.shape[0],
                                 (predictions(out.detach()) == y).sum().double(),
                                 torch.tensor(float(y.shape[0]), dtype=torch.float64, device=ctx.device),
                                 rec.spikes.to(ctx.device), rec.elements.to(ctx.device)])
            dead.add(rec)
            reduced = all_reduce_sum(local, ctx).tolist()
            sums = [a + b for a, b in zip(sums, reduced)]
            step_losses.append(reduced[0] / reduced[2])
            bar.advance(sums[0] / sums[2])
            if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < steps_per_epoch:
                checkpoint(epoch, step + 1, {"sums": sums, "step_losses": step_losses})
            if on_step_end is not None:
                on_step_end(epoch, step, step_losses[-1])
        record = {"epoch": epoch, "train_loss": sums[0] / sums[2], "train_acc": sums[1] / sums[2],
                  "train_spike_rate": sums[3] / sums[4] if sums[4] else 0.0,
                  "lr": optimizer.param_groups[0]["lr"], "step_losses": step_losses}
        if test_data is not None:
            scores = evaluate(core, test_data, batch_size=batch_size, loss=loss_fn, ctx=ctx, num_workers=num_workers)
            record.update({f"test_{k}": v for k, v in scores.items()})
        history.append(record)
        dead.end_epoch(epoch, ctx)
        bar.end_epoch(record)
        checkpoint(epoch + 1, 0, None)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    bar.close()
    return history
