"""Data-parallel training support: process-group set-up, data sharding, metric reduction and the torchrun launcher.

How a distributed run is started (see ``docs/training.md``):

* ``neurokit train --nproc N [--nnodes M --node-rank R --master-addr HOST --master-port P] ...`` calls
  :func:`launch_distributed`, which runs ``python -m torch.distributed.run --nproc_per_node N ... -m neurokit.cli
  train ...``; every process then calls ``nk.train(..., distributed=True)``.
* Or launch your own script with ``torchrun``; or from a cluster scheduler: the standard variables ``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` are read; under SLURM (``srun``) ``SLURM_PROCID``,
  ``SLURM_NTASKS`` and ``SLURM_LOCALID`` stand in for the first three.
* Or initialise ``torch.distributed`` yourself before calling ``nk.train(..., distributed=True)``.

Backend: NCCL when the device is CUDA, gloo on CPU. ``batch_size`` given to ``nk.train`` is the *global* batch; it
must be divisible by the world size.

Example::

    >>> cmd = build_torchrun_command(nproc=2, argv=["train", "--epochs", "3"])
    >>> cmd[1:4]
    ['-m', 'torch.distributed.run', '--nproc_per_node']
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DistributedSampler, Sampler

from ..devices import resolve_device
from ..layers.time_major import BATCH_NORMS

__all__ = ["DistContext", "setup_distributed", "teardown_distributed", "check_global_batch", "all_reduce_sum",
           "all_reduce_mean_", "is_main_process", "launched_by_torchrun", "ResumableDistributedSampler",
           "ShardSampler", "build_torchrun_command", "launch_distributed", "convert_sync_batchnorm",
           "revert_sync_batchnorm"]

_SLURM_TO_TORCH = {"SLURM_PROCID": "RANK", "SLURM_NTASKS": "WORLD_SIZE", "SLURM_LOCALID": "LOCAL_RANK"}


@dataclass
class DistContext:
    """Where this process stands: ``rank`` of ``world_size`` (``local_rank`` on its node) and its ``device``.

    ``distributed`` is True when collectives are used (``nk.train(..., distributed=True)``); ``owns_group`` is True
    when :func:`setup_distributed` created the process group (then it also destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    distributed: bool = False
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when the environment describes a multi-process job (torchrun's or SLURM's variables).

    Example::

        >>> nk.train(model, data, epochs=3, distributed=launched_by_torchrun())
    """
    world = os.environ.get("WORLD_SIZE", os.environ.get("SLURM_NTASKS", "1"))
    return int(world) > 1


def setup_distributed(distributed: bool, device="auto") -> DistContext:
    """Join (or create) the process group when ``distributed`` is True; otherwise a single-process context.

    Example::

        >>> ctx = setup_distributed(False)
        >>> ctx.rank, ctx.world_size
        (0, 1)
    """
    if not distributed:
        return DistContext(device=resolve_device(device, 0))
    if not dist.is_available():
        raise RuntimeError("distributed=True: this PyTorch build has no torch.distributed support")
    owns = False
    if not dist.is_initialized():
        for slurm, name in _SLURM_TO_TORCH.items():
            if name not in os.environ and slurm in os.environ:
                os.environ[name] = os.environ[slurm]
        missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
        if missing:
            raise RuntimeError(f"distributed=True: environment variables {missing} are not set; launch with "
                               "`neurokit train --nproc N`, torchrun, or srun, or call "
                               "torch.distributed.init_process_group first")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        dev = resolve_device(device, local_rank)
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", init_method="env://")
        owns = True
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, dev, True, owns)


def teardown_distributed(ctx: DistContext) -> None:
    """Destroy the process group if :func:`setup_distributed` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def check_global_batch(batch_size: int, world_size: int) -> int:
    """Per-process batch for a global ``batch_size`` split over ``world_size`` processes; raises if not divisible.

    Example::

        >>> check_global_batch(64, 4)
        16
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1 (the global batch), got {batch_size!r}")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size: expected an integer >= 1, got {world_size!r}")
    if batch_size % world_size:
        raise ValueError(f"batch_size: the global batch {batch_size} is not divisible by the world size "
                         f"{world_size} (processes); choose a batch size that is a multiple of {world_size}")
    return batch_size // world_size


def all_reduce_sum(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum ``values`` over all ranks (no-op in a single process); returns the reduced tensor."""
    if ctx.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def all_reduce_mean_(tensor: torch.Tensor) -> torch.Tensor:
    """In-place mean of ``tensor`` over all ranks when a process group is initialised (no-op otherwise).

    For state updated outside autograd (e.g. HLOP's Hebbian subspace updates) so every rank holds the same value.

    Example::

        >>> all_reduce_mean_(subspace)     # after each rank's local Hebbian update
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor.div_(dist.get_world_size())
    return tensor


def is_main_process() -> bool:
    """True on rank 0 (or when not distributed): the process that prints and writes checkpoints."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


class ResumableDistributedSampler(DistributedSampler):
    """``DistributedSampler`` (shuffle with ``seed + epoch``, ``drop_last=True``) that skips its first ``skip``
    indices, for resuming mid-epoch.

    With a local batch ``b = global_batch / world_size``, global step ``k`` of an epoch always consumes exactly the
    samples ``perm[k*G:(k+1)*G]`` of the epoch's permutation, whatever the world size, so a run resumed on a
    different number of processes sees the same global batches.

    Example::

        >>> s = ResumableDistributedSampler(100, rank=0, world_size=2, seed=0, epoch=1, skip=8)
        >>> len(s)
        42
    """

    def __init__(self, n: int, rank: int, world_size: int, seed: int, epoch: int, skip: int = 0):
        super().__init__(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.set_epoch(epoch)
        self.skip = skip

    def __iter__(self):
        return iter(list(super().__iter__())[self.skip:])

    def __len__(self) -> int:
        return max(0, super().__len__() - self.skip)


class ShardSampler(Sampler):
    """Evaluation shard: indices ``rank, rank + world_size, ...`` of ``range(n)`` in order, no padding, so the
    reduced sums over all ranks cover every sample exactly once.

    Example::

        >>> list(ShardSampler(5, rank=1, world_size=2))
        [1, 3]
    """

    def __init__(self, n: int, rank: int = 0, world_size: int = 1):
        self.indices = list(range(rank, n, world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


_SYNC_CLASSES: dict = {}


def _sync_class(cls: type) -> type:
    """``Sync<cls>``: MRO ``cls -> ... -> nn.SyncBatchNorm``, so ``cls.forward``'s layout handling (e.g. folding
    time into batch) is kept and its ``super().forward`` resolves to ``SyncBatchNorm.forward``."""
    if cls not in _SYNC_CLASSES:
        sync = type(f"Sync{cls.__name__}", (cls, nn.SyncBatchNorm), {"__module__": __name__})
        sync.__qualname__ = sync.__name__
        globals()[sync.__name__] = sync
        _SYNC_CLASSES[cls] = sync
    return _SYNC_CLASSES[cls]


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Turn every BatchNorm in ``module`` into a synchronised one for CUDA DDP, in place; returns ``module``.

    Each BatchNorm instance keeps its parameters, buffers, mode and its own ``forward`` (neurokit's time-major
    ``BatchNorm1d/2d`` and ``TokenBatchNorm`` reshape before normalising; torch's own converter would drop that);
    only the statistics become global (``nn.SyncBatchNorm``, which runs on CUDA only). Undo with
    :func:`revert_sync_batchnorm`.

    Example::

        >>> net = convert_sync_batchnorm(nn.Sequential(nk.layers.BatchNorm1d(8)))
        >>> isinstance(net[0], nn.SyncBatchNorm), isinstance(net[0], nk.layers.BatchNorm1d)
        (True, True)
    """
    for child in module.modules():
        if isinstance(child, BATCH_NORMS) and not isinstance(child, nn.SyncBatchNorm):
            child.__class__ = _sync_class(type(child))
            child.process_group = None
    return module


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Undo :func:`convert_sync_batchnorm` in place (so the trained model runs on CPU again); returns ``module``.

    Example::

        >>> revert_sync_batchnorm(convert_sync_batchnorm(net)) is net
        True
    """
    originals = {sync: cls for cls, sync in _SYNC_CLASSES.items()}
    for child in module.modules():
        if type(child) in originals:
            child.__class__ = originals[type(child)]
            del child.process_group
    return module


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def build_torchrun_command(nproc: int, argv: Sequence[str], nnodes: int = 1, node_rank: int = 0,
                           master_addr: str = "127.0.0.1", master_port: int = 29500,
                           module: str = "neurokit.cli", batch_size: Optional[int] = None,
                           script: Optional[str] = None) -> List[str]:
    """The torchrun command line that runs ``python -m <module> <argv...>`` (or ``python <script> <argv...>``
    when ``script`` is given) in ``nproc`` processes per node.

    Validates ``nproc >= 1``, ``nnodes >= 1``, ``0 <= node_rank < nnodes`` and, when ``batch_size`` is given, that
    the world size ``nproc * nnodes`` divides it.

    Example::

        >>> build_torchrun_command(4, ["train"], nnodes=2, node_rank=1, master_addr="node0")[3:11]
        ['--nproc_per_node', '4', '--nnodes', '2', '--node_rank', '1', '--master_addr', 'node0']
    """
    _check_positive_int(nproc, "nproc")
    _check_positive_int(nnodes, "nnodes")
    if isinstance(node_rank, bool) or not isinstance(node_rank, int) or not 0 <= node_rank < nnodes:
        raise ValueError(f"node_rank: expected an integer in [0, nnodes={nnodes}), got {node_rank!r}")
    if isinstance(master_port, bool) or not isinstance(master_port, int) or not 0 < master_port < 65536:
        raise ValueError(f"master_port: expected a TCP port in [1, 65535], got {master_port!r}")
    if batch_size is not None:
        check_global_batch(batch_size, nproc * nnodes)
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--nnodes", str(nnodes),
            "--node_rank", str(node_rank), "--master_addr", str(master_addr), "--master_port", str(master_port),
            *([script] if script is not None else ["-m", module]), *map(str, argv)]


def launch_distributed(nproc: int, argv: Sequence[str], nnodes: int = 1, node_rank: int = 0,
                       master_addr: str = "127.0.0.1", master_port: int = 29500, module: str = "neurokit.cli",
                       batch_size: Optional[int] = None, script: Optional[str] = None) -> int:
    """Run :func:`build_torchrun_command` and wait for it; returns torchrun's exit code.

    Called by ``neurokit train --nproc N``: ``argv`` is the train command to run in every process (without the
    ``--nproc``/``--nnodes`` options). Run the same command on every node with its own ``node_rank``.

    Example::

        >>> launch_distributed(2, ["train", "--model", "delay_snn", "--batch-size", "64"], batch_size=64)
        0
    """
    cmd = build_torchrun_command(nproc, argv, nnodes, node_rank, master_addr, master_port, module, batch_size, script)
    return subprocess.run(cmd, check=False).returncode
