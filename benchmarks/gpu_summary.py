"""Collect the logs of ``benchmarks/gpu_check.sh`` into ``gpu_check.json`` and ``gpu_check.md`` (in the out folder).

Usage: ``python benchmarks/gpu_summary.py OUT_DIR "name rc seconds" ...`` (the shell script calls it).
"""
from __future__ import annotations

import json
import os
import platform
import sys

import torch

from neurokit.atomic import atomic_write_text


def _last_json(path):
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def summarise(out_dir: str, steps: list[str]) -> dict:
    meta = {"python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
            "card": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    rows = []
    for item in steps:
        name, rc, sec = item.split()
        row = {"step": name, "rc": int(rc), "seconds": int(sec)}
        log = os.path.join(out_dir, f"{name}.log")
        if name in ("autocast", "ddp", "energy") and os.path.exists(log):
            row["result"] = _last_json(log)
        rows.append(row)
    bench_path = os.path.join(out_dir, "time_loop.json")
    bench = json.load(open(bench_path)) if os.path.exists(bench_path) else None
    return {"meta": meta, "steps": rows, "time_loop": bench, "ok": all(r["rc"] == 0 for r in rows)}


def markdown(s: dict) -> str:
    m = s["meta"]
    out = [f"# GPU check: {'PASS' if s['ok'] else 'FAIL'}", "",
           f"Card: {m['card']}; Python {m['python']}, torch {m['torch']}.", "",
           "| step | exit | seconds | result |", "|---|---|---|---|"]
    for r in s["steps"]:
        res = r.get("result")
        brief = "" if res is None else ", ".join(f"{k}={v}" for k, v in res.items()
                                                 if k not in ("step", "losses") and not isinstance(v, dict))
        out.append(f"| {r['step']} | {r['rc']} | {r['seconds']} | {brief} |")
    b = s["time_loop"]
    if b:
        out += ["", f"time_loop ({b['meta']['device']}, {b['meta'].get('dtype', 'fp32')}, "
                f"{b['meta']['bytes_per_neuron_step']} B/neuron-step, threads {b['meta']['threads']}):", "",
                "| T | neurons | contestant | min ms | median ms | GB/s | % copy bw | ratio vs auto |",
                "|---|---|---|---|---|---|---|---|"]
        for tbl in b["tables"]:
            auto = tbl["contestants"]["auto"]["min_s"]
            for name, r in tbl["contestants"].items():
                pct = r.get("pct_copy_bandwidth")
                out.append(f"| {tbl['params']['T']} | {tbl['params']['neurons']} | {name} | {r['min_s'] * 1e3:.3f} | "
                           f"{r['median_s'] * 1e3:.3f} | {r['effective_gbps']:.1f} | "
                           f"{'' if pct is None else f'{pct:.1f}'} | {r['min_s'] / auto:.2f} |")
    return "\n".join(out) + "\n"


def main(argv):
    out_dir, steps = argv[0], argv[1:]
    s = summarise(out_dir, steps)
    atomic_write_text(os.path.join(out_dir, "gpu_check.json"), json.dumps(s, indent=1))
    atomic_write_text(os.path.join(out_dir, "gpu_check.md"), markdown(s))
    print(markdown(s))
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
