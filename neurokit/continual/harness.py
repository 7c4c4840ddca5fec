"""One harness for continual learning: train a model on a task sequence with HLOP, plain fine-tuning or EWC, and
report the accuracy matrix, ACC and BWT.

``acc_matrix[i, j]`` = test accuracy on task ``j`` after training on tasks ``0..i``. ``ACC = mean_j acc[-1, j]``;
``BWT = mean_{j < n-1} (acc[-1, j] - acc[j, j])`` (GPM/HLOP definitions; negative = forgetting). Inputs are static
``[N, F]`` tasks (:mod:`.tasks`) fed to the model with the direct code (repeated ``T`` steps, ``[T, B, F]``);
logits are the time mean of the output, restricted to the task's classes.

Data parallel (``distributed=True``, one CPU process per rank, gloo): every rank draws the same global batches and
trains on its contiguous shard of each; gradients are summed over ranks with the loss scaled by the *global* batch,
so each step equals the single-process step on the whole batch (uneven shards of a last partial batch included).
HLOP's Hebbian updates all-reduce their statistics (:mod:`.hlop`); EWC's Fisher is computed on the full batches
on every rank; test accuracies are reduced over sharded test sets. Only rank 0 prints.

Example::

    >>> res = train_tasks(hlop_mlp(64, (128,)), permuted_digits(5), method="hlop", epochs=5)
    >>> print(res.table()); res.plot("acc.png"); res.acc, res.bwt
    $ OMP_NUM_THREADS=1 torchrun --nproc_per_node 2 script.py     # script: train_tasks(..., distributed=True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..encode import direct
from ..training.distributed import (
    DistContext,
    check_global_batch,
    setup_distributed,
    teardown_distributed,
)
from .ewc import EWC
from .hlop import projected_step
from .tasks import Task

__all__ = ["METHODS", "ContinualResult", "train_tasks", "check_tasks"]

METHODS = ("hlop", "finetune", "ewc")
_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclass
class ContinualResult:
    """Outcome of :func:`train_tasks`: ``acc_matrix [n, n]`` (fractions), ``acc`` and ``bwt`` (fractions).

    Example::

        >>> r = ContinualResult("finetune", ["a", "b"], np.array([[0.9, 0.1], [0.5, 0.8]]))
        >>> round(r.acc, 3), round(r.bwt, 3)
        (0.65, -0.4)
    """

    method: str
    task_names: list
    acc_matrix: np.ndarray
    acc: float = field(init=False)
    bwt: float = field(init=False)

    def __post_init__(self):
        r = np.asarray(self.acc_matrix, dtype=float)
        n = r.shape[0]
        self.acc = float(r[-1].mean())
        self.bwt = float(np.mean([r[-1, j] - r[j, j] for j in range(n - 1)])) if n > 1 else 0.0

    def table(self) -> str:
        """The accuracy matrix in percent with ACC and BWT, as plain text."""
        width = max(8, max(len(n) for n in self.task_names) + 1)
        lines = [f"{self.method}: accuracy (%) after training task (row) on task (column)",
                 " " * width + "".join(f"{n:>{width}}" for n in self.task_names)]
        for i, name in enumerate(self.task_names):
            cells = "".join(f"{100 * v:>{width}.1f}" if j <= i else f"{'-':>{width}}"
                            for j, v in enumerate(self.acc_matrix[i]))
            lines.append(f"{name:<{width}}" + cells)
        lines.append(f"ACC = {100 * self.acc:.2f}  BWT = {100 * self.bwt:+.2f}")
        return "\n".join(lines)

    def plot(self, path: str, ax=None, title: str | None = None) -> str:
        """Heat map of the accuracy matrix with a colour bar (0..100 %), each cell labelled in a colour readable on
        it: saved as a PNG at ``path``, or drawn into ``ax`` (a matplotlib Axes; the caller saves the figure) when
        given. ``title`` (e.g. the model and the task sequence) heads the method, ACC and BWT. Returns ``path``.

        Example::

            >>> res.plot("acc.png", title="hlop_mlp 64-256, permuted digits")
            'acc.png'
        """
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..atomic import atomic_savefig

        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(4.6, 3.8))
        shown = np.where(np.tril(np.ones_like(self.acc_matrix)) > 0, 100 * self.acc_matrix, np.nan)
        image = ax.imshow(shown, vmin=0, vmax=100, cmap="viridis")
        for i in range(shown.shape[0]):
            for j in range(i + 1):
                # viridis is dark below ~60 % and yellow above: white text on dark cells, black on bright ones
                ax.text(j, i, f"{shown[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="black" if shown[i, j] > 60 else "white")
        ax.set_xticks(range(len(self.task_names)), self.task_names, rotation=45, fontsize=7)
        ax.set_yticks(range(len(self.task_names)), self.task_names, fontsize=7)
        ax.set_xlabel("evaluated on")
        ax.set_ylabel("after training")
        head = f"{title}\n" if title else ""
        ax.set_title(f"{head}{self.method}: ACC {100 * self.acc:.1f}, BWT {100 * self.bwt:+.1f}", fontsize=9)
        ax.figure.colorbar(image, ax=ax, fraction=0.046, label="test accuracy (%)")
        if own:
            fig.tight_layout()
            atomic_savefig(fig, path, dpi=120)
            plt.close(fig)
        return path


def check_tasks(tasks: Sequence[Task], num_classes: int | None = None) -> None:
    """Validate a task sequence: same input shape in every split of every task, labels among the task's classes.

    Raises ``ValueError`` naming the task, the field, the shape found and the shape expected.
    """
    if not isinstance(tasks, (list, tuple)) or not tasks or not all(isinstance(t, Task) for t in tasks):
        raise ValueError(f"tasks: expected a non-empty list of Task, got {type(tasks).__name__}")
    expected = tuple(tasks[0].x_train.shape[1:])
    for i, task in enumerate(tasks):
        for split in ("train", "test"):
            x, y = getattr(task, f"x_{split}"), getattr(task, f"y_{split}")
            if tuple(x.shape[1:]) != expected:
                raise ValueError(f"tasks[{i}] ({task.name!r}).x_{split}: sample shape {tuple(x.shape[1:])} "
                                 f"differs from tasks[0].x_train's {expected}")
            if y.dim() != 1 or y.shape[0] != x.shape[0]:
                raise ValueError(f"tasks[{i}] ({task.name!r}).y_{split}: shape {tuple(y.shape)}; expected "
                                 f"[{x.shape[0]}] (one label per sample of x_{split})")
            if y.numel() and not torch.isin(y, torch.tensor(task.classes)).all():
                raise ValueError(f"tasks[{i}] ({task.name!r}).y_{split}: labels outside classes {task.classes}")
        if not task.classes or list(task.classes) != sorted(set(task.classes)) or min(task.classes) < 0:
            raise ValueError(f"tasks[{i}] ({task.name!r}).classes={task.classes}: expected distinct class ids >= 0 "
                             f"in ascending order")
        if num_classes is not None and max(task.classes) >= num_classes:
            raise ValueError(f"tasks[{i}] ({task.name!r}).classes={task.classes}: the model has only "
                             f"{num_classes} outputs")


def _logits(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, T: int) -> torch.Tensor:
    return model(direct(x, T)).mean(0)[:, classes]


def _evaluate(model, task: Task, T: int, ctx: DistContext, batch_size: int = 512) -> float:
    """Test accuracy; distributed: rank ``r`` scores samples ``r, r + world, ...`` and the counts are summed."""
    model.eval()
    classes = torch.tensor(task.classes)
    x_test, y_test = task.x_test[ctx.rank::ctx.world_size], task.y_test[ctx.rank::ctx.world_size]
    correct = 0
    with torch.no_grad():
        for x, y in zip(x_test.split(batch_size), y_test.split(batch_size)):
            correct += int((classes[_logits(model, x, classes, T).argmax(1)] == y).sum())
    model.train()
    if ctx.distributed:
        counts = torch.tensor([correct, y_test.numel()], dtype=torch.float64)
        dist.all_reduce(counts)
        return float(counts[0]) / max(1.0, float(counts[1]))
    return correct / max(1, task.y_test.numel())


def _batches(task: Task, batch_size: int, generator: torch.Generator):
    order = torch.randperm(task.y_train.numel(), generator=generator)
    return [(task.x_train[idx], task.y_train[idx]) for idx in order.split(batch_size)]


def _shard(x: torch.Tensor, y: torch.Tensor, ctx: DistContext):
    """This rank's contiguous part of a global batch (``tensor_split``: equal parts, or +-1 for a partial batch)."""
    if not ctx.distributed:
        return x, y
    return x.tensor_split(ctx.world_size)[ctx.rank], y.tensor_split(ctx.world_size)[ctx.rank]


def _all_reduce_grads(model: nn.Module) -> None:
    """Sum every gradient over ranks (the per-rank losses are already scaled by the global batch)."""
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)


def train_tasks(model: nn.Module, tasks: Sequence[Task], method: str = "hlop", epochs: int = 5, lr: float = 1e-2,
                batch_size: int = 64, T: int = 4, optimizer: str = "adam", ewc_lambda: float = 1000.0,
                hebbian_epochs: int = 2, seed: int = 0, verbose: bool = False,
                distributed: bool = False) -> ContinualResult:
    """Train ``model`` on ``tasks`` in order with ``method`` and return the :class:`ContinualResult`.

    Args:
        model: ``[T, B, F] -> [T, B, C]``; for ``"hlop"`` an :class:`~neurokit.models.hlop.HLOPMLP`
            (:func:`nk.models.hlop_mlp`) or :class:`~neurokit.models.hlop_cnn.HLOPCNN` (:func:`nk.models.hlop_cnn`).
        tasks: :class:`~neurokit.continual.Task` list with one input shape (checked).
        method: ``"hlop"`` (projected updates + Hebbian subspaces), ``"finetune"`` (plain) or ``"ewc"``.
        epochs, lr, batch_size: per task; a fresh ``optimizer`` (``"adam" | "sgd"``) for every task.
        T: time steps of the direct input code. ewc_lambda: EWC strength.
        hebbian_epochs: HLOP passes over a finished task's data to learn its subspace (weights fixed).
        verbose: print the accuracy row after each task (rank 0 only).
        distributed: data parallel over the ``torch.distributed`` group (joined or created as by ``nk.train``;
            gloo, model on CPU). ``batch_size`` is the global batch and must be divisible by the world size; rank
            0's parameters are broadcast first. Every rank gets the same (reduced) result.

    Example::

        >>> res = train_tasks(nk.models.hlop_mlp(64, (128,)), split_digits(5), method="hlop")
        >>> res = train_tasks(model, tasks, distributed=nk.training.launched_by_torchrun())    # under torchrun
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown; expected one of {METHODS}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is unknown; expected one of {tuple(_OPTIMIZERS)}")
    if method == "hlop" and not hasattr(model, "hlop_pairs"):
        raise TypeError(f"method='hlop' needs a model with HLOP subspaces (nk.models.hlop_mlp or "
                        f"nk.models.hlop_cnn); got {type(model).__name__}")
    with torch.no_grad():
        probe = model(direct(tasks[0].x_train[:1], T)) if tasks and isinstance(tasks[0], Task) else None
    check_tasks(tasks, None if probe is None else probe.shape[-1])
    ctx = setup_distributed(distributed, device="cpu")
    try:
        check_global_batch(batch_size, ctx.world_size)
        return _train(model, tasks, method, epochs, lr, batch_size, T, optimizer, ewc_lambda, hebbian_epochs, seed,
                      verbose, ctx)
    finally:
        teardown_distributed(ctx)


def _train(model, tasks, method, epochs, lr, batch_size, T, optimizer, ewc_lambda, hebbian_epochs, seed, verbose,
           ctx: DistContext) -> ContinualResult:
    if ctx.distributed:
        with torch.no_grad():
            for p in model.parameters():
                dist.broadcast(p, src=0)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    ewc = EWC(ewc_lambda) if method == "ewc" else None
    n = len(tasks)
    acc = np.zeros((n, n))
    for i, task in enumerate(tasks):
        classes = torch.tensor(task.classes)
        opt = _OPTIMIZERS[optimizer](model.parameters(), lr=lr)
        if method == "hlop":
            model.add_subspaces(i, gen)

        def loss_fn(out, y, reduction="mean", classes=classes):
            return F.cross_entropy(out.mean(0)[:, classes], torch.searchsorted(classes, y), reduction=reduction)

        for _ in range(epochs):
            for x, y in _batches(task, batch_size, gen):
                xs, ys = _shard(x, y, ctx)
                if ctx.distributed:         # summed over ranks below: the mean over the global batch
                    loss = loss_fn(model(direct(xs, T)), ys, "sum") / y.shape[0]
                else:
                    loss = loss_fn(model(direct(xs, T)), ys)
                if ewc is not None:
                    loss = loss + ewc.penalty(model) / ctx.world_size
                opt.zero_grad()
                loss.backward()
                if ctx.distributed:
                    _all_reduce_grads(model)
                if method == "hlop":
                    projected_step(opt, model.hlop_pairs())
                else:
                    opt.step()
        if method == "hlop":
            _learn_subspace(model, task, batch_size, T, hebbian_epochs, gen, ctx)
        if ewc is not None:
            ewc.consolidate(model, [(direct(x, T), y) for x, y in _batches(task, batch_size, gen)], loss_fn)
        acc[i, : i + 1] = [_evaluate(model, tasks[j], T, ctx) for j in range(i + 1)]
        if verbose and ctx.is_main:
            print(f"[{method}] after {task.name}: " + " ".join(f"{100 * a:.1f}" for a in acc[i, : i + 1]))
    return ContinualResult(method, [t.name for t in tasks], acc)


def _learn_subspace(model, task: Task, batch_size: int, T: int, epochs: int, gen: torch.Generator,
                    ctx: DistContext) -> None:
    model.recording = True
    with torch.no_grad():
        for _ in range(epochs):
            for x, y in _batches(task, batch_size, gen):
                model(direct(_shard(x, y, ctx)[0], T))
                model.hebbian_update()
    model.recording = False
    model.merge_subspaces()
