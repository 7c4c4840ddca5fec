"""GPU energy measured with NVML power sampling (when a CUDA GPU and ``pynvml`` are present).

The board power is sampled in a background thread while the model runs ``repeats`` times; energy is the
trapezoidal integral of power over the run, from a sample taken right at the start to one right at the end,
divided by ``repeats x batch``. Without a GPU the roofline estimate stands and the report says so.

Example::

    >>> joules, seconds, n = integrate_power(lambda: model(x), lambda: 300.0, repeats=10)
"""
from __future__ import annotations

import threading
import time
from itertools import pairwise
from collections.abc import Callable

import torch

from .counting import EnergyError
from .report import COMPONENTS, EnergyReport

__all__ = ["integrate_power", "maybe_measure", "nvml_power_sampler"]


def integrate_power(run: Callable[[], None], power_w: Callable[[], float], repeats: int,
                    period_s: float = 0.005, sync: Callable[[], None] = lambda: None,
                    clock: Callable[[], float] = time.perf_counter) -> tuple[float, float, int]:
    """Run ``run()`` ``repeats`` times while sampling ``power_w()`` (watts); returns (joules, seconds, samples).

    Samples are taken at the start, every ``period_s`` in a thread, and at the end (after ``sync()``), and
    integrated with the trapezoid rule over their timestamps from ``clock``.

    Example::

        >>> j, s, n = integrate_power(lambda: None, lambda: 100.0, repeats=3)
        >>> abs(j - 100.0 * s) < 1e-9
        True
    """
    if repeats < 1:
        raise EnergyError(f"repeats must be >= 1, got {repeats}")
    samples: list[tuple[float, float]] = []
    lock, stop = threading.Lock(), threading.Event()

    def take():
        p = float(power_w())
        with lock:
            samples.append((clock(), p))

    def loop():
        while not stop.wait(period_s):
            take()

    take()
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        for _ in range(repeats):
            run()
        sync()
    finally:
        stop.set()
        thread.join()
    take()
    samples.sort()
    joules = sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in pairwise(samples))
    return joules, samples[-1][0] - samples[0][0], len(samples)


def nvml_power_sampler(index: int = 0) -> Callable[[], float] | None:
    """A function returning the board power of GPU ``index`` in watts via NVML, or None without NVML/GPU.

    Example::

        >>> sampler = nvml_power_sampler()
        >>> sampler() if sampler else "no NVML"
    """
    if not torch.cuda.is_available():
        return None
    try:
        import pynvml
    except ImportError:   # pynvml missing: the caller falls back to the stated estimate
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    except pynvml.NVMLError:   # NVML not usable (no driver, no permission): the stated estimate again
        return None
    return lambda: pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0


def maybe_measure(report: EnergyReport, model_or_cm, x: torch.Tensor, measure: bool | None,
                  min_seconds: float = 1.0) -> EnergyReport:
    """Replace the roofline estimate by an NVML measurement when possible (see :func:`energy`).

    The measured total is board energy per inference; the per-layer breakdown keeps the roofline proportions
    scaled to the measured total (stated in the assumptions). ``measure=True`` without NVML raises.

    Example::

        >>> rep = maybe_measure(estimate(counts, "gpu"), model, x, measure=None)
    """
    if measure is False:
        return report
    sampler = nvml_power_sampler()
    if sampler is None:
        if measure:
            raise EnergyError("measure=True needs a CUDA GPU and the pynvml package; neither is usable here")
        report.assumptions.insert(0, "no CUDA GPU with NVML here: roofline ESTIMATE for an H100, not a "
                                     "measurement")
        return report
    dev = torch.device("cuda")
    if isinstance(model_or_cm, torch.nn.Module):
        model = model_or_cm.to(dev).eval()
        run_fn = model
    else:
        run_fn = model_or_cm.run
    xd = x.to(dev)
    with torch.no_grad():
        run_fn(xd)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        run_fn(xd)
        torch.cuda.synchronize()
        one = max(time.perf_counter() - t0, 1e-6)
        repeats = max(3, int(min_seconds / one))
        joules, seconds, n = integrate_power(lambda: run_fn(xd), sampler, repeats, sync=torch.cuda.synchronize)
    per_inf = joules / (repeats * report.batch)
    scale = per_inf / report.total_j if report.total_j else 0.0
    for row in report.per_layer:
        for c in COMPONENTS + ("total",):
            row[c] *= scale
    report.total_j, report.measured = per_inf, True
    report.assumptions.insert(0, f"MEASURED with NVML on {torch.cuda.get_device_name(dev)}: {n} power samples "
                                 f"over {seconds:.2f} s, {repeats} runs of batch {report.batch}; board power "
                                 "including idle; per-layer split = roofline proportions scaled to the measurement")
    report.extra["nvml"] = {"joules": joules, "seconds": seconds, "samples": n, "repeats": repeats}
    return report
