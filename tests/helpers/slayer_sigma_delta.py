"""Run lava-dl's slayer sigma-delta neuron on saved inputs (executed by the lava venv's Python, not imported).

Usage: ``python slayer_sigma_delta.py cases.npz out.npz``. ``cases.npz`` holds, per case ``i``, ``x{i}`` (time-major
``[T, B, N]`` float32), ``g{i}`` (upstream gradient, same shape) and ``cfg{i}`` = ``[threshold, cum_error, relu]``.
``out.npz`` gets ``y{i}`` (messages) and ``dx{i}`` (gradient w.r.t. ``x``), both time-major.
"""
import sys

import numpy as np
import torch
from lava.lib.dl.slayer.neuron import sigma_delta


def _identity(v):
    return v


def main(cases_path: str, out_path: str) -> None:
    cases = np.load(cases_path)
    out = {}
    n = len([k for k in cases.files if k.startswith("x")])
    for i in range(n):
        threshold, cum_error, relu = cases[f"cfg{i}"].tolist()
        neuron = sigma_delta.Neuron(threshold=float(threshold), activation=torch.relu if relu else _identity,
                                    cum_error=bool(cum_error))
        x = torch.tensor(cases[f"x{i}"]).permute(1, 2, 0).contiguous().requires_grad_(True)   # [B, N, T]
        y = neuron(x)
        y.backward(torch.tensor(cases[f"g{i}"]).permute(1, 2, 0))
        out[f"y{i}"] = y.detach().permute(2, 0, 1).numpy()
        out[f"dx{i}"] = x.grad.permute(2, 0, 1).numpy()
    np.savez(out_path, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
