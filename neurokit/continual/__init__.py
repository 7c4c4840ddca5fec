"""Continual learning: HLOP (Hebbian orthogonal projection), EWC and plain fine-tuning in one harness.

Example::

    >>> import neurokit as nk
    >>> tasks = nk.continual.permuted_digits(n_tasks=5)
    >>> res = nk.continual.train_tasks(nk.models.hlop_mlp(64, (128,)), tasks, method="hlop")
    >>> print(res.table()); res.acc, res.bwt
"""
from .ewc import EWC
from .harness import METHODS, ContinualResult, check_tasks, train_tasks
from .hlop import HebbianSubspace, projected_step
from .tasks import Task, permuted_digits, split_digits

__all__ = ["HebbianSubspace", "projected_step", "EWC", "Task", "permuted_digits", "split_digits", "train_tasks",
           "ContinualResult", "METHODS", "check_tasks"]
