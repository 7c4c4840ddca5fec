"""Triton kernels vs the reference loops (issue 3). Without a GPU they run under TRITON_INTERPRET=1 (conftest.py)."""
import os

import pytest
import torch
from hypothesis import given, settings, strategies as st

import neurokit as nk
from neurokit.kernels import saved_bytes_per_step
from neurokit.kernels.dispatch import run_neuron
from neurokit.kernels.spec import build_spec
from _kernel_cases import all_configs, assert_grad_close, make_params, run_both

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# Low-precision inputs: h is kept in bf16/fp16 for backward, so the surrogate is evaluated at a rounded h.
LOWP_TOL = {torch.bfloat16: dict(rtol=5e-2, atol_rel=2e-2), torch.float16: dict(rtol=1e-2, atol_rel=3e-3)}


def _x(shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 1.2 + 0.6).to(dtype).to(DEVICE)


def test_interpreter_is_active_without_gpu():
    assert torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1"


@pytest.mark.parametrize("family,kw", all_configs(), ids=lambda v: v if isinstance(v, str) else "-".join(
    f"{k}={v[k]}" for k in ("v_reset", "decay_input", "detach_reset", "reset_after_decay") if k in v))
def test_every_family_and_flag_matches_reference(family, kw):
    ref, got = run_both(run_neuron, family, kw, _x((6, 2, 70)), nk.surrogate.get("atan"), "triton")
    assert torch.equal(ref["spikes"], got["spikes"])
    torch.testing.assert_close(got["v_seq"], ref["v_seq"], rtol=1e-6, atol=1e-6)
    assert_grad_close(ref["grad_x"], got["grad_x"])
    if family == "plif":
        assert_grad_close(ref["grad_tau"], got["grad_tau"])


@pytest.mark.parametrize("surrogate", nk.surrogate.names())
@pytest.mark.parametrize("family,kw", [("lif", dict(tau=2.0, v_reset=0.0)),
                                       ("alif", dict(tau=2.0, tau_adapt=4.0, beta=0.5, v_reset=None)),
                                       ("plif", dict(tau=2.0, v_reset=None, decay_input=True))])
def test_every_surrogate_matches_reference(surrogate, family, kw):
    ref, got = run_both(run_neuron, family, kw, _x((5, 3, 40), seed=3), nk.surrogate.get(surrogate), "triton")
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])
    if family == "plif":
        assert_grad_close(ref["grad_tau"], got["grad_tau"])


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 5), B=st.integers(1, 3), F=st.integers(1, 150),
       case=st.integers(0, len(all_configs()) - 1), sg=st.sampled_from(nk.surrogate.names()),
       seed=st.integers(0, 1000))
def test_random_shapes(T, B, F, case, sg, seed):
    family, kw = all_configs()[case]
    ref, got = run_both(run_neuron, family, kw, _x((T, B, F), seed=seed), nk.surrogate.get(sg), "triton",
                        store_v=bool(seed % 2))
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("family,kw", [("lif", dict(tau=2.0, v_reset=0.0)),
                                       ("cuba_lif", dict(tau_syn=2.0, tau_mem=3.0, v_reset=None)),
                                       ("alif", dict(tau=2.0, tau_adapt=4.0, beta=0.5, v_reset=0.0))])
def test_low_precision_inputs_fp32_state(dtype, family, kw):
    """Spikes equal the fp32 reference on the same (rounded) input; gradients within the documented tolerance."""
    x = _x((6, 2, 50), seed=5, dtype=dtype)
    ref, got = run_both(run_neuron, family, kw, x, nk.surrogate.get("atan"), "triton", ref_dtype=torch.float32)
    assert got["spikes"].dtype == dtype
    assert torch.equal(ref["spikes"].to(dtype), got["spikes"])
    assert got["grad_x"].dtype == dtype
    assert_grad_close(ref["grad_x"], got["grad_x"].float(), **LOWP_TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("family,kw", [("lif", dict(tau=2.0)), ("alif", dict(tau=2.0)),
                                       ("plif", dict(tau=2.0, decay_input=True))])
def test_saved_tensors_within_documented_bytes(dtype, family, kw):
    T, N = 8, 96
    params, _ = make_params(family, kw, DEVICE)
    sg = nk.surrogate.get("atan")
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    x = _x((T, 2, N // 2), dtype=dtype).requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        spikes, _, _ = run_neuron(family, x, params, sg, "triton")
    budget = saved_bytes_per_step(build_spec(family, params, sg), dtype) * T * N
    assert 0 < sum(saved) <= budget + 64  # + the 0-d decay tensor of PLIF
    spikes.sum().backward()
    assert x.grad.shape == x.shape


def test_non_contiguous_input():
    x = _x((30, 4, 3)).permute(0, 2, 1)  # [T, B, F] non-contiguous
    assert not x.is_contiguous()
    ref, got = run_both(run_neuron, "lif", dict(tau=2.0), x, nk.surrogate.get("sigmoid"), "triton")
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])


def test_module_triton_backend_matches_torch_backend():
    x = _x((5, 2, 33))
    lif_t = nk.PLIF(init_tau=2.0, backend="triton")
    lif_r = nk.PLIF(init_tau=2.0, backend="torch")
    xs = [x.clone().requires_grad_() for _ in range(2)]
    (lif_t.to(DEVICE)(xs[0]).sum()).backward()
    (lif_r.to(DEVICE)(xs[1]).sum()).backward()
    assert_grad_close(xs[1].grad, xs[0].grad)
    assert_grad_close(lif_r.w.grad, lif_t.w.grad)
