"""Run Lava's fixed-point sigma-delta processes (``lava.proc.sdn``: ``Delta``, ``SigmaDelta``, ``Sigma``) on saved
integer inputs (executed by the lava venv's Python, not imported).

Usage: ``python lava_sdn_processes.py cases.npz out.npz``. ``cases.npz`` holds, per case ``i``, ``a{i}`` (the
integer ``a_in`` per step, ``[T, n]``) and ``cfg{i}`` = ``[kind, vth_mant, cum_error, relu, spike_exp, state_exp]``
(kind 0: Delta, 1: SigmaDelta, 2: Sigma) and ``bias{i}`` (``[n]`` bias mantissas, SigmaDelta). Each case is one
process fed by a ``RingBuffer`` source and read by a ``RingBuffer`` sink, run with
``Loihi2SimCfg(select_tag="fixed_pt")``; ``out.npz`` gets ``y{i}`` (``s_out`` per step, ``[T, n]``).
"""
import sys

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.sdn.process import ActivationMode, Delta, Sigma, SigmaDelta


def _process(cfg, bias, n):
    kind, vth, cum_error, relu, spike_exp, state_exp = (int(v) for v in cfg)
    if kind == 2:
        return Sigma(shape=(n,))
    common = {"shape": (n,), "vth": vth, "cum_error": bool(cum_error), "spike_exp": spike_exp,
              "state_exp": state_exp}
    if kind == 0:
        return Delta(**common)
    mode = ActivationMode.RELU if relu else ActivationMode.UNIT
    return SigmaDelta(bias=bias, act_mode=mode, **common)


def main(cases_path: str, out_path: str) -> None:
    cases = np.load(cases_path)
    out = {}
    for i in range(len([k for k in cases.files if k.startswith("a")])):
        a = cases[f"a{i}"]
        steps, n = a.shape
        proc = _process(cases[f"cfg{i}"], cases[f"bias{i}"], n)
        src = Source(data=a.T.astype(np.int32))
        sink = Sink(shape=(n,), buffer=steps)
        src.s_out.connect(proc.a_in)
        proc.s_out.connect(sink.a_in)
        try:
            proc.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            out[f"y{i}"] = sink.data.get().T.astype(np.int64)
        finally:
            proc.stop()
    np.savez(out_path, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
