"""Write the register / spill table of every sampled Triton kernel variant (sm_80, sm_90) into docs/kernels.md.

Compiles ahead of time with Triton's own compiler (no GPU; :mod:`neurokit.kernels.triton_aot`) and replaces the
section between the ``<!-- registers:begin -->`` / ``<!-- registers:end -->`` markers.

Usage: ``python scripts/kernel_registers.py [--all]`` (``--all``: every launchable variant, about 1 s each).
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

from neurokit.atomic import atomic_write_text
from neurokit.kernels import triton_aot

DOC = Path(__file__).resolve().parents[1] / "docs" / "kernels.md"
BEGIN, END = "<!-- registers:begin -->", "<!-- registers:end -->"


def table(sample: bool) -> str:
    lines = []
    per_arch = {}
    t0 = time.time()
    for arch in triton_aot.ARCHS:
        per_arch[arch] = triton_aot.compile_all(arch, sample)
    seconds = time.time() - t0
    n = len(per_arch[triton_aot.ARCHS[0]])
    spills = sum(r.spill_bytes + r.stack_bytes > 0 for rows in per_arch.values() for _, r in rows)
    lines.append(f"{n} variants x {len(per_arch)} targets ({'sample' if sample else 'all'} of "
                 f"{len(triton_aot.variants())} launchable), compiled in {seconds:.0f} s on this machine; "
                 f"**{spills} variants spill** (local or stack bytes > 0).")
    lines.append("")
    groups = defaultdict(list)
    for arch, rows in per_arch.items():
        for v, r in rows:
            groups[(v.kernel, v.dtype, v.block, v.warps, arch)].append(r)
    lines.append("| kernel | dtype | BLOCK / warps | target | variants | registers min / max | spills |")
    lines.append("|---|---|---|---|---|---|---|")
    for (kernel, dtype, block, warps, arch), res in sorted(groups.items()):
        regs = [r.regs for r in res]
        spilled = sum(r.spill_bytes + r.stack_bytes > 0 for r in res)
        lines.append(f"| {kernel} | {dtype} | {block} / {warps} | sm_{arch} | {len(res)} | {min(regs)} / "
                     f"{max(regs)} | {spilled} |")
    lines.append("")
    lines.append("Per-variant figures:")
    lines.append("")
    lines.append("| variant | " + " | ".join(f"sm_{a} regs / spill B" for a in per_arch) + " |")
    lines.append("|---|" + "---|" * len(per_arch))
    for i, (v, _) in enumerate(per_arch[triton_aot.ARCHS[0]]):
        cells = [f"{rows[i][1].regs} / {rows[i][1].spill_bytes}" for rows in per_arch.values()]
        lines.append(f"| `{v.label()}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC}: markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(DOC, head + BEGIN + "\n" + table(sample="--all" not in argv) + "\n" + END + tail)


if __name__ == "__main__":
    main(sys.argv[1:])
