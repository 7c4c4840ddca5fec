"""Elastic Weight Consolidation (Kirkpatrick et al., PNAS 2017): a quadratic penalty that anchors each parameter to
its value after earlier tasks, weighted by the diagonal Fisher information.

``penalty = lam / 2 * sum_i F_i (theta_i - theta*_i)^2`` with ``F`` summed over the tasks seen so far and
``theta*`` the parameters after the last task. ``F`` is the empirical Fisher estimated from squared mini-batch
gradients of the task loss (scaled by the batch size): cheap, and the usual practical approximation.

Example::

    >>> ewc = EWC(lam=100.0)
    >>> ewc.consolidate(model, batches, loss_fn)       # after a task
    >>> loss = task_loss + ewc.penalty(model)          # while learning the next
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

__all__ = ["EWC"]


class EWC:
    """Diagonal-Fisher EWC penalty.

    Args:
        lam: penalty strength ``lambda`` (> 0).

    Example::

        >>> EWC(lam=50.0).penalty(nn.Linear(2, 2))      # zero before any consolidation
        tensor(0.)
    """

    def __init__(self, lam: float):
        if not lam > 0:
            raise ValueError(f"lam={lam!r} must be > 0")
        self.lam = float(lam)
        self.fisher: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}

    def consolidate(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        """Add this task's Fisher (from ``loss_fn(model(x), y)`` over ``batches``) and re-anchor at the current
        parameters."""
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        fisher = {n: torch.zeros_like(p) for n, p in params.items()}
        count = 0
        for x, y in batches:
            model.zero_grad()
            loss_fn(model(x), y).backward()
            for n, p in params.items():
                if p.grad is not None:
                    fisher[n] += p.grad.detach().pow(2) * y.shape[0]
            count += y.shape[0]
        model.zero_grad()
        for n, f in fisher.items():
            self.fisher[n] = self.fisher.get(n, 0) + f / max(count, 1)
            self.anchor[n] = params[n].detach().clone()

    def penalty(self, model: nn.Module) -> torch.Tensor:
        """``lam / 2 * sum F (theta - theta*)^2`` (a scalar tensor with gradient; 0 before consolidation)."""
        terms = [(self.fisher[n] * (p - self.anchor[n]).pow(2)).sum()
                 for n, p in model.named_parameters() if n in self.fisher]
        if not terms:
            return torch.zeros(())
        return 0.5 * self.lam * torch.stack(terms).sum()
