"""One harness for continual learning: train a model on a task sequence with HLOP, plain fine-tuning or EWC, and
report the accuracy matrix, ACC and BWT.

``acc_matrix[i, j]`` = test accuracy on task ``j`` after training on tasks ``0..i``. ``ACC = mean_j acc[-1, j]``;
``BWT = mean_{j < n-1} (acc[-1, j] - acc[j, j])`` (GPM/HLOP definitions; negative = forgetting). Inputs are static
``[N, F]`` tasks (:mod:`.tasks`) fed to the model with the direct code (repeated ``T`` steps, ``[T, B, F]``);
logits are the time mean of the output, restricted to the task's classes.

Example::

    >>> res = train_tasks(hlop_mlp(64, (128,)), permuted_digits(5), method="hlop", epochs=5)
    >>> print(res.table()); res.plot("acc.png"); res.acc, res.bwt
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..encode import direct
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

    def plot(self, path: str, ax=None) -> str:
        """Heat map of the accuracy matrix: saved as a PNG at ``path``, or drawn into ``ax`` (a matplotlib Axes; the
        caller saves the figure) when given. Returns ``path``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..plotting import atomic_savefig

        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(4.2, 3.6))
        shown = np.where(np.tril(np.ones_like(self.acc_matrix)) > 0, 100 * self.acc_matrix, np.nan)
        image = ax.imshow(shown, vmin=0, vmax=100, cmap="viridis")
        for i in range(shown.shape[0]):
            for j in range(i + 1):
                ax.text(j, i, f"{shown[i, j]:.0f}", ha="center", va="center", fontsize=7, color="w")
        ax.set_xticks(range(len(self.task_names)), self.task_names, rotation=45, fontsize=7)
        ax.set_yticks(range(len(self.task_names)), self.task_names, fontsize=7)
        ax.set_xlabel("evaluated on")
        ax.set_ylabel("after training")
        ax.set_title(f"{self.method}: ACC {100 * self.acc:.1f}, BWT {100 * self.bwt:+.1f}", fontsize=9)
        if own:
            fig.colorbar(image, ax=ax, fraction=0.046)
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


def _evaluate(model, task: Task, T: int, batch_size: int = 512) -> float:
    model.eval()
    classes = torch.tensor(task.classes)
    correct = 0
    with torch.no_grad():
        for x, y in zip(task.x_test.split(batch_size), task.y_test.split(batch_size)):
            correct += int((classes[_logits(model, x, classes, T).argmax(1)] == y).sum())
    model.train()
    return correct / max(1, task.y_test.numel())


def _batches(task: Task, batch_size: int, generator: torch.Generator):
    order = torch.randperm(task.y_train.numel(), generator=generator)
    return [(task.x_train[idx], task.y_train[idx]) for idx in order.split(batch_size)]


def train_tasks(model: nn.Module, tasks: Sequence[Task], method: str = "hlop", epochs: int = 5, lr: float = 1e-2,
                batch_size: int = 64, T: int = 4, optimizer: str = "adam", ewc_lambda: float = 1000.0,
                hebbian_epochs: int = 2, seed: int = 0, verbose: bool = False) -> ContinualResult:
    """Train ``model`` on ``tasks`` in order with ``method`` and return the :class:`ContinualResult`.

    Args:
        model: ``[T, B, F] -> [T, B, C]``; for ``"hlop"`` an :class:`~neurokit.models.hlop.HLOPMLP`
            (:func:`nk.models.hlop_mlp`).
        tasks: :class:`~neurokit.continual.Task` list with one input shape (checked).
        method: ``"hlop"`` (projected updates + Hebbian subspaces), ``"finetune"`` (plain) or ``"ewc"``.
        epochs, lr, batch_size: per task; a fresh ``optimizer`` (``"adam" | "sgd"``) for every task.
        T: time steps of the direct input code. ewc_lambda: EWC strength.
        hebbian_epochs: HLOP passes over a finished task's data to learn its subspace (weights fixed).
        verbose: print the accuracy row after each task.

    Example::

        >>> res = train_tasks(nk.models.hlop_mlp(64, (128,)), split_digits(5), method="hlop")
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown; expected one of {METHODS}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is unknown; expected one of {tuple(_OPTIMIZERS)}")
    if method == "hlop" and not hasattr(model, "hlop_pairs"):
        raise TypeError(f"method='hlop' needs a model with HLOP subspaces (nk.models.hlop_mlp); got "
                        f"{type(model).__name__}")
    with torch.no_grad():
        probe = model(direct(tasks[0].x_train[:1], T)) if tasks and isinstance(tasks[0], Task) else None
    check_tasks(tasks, None if probe is None else probe.shape[-1])
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

        def loss_fn(out, y):
            return F.cross_entropy(out.mean(0)[:, classes], torch.searchsorted(classes, y))

        for _ in range(epochs):
            for x, y in _batches(task, batch_size, gen):
                loss = loss_fn(model(direct(x, T)), y)
                if ewc is not None:
                    loss = loss + ewc.penalty(model)
                opt.zero_grad()
                loss.backward()
                if method == "hlop":
                    projected_step(opt, model.hlop_pairs())
                else:
                    opt.step()
        if method == "hlop":
            _learn_subspace(model, task, batch_size, T, hebbian_epochs, gen)
        if ewc is not None:
            ewc.consolidate(model, [(direct(x, T), y) for x, y in _batches(task, batch_size, gen)], loss_fn)
        acc[i, : i + 1] = [_evaluate(model, tasks[j], T) for j in range(i + 1)]
        if verbose:
            print(f"[{method}] after {task.name}: " + " ".join(f"{100 * a:.1f}" for a in acc[i, : i + 1]))
    return ContinualResult(method, [t.name for t in tasks], acc)


def _learn_subspace(model, task: Task, batch_size: int, T: int, epochs: int, gen: torch.Generator) -> None:
    model.recording = True
    with torch.no_grad():
        for _ in range(epochs):
            for x, _y in _batches(task, batch_size, gen):
                model(direct(x, T))
                model.hebbian_update()
    model.recording = False
    model.merge_subspaces()
