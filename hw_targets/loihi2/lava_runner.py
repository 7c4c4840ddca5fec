"""Run netx ``.net`` files in Lava's bit-accurate simulator (executed by the Python 3.10 lava venv).

This script imports only numpy and Lava, never neurokit: Lava does not import on Python 3.11, so
neurokit calls it as a subprocess (:func:`hw_targets.loihi2.lava.run_lava`). Each job loads a
network with lava-dl's own reader ``lava.lib.dl.netx.hdf5.Network(net_config=path)``, feeds the
input spikes from a ``RingBuffer`` source into ``net.inp``, records every layer's output spikes
with ``RingBuffer`` sinks, the last layer's membrane ``v`` with a ``Monitor``, and runs
``Loihi2SimCfg(select_tag="fixed_pt")`` for T steps. One sample
is one fresh network (Lava state cannot be reset between samples).

Usage::

    .venv-lava/bin/python hw_targets/loihi2/lava_runner.py jobs.json

``jobs.json`` is a list of ``{"net": path, "input": path.npy, "output": path.npz}`` (optional ``"num_layers"``,
``"skip_layers"``: netx's arguments); the input is ``int [B, T, n_in]``, a conv-first network's ``[C, H, W]`` frames
flattened in that order (Lava's ports are ``(W, H, C)``: inputs are transposed in and conv blocks' spikes / voltages
transposed back). When the first block is netx's ``Input`` (an input block with a neuron), whose ``inp`` port
netx leaves unconnected, the input drives that neuron's ``a_in`` directly (as lava-dl's own tests do).
A job without ``"input"`` only builds the network and writes ``{"error": "<Type>: <message>" or null,
"blocks": [...]}`` as JSON to ``output``. The output ``.npz`` holds ``layer<i>`` (``int64 [B, T, n_i]``, i = 1..L,
the last one being ``net.out``: 0/1 spikes, or a sigma-delta block's graded messages), ``blocks`` (netx's block
classes: ``Input``, ``Dense``, ``Conv``), ``v_last`` (``int64 [B, T, n_L]``, the last layer's voltage after each
step; a sigma-delta block's ``sigma``), ``seconds`` (wall time of loading + building +
running, per sample)
and ``run_seconds`` (``net.run`` alone).
"""

import json
import sys
import time

import numpy as np


def _to_flat_chw(a: np.ndarray) -> np.ndarray:
    """``[T, *lava_shape]`` (Lava's ``(n,)`` or ``(W, H, C)``) -> ``[T, n]`` in PyTorch's ``(C, H, W)`` order."""
    return (a.transpose(0, 3, 2, 1) if a.ndim == 4 else a).reshape(a.shape[0], -1)


def build(job: dict):
    """lava-dl's network for ``job`` (its ``net`` file, optional ``num_layers`` / ``skip_layers``)."""
    from lava.lib.dl.netx.hdf5 import Network

    return Network(net_config=job["net"], num_layers=job.get("num_layers"), skip_layers=job.get("skip_layers", 0))


def probe(job: dict) -> None:
    """Build ``job``'s network only; write what netx made of it (or the error it raised) as JSON."""
    try:
        net = build(job)
        out = {"error": None, "blocks": [type(b).__name__ for b in net.layers]}
    except (NotImplementedError, RuntimeError, KeyError, ValueError, TypeError, AttributeError) as e:
        out = {"error": f"{type(e).__name__}: {e}", "blocks": None}
    with open(job["output"], "w") as f:
        json.dump(out, f)


def run_sample(job: dict, spikes: np.ndarray, run_seconds: list):
    """Run one sample ``spikes`` (``[T, n_in]``); return the block class names and [per-layer spikes ``[T, n]``...,
    last layer's v].

    Appends the wall time of ``net.run`` alone (compile + execute, no file loading) to ``run_seconds``."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    steps = spikes.shape[0]
    net = build(job)
    shape = tuple(net.inp.shape)  # (n,) or (W, H, C)
    frames = spikes.reshape(steps, *shape[::-1]).transpose(0, *range(len(shape), 0, -1))  # [T, *shape]
    src = Source(data=np.moveaxis(frames, 0, -1).astype(np.int32))
    first = net.layers[0]
    src.s_out.connect(first.neuron.a_in if type(first).__name__ == "Input" else net.inp)
    sinks = []
    for layer in net.layers:
        sink = Sink(shape=layer.out.shape, buffer=steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    last = net.layers[-1].neuron
    v = last.v if hasattr(last, "v") else last.sigma  # a sigma-delta block's state is its sigma
    mon = Monitor()
    mon.probe(target=v, num_steps=steps)
    try:
        t0 = time.perf_counter()
        net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        run_seconds.append(time.perf_counter() - t0)
        v_trace = np.asarray(mon.get_data()[v.process.name][v.name]).reshape(steps, *v.shape).astype(np.int64)
        blocks = [type(b).__name__ for b in net.layers]
        rasters = [_to_flat_chw(np.moveaxis(s.data.get(), -1, 0)).astype(np.int64) for s in sinks]
        return blocks, rasters + [_to_flat_chw(v_trace)]
    finally:
        net.stop()


def main(jobs_file: str) -> None:
    """Run every job of ``jobs_file`` and write its ``.npz``."""
    with open(jobs_file) as f:
        jobs = json.load(f)
    for job in jobs:
        if "input" not in job:
            probe(job)
            continue
        x = np.load(job["input"])
        if x.ndim != 3:
            raise ValueError(f"{job['input']}: expected [B, T, n_in] spikes, got shape {x.shape}")
        per_layer, seconds, run_seconds = None, [], []
        for b in range(x.shape[0]):
            t0 = time.perf_counter()
            blocks, outs = run_sample(job, x[b], run_seconds)
            seconds.append(time.perf_counter() - t0)
            per_layer = [[] for _ in outs] if per_layer is None else per_layer
            for acc, o in zip(per_layer, outs):
                acc.append(o)
        arrays = {f"layer{i + 1}": np.stack(a) for i, a in enumerate(per_layer[:-1])}
        arrays["v_last"] = np.stack(per_layer[-1])
        np.savez(job["output"], seconds=np.array(seconds), run_seconds=np.array(run_seconds),
                 blocks=np.array(blocks), **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
