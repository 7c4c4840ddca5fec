"""Shared measurement and result format for the benchmarks: contestants interleaved in one run, min and median.

Every repeat runs each contestant once, in a rotated order (so a burst of load on a shared machine hits all of
them), after one untimed warm-up each. The figures are the minimum and the median wall-clock seconds over the
repeats; every contestant runs with the same ``torch.get_num_threads()`` (the neurokit Numba loops are bounded by
it too). Ratio = contestant time / the reference contestant's time, on the minimum (the least disturbed run).

Every script writes one JSON file of the same shape (`result`), which ``benchmarks/results.py`` turns into
``benchmarks/RESULTS.md``::

    {"schema": 1, "script": "time_loop", "title": "...", "description": "...",
     "meta": {"threads", "torch", "numba", "python", "cpu", "cores", "load_avg_start", "load_avg_end", "date",
              "command", "timing", ...script-specific keys},
     "tables": [{"title": "...", "params": {"T": 16, ...}, "reference": "auto",
                 "contestants": {"auto": {"min_s", "median_s", "repeats", ...extra}, ...}}, ...]}

Example::

    >>> res = interleaved({"a": lambda: None, "b": lambda: None}, repeats=3)
    >>> sorted(res), res["a"]["repeats"]
    (['a', 'b'], 3)
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time

import torch

__all__ = ["interleaved", "format_table", "Recorder", "table", "describe", "SCHEMA"]

SCHEMA = 1
TIMING = "wall clock, contestants interleaved within each repeat, one untimed warm-up each"


def interleaved(contestants: dict, repeats: int) -> dict:
    """``{name: {"min_s", "median_s", "repeats"}}`` for zero-argument callables measured interleaved."""
    names = list(contestants)
    for name in names:
        contestants[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for i in range(len(names)):
            name = names[(i + r) % len(names)]
            t0 = time.perf_counter()
            contestants[name]()
            times[name].append(time.perf_counter() - t0)
    return {n: {"min_s": min(t), "median_s": statistics.median(t), "repeats": repeats} for n, t in times.items()}


def format_table(title: str, results: dict, reference: str) -> str:
    """A markdown table of min / median ms and the ratio to ``reference`` (higher = ``reference`` faster)."""
    ref = results[reference]["min_s"]
    lines = [f"{title} (threads={torch.get_num_threads()}, interleaved, wall clock)", "",
             f"| contestant | min ms | median ms | x {reference} (min) |", "|---|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['min_s'] * 1e3:.2f} | {r['median_s'] * 1e3:.2f} | {r['min_s'] / ref:.2f}x |")
    return "\n".join(lines)


def describe(doc: str) -> str:
    """The description of a benchmark from its module docstring: the paragraphs after the title line, up to
    ``Usage``/``Command`` (what the contestants are and how they are measured)."""
    paragraphs = doc.strip().split("\n\n")[1:]
    keep = []
    for par in paragraphs:
        if par.lstrip().startswith(("Usage", "Command", "Example", "    ")):
            break
        keep.append(par.strip())
    return "\n\n".join(keep)


def table(title: str, params: dict, contestants: dict, reference: str) -> dict:
    """One result table: ``contestants`` maps name -> ``{"min_s", "median_s", "repeats", ...}``; ``reference`` is
    the contestant the ratios divide by. Raises ValueError when a contestant lacks min_s/median_s or the reference
    is not among them."""
    if reference not in contestants:
        raise ValueError(f"table {title!r}: reference {reference!r} is not a contestant ({sorted(contestants)})")
    for name, r in contestants.items():
        if not {"min_s", "median_s"} <= set(r):
            raise ValueError(f"table {title!r}: contestant {name!r} needs min_s and median_s, got {sorted(r)}")
    return {"title": title, "params": dict(params), "reference": reference, "contestants": contestants}


class Recorder:
    """Collects the tables of one benchmark run and writes the JSON (`result` shape) atomically.

    Created at the start of the run (it records the load average then), ``add`` per table, ``write`` at the end.
    ``source`` is the script's path for the recorded command (default ``benchmarks/<script>.py``).

    Example::

        rec = Recorder("train_step", "SHD MLP training step", "one forward + backward + Adam step", argv)
        rec.add(table("T=100", {"T": 100}, interleaved(steps, 7), "neurokit"))
        rec.write("benchmarks/results/train_step.json")
    """

    def __init__(self, script: str, title: str, description: str, argv: list | None = None,
                 source: str | None = None, **meta):
        self.script, self.title, self.description = script, title, description
        args = sys.argv[1:] if argv is None else list(argv)
        source = source or f"benchmarks/{script}.py"
        self.meta = {"load_avg_start": _load_avg(), "date": datetime.datetime.now(datetime.timezone.utc)
                     .strftime("%Y-%m-%d %H:%M UTC"), "command": " ".join(["python", source, *args]),
                     "timing": TIMING, **meta}
        self.tables: list = []

    def add(self, tbl: dict) -> dict:
        """Append a `table` and return it."""
        self.tables.append(tbl)
        return tbl

    def result(self) -> dict:
        """The JSON-ready dict (environment and end load average filled in now)."""
        import numba

        meta = {"threads": torch.get_num_threads(), "torch": torch.__version__, "numba": numba.__version__,
                "python": platform.python_version(), "cpu": _cpu_name(), "cores": os.cpu_count(),
                **self.meta, "load_avg_end": _load_avg()}
        return {"schema": SCHEMA, "script": self.script, "title": self.title, "description": self.description,
                "meta": meta, "tables": self.tables}

    def write(self, path: str | None) -> dict:
        """Write the JSON to ``path`` (atomically; nothing when ``path`` is None); returns the result."""
        res = self.result()
        if path:
            from neurokit.atomic import atomic_write_text

            atomic_write_text(path, json.dumps(res, indent=1) + "\n")
        return res


def _load_avg() -> list:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:        # not available on this platform
        return []


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
