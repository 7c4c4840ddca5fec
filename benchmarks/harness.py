"""Shared measurement for the CPU benchmarks: contestants interleaved in one run, wall clock, min and median.

Every repeat runs each contestant once, in a rotated order (so a burst of load on a shared machine hits all of
them), after one untimed warm-up each. The figures are the minimum and the median wall-clock seconds over the
repeats; every contestant runs with the same ``torch.get_num_threads()`` (the neurokit Numba loops are bounded by
it too). Ratio = contestant time / the reference contestant's time, on the minimum (the least disturbed run).

Example::

    >>> res = interleaved({"a": lambda: None, "b": lambda: None}, repeats=3)
    >>> sorted(res), res["a"]["repeats"]
    (['a', 'b'], 3)
"""
from __future__ import annotations

import statistics
import time

import torch

__all__ = ["interleaved", "format_table"]


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
