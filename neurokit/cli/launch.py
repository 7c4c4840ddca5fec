"""``neurokit train --nproc N``: run the train command in N torchrun processes and exit with the workers' code.

Every worker's ``main()`` writes its exit code and one-line message to ``$NEUROKIT_WORKER_REPORTS/rank<R>.json``
instead of printing it; the launcher prints one error line from those reports and exits with the code of the
command (2 when any worker refused its input, else the workers' code; 1 when the job failed without a report).
torchrun's own failure report (its traceback and ``ChildFailedError`` box) is dropped unless ``--debug``.

Example::

    >>> launch_train(2, ["train", "binary_mlp", "--epochs", "1"], batch_size=64)
    0
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Iterable, Optional, Sequence, TextIO

__all__ = ["REPORT_ENV", "launch_train", "write_worker_report", "worker_reports_enabled"]

REPORT_ENV = "NEUROKIT_WORKER_REPORTS"
_TORCH_LOG = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d")      # torch.distributed.elastic's glog-style lines
_TRACEBACK = "Traceback (most recent call last):"


def worker_reports_enabled() -> bool:
    """True in a worker started by :func:`launch_train` (its errors go to a report file, not to stderr)."""
    return bool(os.environ.get(REPORT_ENV))


def write_worker_report(code: int, message: str) -> None:
    """Record this worker's exit ``code`` and ``message`` for the launcher (no-op outside a launched worker)."""
    folder = os.environ.get(REPORT_ENV)
    if not folder:
        return
    from ..atomic import atomic_write_text

    rank = os.environ.get("RANK", "0")
    atomic_write_text(os.path.join(folder, f"rank{rank}.json"), json.dumps({"code": code, "message": message}))


def _forward(stream: Iterable[str], out: TextIO, debug: bool) -> None:
    """Copy the job's stderr to ``out``; without ``debug`` drop torch.distributed's log lines and torchrun's failure
    traceback (the workers print no tracebacks without ``--debug``, so a traceback in the stream is torchrun's)."""
    dropping = False
    for line in stream:
        if not debug:
            dropping = dropping or line.startswith(_TRACEBACK)
            if dropping or (_TORCH_LOG.match(line) and "torch/distributed" in line):
                continue
        out.write(line)
        out.flush()


def _read_reports(folder: str) -> list:
    reports = []
    for name in sorted(os.listdir(folder)):
        try:
            with open(os.path.join(folder, name)) as f:
                reports.append((int(name[4:-5]), json.load(f)))
        except (OSError, ValueError):
            continue
    return reports


def _outcome(returncode: int, folder: str) -> "tuple[int, Optional[str]]":
    reports = [(rank, r) for rank, r in _read_reports(folder) if r.get("code")]
    if reports:
        code = 2 if any(r["code"] == 2 for _, r in reports) else int(reports[0][1]["code"])
        rank, report = next((rank, r) for rank, r in reports if r["code"] == code)
        return code, f"{report['message']} (rank {rank})" if rank else report["message"]
    if returncode:
        return 1, (f"internal error: the distributed job failed (torchrun exit code {returncode}) and no worker "
                   "reported an error (rerun with --debug for torchrun's report)")
    return 0, None


def launch_train(nproc: int, argv: Sequence[str], nnodes: int = 1, node_rank: int = 0,
                 master_addr: str = "127.0.0.1", master_port: int = 29500, batch_size: Optional[int] = None,
                 debug: bool = False) -> int:
    """Run ``python -m neurokit.cli <argv>`` in ``nproc`` torchrun processes; returns the command's exit code."""
    from ..training import build_torchrun_command

    cmd = build_torchrun_command(nproc, argv, nnodes=nnodes, node_rank=node_rank, master_addr=master_addr,
                                 master_port=master_port, batch_size=batch_size)
    with tempfile.TemporaryDirectory(prefix="neurokit-workers-") as folder:
        proc = subprocess.Popen(cmd, env={**os.environ, REPORT_ENV: folder}, stderr=subprocess.PIPE, text=True)
        try:
            _forward(proc.stderr, sys.stderr, debug)
        finally:
            returncode = proc.wait()
        code, message = _outcome(returncode, folder)
    if message:
        print(f"neurokit: error: {message}", file=sys.stderr)
    return code
