"""Continual-learning task sequences built from scikit-learn's bundled 8x8 digits (no download).

* :func:`permuted_digits` -- every task is all 10 digits with its own fixed pixel permutation (task 0 unpermuted),
  as in permuted MNIST; domain-incremental with one shared 10-way head, or task-incremental with
  ``multi_head=True`` (task ``t`` uses classes ``10t .. 10t+9``, i.e. its own head of a ``10 * n_tasks`` readout).
* :func:`split_digits` -- 5 tasks of two digits each ((0,1), (2,3), ...); task-incremental (a 10-way head masked
  to the task's digits) or, with ``shared_head=True``, domain-incremental (one shared 2-way head: "first or second
  digit of the pair", labels 0/1 in every task).

Example::

    >>> tasks = permuted_digits(n_tasks=5, seed=0)
    >>> len(tasks), tasks[0].x_train.shape[1], tasks[0].classes
    (5, 64, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Task", "permuted_digits", "split_digits"]


@dataclass
class Task:
    """One task: static inputs ``x_* [N, F]`` (float), labels ``y_* [N]`` (int64), and the classes it uses.

    Example::

        >>> Task("t0", torch.rand(4, 3), torch.tensor([0, 1, 0, 1]), torch.rand(2, 3), torch.tensor([0, 1]), (0, 1))
        Task(name='t0', ...)
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple

    def __repr__(self) -> str:
        return (f"Task(name={self.name!r}, train={tuple(self.x_train.shape)}, test={tuple(self.x_test.shape)}, "
                f"classes={self.classes})")


def _digits(seed: int, test_fraction: float):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0                 # [1797, 64] in [0, 1]
    y = torch.as_tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(y)))
    return x[order[n_test:]], y[order[n_test:]], x[order[:n_test]], y[order[:n_test]]


def permuted_digits(n_tasks: int = 5, seed: int = 0, test_fraction: float = 0.25, multi_head: bool = False) -> list:
    """``n_tasks`` permuted-digits tasks (task 0 is the identity permutation). Inputs ``[N, 64]`` in [0, 1].

    ``multi_head``: labels of task ``t`` become ``10t + digit`` (a model with ``10 * n_tasks`` outputs).

    Example::

        >>> t = permuted_digits(3); bool((t[1].x_test.sum(1) == t[0].x_test.sum(1)).all())
        True
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, int) or n_tasks < 1:
        raise ValueError(f"n_tasks={n_tasks!r} must be an int >= 1")
    x_tr, y_tr, x_te, y_te = _digits(seed, test_fraction)
    gen = torch.Generator().manual_seed(seed + 1)
    tasks = []
    for t in range(n_tasks):
        perm = torch.arange(64) if t == 0 else torch.randperm(64, generator=gen)
        offset = 10 * t if multi_head else 0
        tasks.append(Task(f"perm{t}", x_tr[:, perm], y_tr + offset, x_te[:, perm], y_te + offset,
                          tuple(range(offset, offset + 10))))
    return tasks


def split_digits(n_tasks: int = 5, seed: int = 0, test_fraction: float = 0.25, shared_head: bool = False) -> list:
    """Split digits into ``n_tasks`` tasks of ``10 // n_tasks`` consecutive classes each (5 -> pairs).

    ``shared_head``: relabel every task to ``0 .. 10 // n_tasks - 1`` (a model with ``10 // n_tasks`` outputs).

    Example::

        >>> [t.classes for t in split_digits(5)][:2]
        [(0, 1), (2, 3)]
    """
    if n_tasks not in (1, 2, 5, 10):
        raise ValueError(f"n_tasks={n_tasks!r}: expected 1, 2, 5 or 10 (an equal split of the 10 classes)")
    x_tr, y_tr, x_te, y_te = _digits(seed, test_fraction)
    per = 10 // n_tasks
    tasks = []
    for t in range(n_tasks):
        classes = tuple(range(t * per, (t + 1) * per))
        tr = (y_tr >= classes[0]) & (y_tr <= classes[-1])
        te = (y_te >= classes[0]) & (y_te <= classes[-1])
        offset = classes[0] if shared_head else 0
        tasks.append(Task(f"split{t}", x_tr[tr], y_tr[tr] - offset, x_te[te], y_te[te] - offset,
                          tuple(c - offset for c in classes)))
    return tasks
