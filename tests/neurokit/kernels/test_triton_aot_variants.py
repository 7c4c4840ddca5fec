"""GPU readiness without a GPU: every sampled constexpr variant of the Triton kernels (the neuron time loop and the
recurrent layer's single step) compiles ahead of time for sm_80 and sm_90 with Triton's own compiler, and none spills
registers to local memory."""
import pytest

from neurokit.kernels import triton_aot

SAMPLE = triton_aot.variants(sample=True)


@pytest.fixture(autouse=True)
def _fresh_triton_cache(tmp_path, monkeypatch):
    """Compile for real every run: no cubin is reused from an earlier run's cache."""
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton-cache"))


PER_CALL = ("BLOCK", "SG", "STORE_V", "HAS_GVSEQ", "SAVE_S8", "HAS_S")   # not neuron-configuration switches


def test_sample_covers_every_switch_dtype_block_and_surrogate():
    full = triton_aot.variants()
    for key in (lambda v: (v.kernel, dict(v.constexprs)["BLOCK"]), lambda v: (v.kernel, v.dtype),
                lambda v: (v.kernel, dict(v.constexprs).get("STORE_V"), dict(v.constexprs).get("HAS_GVSEQ")),
                lambda v: (v.kernel,) + tuple((k, x) for k, x in v.constexprs if k not in PER_CALL)):
        assert {key(v) for v in SAMPLE} == {key(v) for v in full}
    for kernel in ("backward", "step_backward"):
        assert {dict(v.constexprs)["SG"] for v in SAMPLE if v.kernel == kernel} == set(range(8)), kernel
    assert {v.kernel for v in SAMPLE} == {"forward", "backward", "step_forward", "step_backward"}
    assert len(set(SAMPLE)) == len(SAMPLE) and set(SAMPLE) <= set(full)


@pytest.mark.parametrize("arch", triton_aot.ARCHS)
def test_sampled_variants_compile_without_spills(arch):
    failures = []
    results = triton_aot.compile_all(arch, sample=True)
    assert [v for v, _ in results] == SAMPLE
    for v, r in results:
        if not (0 < r.regs <= 255) or r.spill_bytes or r.stack_bytes:
            failures.append((v.label(), r))
    assert not failures, failures
