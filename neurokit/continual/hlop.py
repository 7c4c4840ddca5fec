"""Hebbian Learning based Orthogonal Projection (HLOP; Xiao et al., ICLR 2024, arXiv 2402.11984).

Per layer, a bank of lateral *subspace neurons* ``H [M, N]`` (``N`` = presynaptic size) learns the principal subspace
of the layer's presynaptic activity ``x`` with Oja's subspace rule (Hebbian ``y x^T`` minus anti-Hebbian
``y y^T H``)::

    y  = H x,   x_hat = H^T y
    dH = y (x - x_hat)^T / (B * mean ||x||^2)     # batch mean; normalised by the activity power, clamped to +-10
    m  = momentum * m + dH;   H += lr * m           # rows of earlier tasks (frozen) are not updated

For a new task, :meth:`HebbianSubspace.add_subspace` appends ``k`` neurons (orthogonal init); after the task
:meth:`HebbianSubspace.merge` freezes all of them into the old subspace. While learning later tasks, every weight
update of the layer is projected onto the orthogonal complement of the frozen subspace::

    dW <- dW - (dW H_old^T) H_old

so the layer's response to earlier tasks' activity (which lies in that subspace) does not change. The projection is
applied to the gradient (so optimizer statistics see projected gradients) and again to the optimizer's actual update
(so it holds for any optimizer, Adam included): :func:`projected_step`.

The normalisation by ``mean ||x||^2`` (a normalised Hebbian rate) is neurokit's choice so one ``lr`` serves analog
inputs and spike counts alike; HLOP's code uses fixed per-layer rates.

Data parallel: when ``torch.distributed`` is initialised with more than one process, every rank passes its shard of
the batch and the update is computed from the all-reduced sufficient statistics (``sum_s y_s (x_s - x_hat_s)^T``
per iteration, ``sum_s ||x_s||^2`` and the sample count), so every rank applies exactly the update that one process
would apply to the whole batch (up to float summation order), and new neurons are broadcast from rank 0.

Example::

    >>> sub = HebbianSubspace(64)
    >>> sub.add_subspace(10)
    >>> for x in batches: sub.hebbian_update(x)        # x [S, 64]
    >>> sub.merge(); sub.project(torch.rand(5, 64)).shape
    torch.Size([5, 64])
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["HebbianSubspace", "projected_step"]


def _world_size() -> int:
    """Processes in the default group (1 when ``torch.distributed`` is not initialised)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class HebbianSubspace(nn.Module):
    """Lateral subspace neurons for one layer with ``in_features`` presynaptic neurons.

    Args:
        in_features: presynaptic size ``N``.
        lr: Hebbian learning rate (on the power-normalised update). momentum: of the update.
        iterations: Oja iterations per :meth:`hebbian_update` call (HLOP: 5).

    Buffers: ``weight [M, N]`` (all subspace neurons), ``n_frozen`` (rows ``[:n_frozen]`` are the merged subspace of
    earlier tasks).

    Example::

        >>> sub = HebbianSubspace(8); sub.add_subspace(2); sub.weight.shape
        torch.Size([2, 8])
    """

    def __init__(self, in_features: int, lr: float = 0.05, momentum: float = 0.9, iterations: int = 5):
        super().__init__()
        if isinstance(in_features, bool) or not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"in_features={in_features!r} must be a positive int")
        if not 0 < lr or not 0 <= momentum < 1 or iterations < 1:
            raise ValueError(f"lr={lr!r} must be > 0, momentum={momentum!r} in [0, 1), iterations={iterations!r} >= 1")
        self.in_features, self.lr, self.momentum, self.iterations = in_features, lr, momentum, iterations
        self.register_buffer("weight", torch.zeros(0, in_features))
        self.register_buffer("velocity", torch.zeros(0, in_features))
        self.n_frozen = 0

    @property
    def size(self) -> int:
        """Number of subspace neurons ``M``."""
        return self.weight.shape[0]

    def add_subspace(self, k: int, generator: torch.Generator | None = None) -> None:
        """Append ``k`` new (trainable) subspace neurons with orthonormal random rows; total capped at ``N``.

        Under ``torch.distributed`` (world size > 1) the new rows are broadcast from rank 0, so every rank starts
        from the same subspace whatever its ``generator``; every rank must call this with the same ``k``.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"k={k!r} must be an int >= 0")
        k = min(k, self.in_features - self.size)
        if k == 0:
            return
        new = torch.randn(self.in_features, k, generator=generator, dtype=self.weight.dtype)
        q, _ = torch.linalg.qr(new)
        if _world_size() > 1:
            dist.broadcast(q, src=0)
        self.weight = torch.cat([self.weight, q.T.to(self.weight.device)])
        self.velocity = torch.cat([self.velocity, torch.zeros_like(q.T).to(self.weight.device)])

    @torch.no_grad()
    def hebbian_update(self, x: torch.Tensor) -> None:
        """Oja subspace updates of the trainable rows from presynaptic activity ``x [S, N]`` (samples in rows).

        Under ``torch.distributed`` (world size > 1) ``x`` is this rank's shard (``S`` may differ between ranks, even
        be 0); every rank must call this the same number of times, and all end with the same ``weight``.

        Example::

            >>> sub = HebbianSubspace(8); sub.add_subspace(2); sub.hebbian_update(torch.rand(16, 8))
        """
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"x: expected presynaptic activity [S, {self.in_features}], got {tuple(x.shape)}")
        if self.size == self.n_frozen:
            return
        x = x.to(self.weight.dtype)
        sync = _world_size() > 1
        if sync:                                                    # global sum ||x||^2 and sample count
            stats = torch.stack([x.pow(2).sum(), x.new_tensor(x.shape[0])])
            dist.all_reduce(stats)
            count, power = stats[1], stats[0] / stats[1]
        else:
            count, power = x.shape[0], x.pow(2).sum(1).mean()
        power = power.clamp(min=1e-12)
        for _ in range(self.iterations):
            y = x @ self.weight.T                                   # [S, M]
            residual = x - y @ self.weight                          # [S, N]
            hebb = y.T @ residual                                   # [M, N], summed over samples
            if sync:
                dist.all_reduce(hebb)
            delta = (hebb / (count * power)).clamp(-10.0, 10.0)
            delta[: self.n_frozen] = 0.0
            self.velocity.mul_(self.momentum).add_(delta)
            self.weight.add_(self.lr * self.velocity)

    def merge(self) -> None:
        """Freeze every current subspace neuron into the old-task subspace (after a task)."""
        self.n_frozen = self.size
        self.velocity.zero_()

    def project(self, g: torch.Tensor) -> torch.Tensor:
        """``g - (g H_old^T) H_old`` over the last dim of ``g [..., N]`` (identity before any merge)."""
        if self.n_frozen == 0:
            return g
        old = self.weight[: self.n_frozen].to(g.dtype)
        return g - (g @ old.T) @ old

    def projection_matrix(self) -> torch.Tensor:
        """``H_old^T H_old [N, N]`` (the operator removed by :meth:`project`)."""
        old = self.weight[: self.n_frozen]
        return old.T @ old

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, size={self.size}, n_frozen={self.n_frozen}, lr={self.lr}"


def projected_step(optimizer: torch.optim.Optimizer, pairs: Iterable[tuple[nn.Parameter, HebbianSubspace]]) -> None:
    """``optimizer.step()`` with each weight's gradient and update projected off its layer's old subspace.

    Args:
        optimizer: any torch optimizer over (at least) the weights in ``pairs``.
        pairs: ``(weight, subspace)`` per HLOP layer: a linear weight ``[out, N]`` or a conv weight
            ``[C_out, C_in, k, k]`` with ``N = C_in*k*k`` (its subspace spans unfolded input patches); other
            parameters step normally.

    Example::

        >>> loss.backward(); projected_step(opt, model.hlop_pairs())
    """
    pairs = [(w, s) for w, s in pairs if s.n_frozen > 0]
    for weight, sub in pairs:
        if weight.grad is not None:
            weight.grad.copy_(_project(sub, weight.grad))
    before = [weight.detach().clone() for weight, _ in pairs]
    optimizer.step()
    with torch.no_grad():
        for (weight, sub), old in zip(pairs, before):
            weight.copy_(old + _project(sub, weight - old))


def _project(sub: HebbianSubspace, g: torch.Tensor) -> torch.Tensor:
    """Project a weight-shaped ``g``: ``[out, N]`` directly, a conv ``[C_out, C_in, k, k]`` as ``[C_out, C_in*k*k]``
    (the order of ``torch.nn.functional.unfold``'s patch rows)."""
    return sub.project(g.reshape(g.shape[0], -1)).reshape(g.shape)
