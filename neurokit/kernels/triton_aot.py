"""Ahead-of-time compilation of the Triton kernels' constexpr variants for NVIDIA targets, with no GPU.

Triton's own compiler turns a kernel plus a signature into a cubin for a given ``GPUTarget`` without a driver
(``triton.compile(ASTSource(fn, signature, constexprs), target=GPUTarget("cuda", 90, 32))``). ``kernel.n_regs`` /
``kernel.n_spills`` need a driver to load the module, so the same figures are read from the cubin with the
``cuobjdump --dump-resource-usage`` Triton ships (``REG``; spills are ``LOCAL`` bytes, stack ``STACK``).

The variants are those :func:`neurokit.kernels.triton_kernels.forward` / ``backward`` can launch: each neuron
configuration (its :class:`~neurokit.kernels.spec.KernelSpec` switches), the input dtype (fp32, bf16, fp16: pointer
types and the uint8 spike store), ``store_v_seq`` / a ``v_seq`` gradient, the block size with its warp count, and
(backward) the surrogate id; and those of the recurrent layer's single-step kernels
(:mod:`neurokit.kernels.triton_recurrent`, ``step_forward`` / ``step_backward``: the same configurations, fp32 only,
no ``v_seq``). :func:`variants` enumerates them; ``sample`` keeps a covering subset.

Example::

    >>> v = variants(sample=True)[0]
    >>> r = compile_variant(v, arch=90)
    >>> r.regs > 0 and r.spill_bytes == 0
    True
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

import torch

from ..surrogate import SURROGATE_IDS
from .spec import build_spec

__all__ = ["Variant", "Resources", "variants", "compile_variant", "ARCHS"]

ARCHS = (80, 90)
BLOCKS = ((256, 2), (1024, 4))          # (BLOCK, num_warps) as triton_kernels.block_size picks them
DTYPES = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Variant:
    """One compiled kernel: ``kernel`` ("forward"/"backward"), its constexprs, input dtype, block and warps."""

    kernel: str
    constexprs: tuple            # ((name, value), ...) in argument order
    dtype: str
    block: int
    warps: int

    def label(self) -> str:
        flags = ",".join(f"{k}={int(v)}" for k, v in self.constexprs if k != "BLOCK")
        return f"{self.kernel}[{self.dtype},B{self.block}/w{self.warps}]({flags})"


@dataclass(frozen=True)
class Resources:
    """Per-thread registers and local-memory (spill) and stack bytes of a compiled variant."""

    regs: int
    spill_bytes: int
    stack_bytes: int


def _spec_flag_sets():
    """The distinct KernelSpec switch combinations of every family and reset form the modules can build."""
    from ..neurons import functional as F

    out = {}
    for family, kw in _configs():
        if family == "plif":
            params = F.LIFParams(**{**kw, "tau": torch.tensor(kw["tau"])})
        elif family == "cuba_lif":
            params = F.CubaLIFParams(**kw)
        elif family == "alif":
            params = F.ALIFParams(**kw)
        else:
            params = F.LIFParams(**kw)
        spec = build_spec(family, params, _atan())
        out[(spec.flags[:6], spec.k_tensor is not None)] = None
    return list(out)


def _atan():
    from .. import surrogate

    return surrogate.get("atan")


def _configs():
    for vr in (0.0, None, -0.2):
        for di in (True, False):
            for det in (False, True):
                for rad in (False, True):
                    if rad and vr is not None:
                        continue
                    base = dict(v_reset=vr, detach_reset=det, reset_after_decay=rad)
                    yield "lif", dict(tau=2.5, decay_input=di, **base)
                    if di:
                        yield "if", dict(tau=1.0, decay_input=False, **base)
                        yield "cuba_lif", dict(tau_syn=3.0, tau_mem=2.0, **base)
                    if not rad:
                        yield "plif", dict(tau=1.7, v_reset=vr, decay_input=di, detach_reset=det)
                        yield "alif", dict(tau=2.0, tau_adapt=5.0, beta=0.7, v_reset=vr, decay_input=di,
                                           detach_reset=det)


def _forward_constexprs(flags, k_ptr, store_v, lowp, block):
    di, hard, _, rad, cuba, alif = flags
    return (("DI", bool(di)), ("HARD", bool(hard)), ("RAD_", bool(rad)), ("CUBA_", bool(cuba)),
            ("ALIF_", bool(alif)), ("STORE_V", store_v), ("SAVE_S8", lowp), ("K_PTR", k_ptr), ("BLOCK", block))


def _backward_constexprs(flags, k_ptr, has_gvseq, lowp, sg, block):
    di, hard, det, rad, cuba, alif = flags
    return (("DI", bool(di)), ("HARD", bool(hard)), ("DETACH_", bool(det)), ("RAD_", bool(rad)),
            ("CUBA_", bool(cuba)), ("ALIF_", bool(alif)), ("HAS_GVSEQ", has_gvseq), ("HAS_S", lowp),
            ("LEARN_K", k_ptr), ("K_PTR", k_ptr), ("SG", sg), ("BLOCK", block))


def _step_forward_constexprs(flags, k_ptr, block):
    di, hard, _, rad, cuba, alif = flags
    return (("DI", bool(di)), ("HARD", bool(hard)), ("RAD_", bool(rad)), ("CUBA_", bool(cuba)),
            ("ALIF_", bool(alif)), ("K_PTR", k_ptr), ("BLOCK", block))


def _step_backward_constexprs(flags, k_ptr, sg, block):
    di, hard, det, rad, cuba, alif = flags
    return (("DI", bool(di)), ("HARD", bool(hard)), ("DETACH_", bool(det)), ("RAD_", bool(rad)),
            ("CUBA_", bool(cuba)), ("ALIF_", bool(alif)), ("LEARN_K", k_ptr), ("K_PTR", k_ptr), ("SG", sg),
            ("BLOCK", block))


def _step_variants(sample: bool) -> list[Variant]:
    """The single-step kernels (fp32): every configuration at the large block with the first surrogate; the smaller
    block and the other surrogates on the first configuration when ``sample``."""
    out = []
    for i, (flags, k_ptr) in enumerate(_spec_flag_sets()):
        for block, warps in BLOCKS:
            if sample and not (block == BLOCKS[1][0] or i == 0):
                continue
            out.append(Variant("step_forward", _step_forward_constexprs(flags, k_ptr, block), "fp32", block, warps))
            for sg in sorted(SURROGATE_IDS.values()):
                if sample and not (sg == 0 or (i == 0 and block == BLOCKS[1][0])):
                    continue
                out.append(Variant("step_backward", _step_backward_constexprs(flags, k_ptr, sg, block), "fp32",
                                   block, warps))
    return out


def variants(sample: bool = False) -> list[Variant]:
    """Every launchable variant, or (``sample=True``) a subset in which every switch configuration, dtype, block
    size, ``v_seq`` option and surrogate appears at least once: each configuration in fp32 and bf16 at the large
    block with ``v_seq`` (the most live values per thread); fp16 (bf16's pointer widths), the smaller block, the
    ``v_seq``-free forms and the other surrogates on the first configuration."""
    out = []
    sgs = sorted(SURROGATE_IDS.values())
    for i, (flags, k_ptr) in enumerate(_spec_flag_sets()):
        for dtype in DTYPES:
            lowp = dtype != "fp32"
            for block, warps in BLOCKS:
                for store_v in (True, False):
                    full = (block, store_v) == BLOCKS[1][:1] + (True,)
                    first = i == 0 and dtype in ("fp32", "fp16")
                    if sample and not ((full and dtype != "fp16") or first):
                        continue
                    out.append(Variant("forward", _forward_constexprs(flags, k_ptr, store_v, lowp, block), dtype,
                                       block, warps))
                    for sg in sgs:
                        if sample and not ((full and sg == 0 and dtype != "fp16") or (first and (full or sg == 0))):
                            continue
                        out.append(Variant("backward", _backward_constexprs(flags, k_ptr, store_v, lowp, sg, block),
                                           dtype, block, warps))
    out += _step_variants(sample)
    return list(dict.fromkeys(out))      # the forward kernels have no detach switch: drop the repeats


_FWD_PTRS = ("x_ptr", "s_ptr", "h_ptr", "th_ptr", "vseq_ptr", "s8_ptr", "vlast_ptr", "aux_ptr", "k_ptr")
_BWD_PTRS = ("gs_ptr", "gvseq_ptr", "h_ptr", "th_ptr", "s8_ptr", "x_ptr", "gx_ptr", "gk_ptr", "gvlast_ptr",
             "gaux_ptr", "k_ptr")


def _pointer_types(v: Variant) -> dict:
    """Pointer element types exactly as ``triton_kernels.forward``/``backward`` pass them (unused slots get a
    placeholder tensor of the type noted there)."""
    c = dict(v.constexprs)
    d = v.dtype
    if v.kernel.startswith("step_"):
        fn = _kernel_fn(v.kernel)
        return {name: "fp32" for name in fn.arg_names if name.endswith("_ptr")}
    if v.kernel == "forward":
        return {"x_ptr": d, "s_ptr": d, "h_ptr": d, "th_ptr": d, "vseq_ptr": "fp32" if c["STORE_V"] else d,
                "s8_ptr": "u8" if c["SAVE_S8"] else d, "vlast_ptr": "fp32", "aux_ptr": "fp32", "k_ptr": "fp32"}
    return {"gs_ptr": d, "gvseq_ptr": "fp32" if c["HAS_GVSEQ"] else d, "h_ptr": d, "th_ptr": d,
            "s8_ptr": "u8" if c["HAS_S"] else d, "x_ptr": d if c["LEARN_K"] else d, "gx_ptr": "fp32",
            "gk_ptr": "fp32", "gvlast_ptr": "fp32", "gaux_ptr": "fp32", "k_ptr": "fp32"}


def _kernel_fn(kernel: str):
    """The ``@triton.jit`` function a variant's ``kernel`` name stands for."""
    from . import triton_kernels, triton_recurrent

    return {"forward": triton_kernels._forward_kernel, "backward": triton_kernels._backward_kernel,  # noqa: SLF001
            "step_forward": triton_recurrent._step_forward_kernel,  # noqa: SLF001
            "step_backward": triton_recurrent._step_backward_kernel}[kernel]  # noqa: SLF001


def compile_variant(v: Variant, arch: int) -> Resources:
    """Compile ``v`` for ``sm_<arch>`` (no GPU needed) and read its resource usage from the cubin."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = _kernel_fn(v.kernel)
    ptrs = _pointer_types(v)
    consts = dict(v.constexprs)
    sig = {}
    for name in fn.arg_names:
        if name in consts:
            sig[name] = "constexpr"
        elif name in ptrs:
            sig[name] = "*" + ptrs[name]
        else:
            sig[name] = "i32" if name in ("T", "N") else "fp32"
    src = ASTSource(fn, sig, constexprs={(fn.arg_names.index(k),): val for k, val in consts.items()})
    kernel = triton.compile(src, target=GPUTarget("cuda", arch, 32),
                            options={"num_warps": v.warps, "enable_fp_fusion": False})
    return _resources(kernel.asm["cubin"], os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia",
                                                        "bin", "cuobjdump"))


def _resources(cubin: bytes, cuobjdump: str) -> Resources:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.cubin")
        with open(path, "wb") as f:
            f.write(cubin)
        text = subprocess.run([cuobjdump, "--dump-resource-usage", path], capture_output=True, text=True,
                              check=True).stdout
    m = re.search(r"REG:(\d+) STACK:(\d+) SHARED:\d+ LOCAL:(\d+)", text)
    if m is None:
        raise RuntimeError(f"cuobjdump printed no resource line for the cubin: {text!r}")
    return Resources(int(m.group(1)), int(m.group(3)), int(m.group(2)))


def compile_all(arch: int, sample: bool = True) -> list[tuple[Variant, Resources]]:
    """Compile :func:`variants` for ``sm_<arch>`` in a fresh interpreter without ``TRITON_INTERPRET`` (under the
    interpreter ``@triton.jit`` yields functions Triton's compiler cannot take); returns ``(variant, resources)``."""
    import json
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    cmd = [sys.executable, "-m", "neurokit.kernels.triton_aot", str(arch)] + (["--sample"] if sample else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"ahead-of-time compile for sm_{arch} failed:\n{proc.stderr[-4000:]}")
    rows = json.loads(proc.stdout)
    vs = variants(sample)
    if len(rows) != len(vs):
        raise RuntimeError(f"expected {len(vs)} results, got {len(rows)}")
    return [(v, Resources(*r)) for v, r in zip(vs, rows)]


def _main(argv: list[str]) -> None:
    import json

    arch, sample = int(argv[0]), "--sample" in argv
    print(json.dumps([list(vars(compile_variant(v, arch)).values()) for v in variants(sample)]))


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
