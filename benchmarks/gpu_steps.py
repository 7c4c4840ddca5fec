"""Steps of ``benchmarks/gpu_check.sh`` that are Python: autocast training, a 2-process DDP step, NVML energy.

Each step prints one JSON object on its last line (``{"step": ..., "ok": ..., ...}``) for the summary.

Usage::

    python benchmarks/gpu_steps.py autocast --device cuda     # bf16 and fp16 autocast training of one preset
    python benchmarks/gpu_steps.py ddp --device cuda          # 2 processes (NCCL on CUDA, gloo on CPU), one step
    python benchmarks/gpu_steps.py energy --device cuda       # NVML energy counter around a training loop
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
from torch import nn

import neurokit as nk


def _preset(device):
    """A small SHD-shaped spiking MLP (700-64-20, LIF) and a sparse input batch."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(700, 64), nk.LIF(tau=2.0), nn.Linear(64, 20)).to(device)
    x = (torch.rand(25, 8, 700, device=device) < 0.05).float()
    y = torch.randint(0, 20, (8,), device=device)
    return model, x, y


def _train(model, x, y, steps, dtype, device):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    losses = []
    for _ in range(steps):
        with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(x).sum(0).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses


def autocast(device):
    out = {"step": "autocast", "ok": True}
    dtypes = (torch.bfloat16, torch.float16) if device.type == "cuda" else (torch.bfloat16,)
    for dtype in dtypes:
        model, x, y = _preset(device)
        losses = _train(model, x, y, 5, dtype, device)
        finite = all(map(lambda v: v == v and abs(v) < 1e6, losses))
        out[str(dtype).split(".")[-1]] = {"losses": losses, "finite": finite}
        out["ok"] = out["ok"] and finite
    return out


def _ddp_worker(rank, world, device_type, port, result_path):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world)
    device = torch.device("cuda", 0) if device_type == "cuda" else torch.device("cpu")
    model, x, y = _preset(device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[0] if device_type == "cuda" else None)
    loss = nn.functional.cross_entropy(ddp(x[:, rank::world]).sum(0), y[rank::world])
    loss.backward()
    grad = model[0].weight.grad.detach().clone()
    dist.all_reduce(g_sum := grad.clone())
    if rank == 0:
        with open(result_path, "w") as f:
            json.dump({"backend": backend, "grads_equal_across_ranks": bool(torch.allclose(g_sum, world * grad))}, f)
    dist.destroy_process_group()


def ddp(device):
    import tempfile

    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.json")
        try:
            mp.spawn(_ddp_worker, args=(2, device.type, 29500 + os.getpid() % 1000, path), nprocs=2, join=True)
        except Exception as e:  # noqa: BLE001 - two NCCL ranks on one GPU is not always allowed; record why
            return {"step": "ddp", "ok": False, "error": f"{type(e).__name__}: {e}"[:2000]}
        with open(path) as f:
            res = json.load(f)
    return {"step": "ddp", "ok": res["grads_equal_across_ranks"], **res}


def energy(device):
    if device.type != "cuda":
        return {"step": "energy", "ok": True, "note": "NVML needs a GPU; CPU dry run measured time only"}
    import pynvml

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
    model, x, y = _preset(device)
    _train(model, x, y, 2, torch.bfloat16, device)
    torch.cuda.synchronize()
    e0, t0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle), time.perf_counter()
    steps = 50
    _train(model, x, y, steps, torch.bfloat16, device)
    torch.cuda.synchronize()
    joules = (pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) - e0) / 1e3
    seconds = time.perf_counter() - t0
    return {"step": "energy", "ok": joules > 0, "joules": joules, "seconds": seconds, "steps": steps,
            "mean_watts": joules / seconds, "joules_per_step": joules / steps,
            "card": pynvml.nvmlDeviceGetName(handle)}


STEPS = {"autocast": autocast, "ddp": ddp, "energy": energy}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("step", choices=sorted(STEPS))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    result = STEPS[args.step](torch.device(args.device))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
