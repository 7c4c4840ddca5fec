"""The fused neuron kernels vs the reference loops, one test per property parametrized by backend:

* ``cpu``: the Numba path (``backend="auto"`` on a CPU tensor). Each distinct switch combination compiles one Numba
  variant (~1 s), so it runs on a subset of the configurations that sets every switch both ways.
* ``triton``: the Triton kernels, on CUDA when present, otherwise under ``TRITON_INTERPRET=1`` (conftest.py); the
  full matrix of 56 family x flag cases.

Then the properties that belong to one backend: the dispatch contract, ``torch.compile`` and autocast (cpu),
random shapes, non-contiguous input and the module switch (triton).
"""
import os

import pytest
import torch
from hypothesis import given, settings, strategies as st

import neurokit as nk
from neurokit.kernels import resolve_backend, saved_bytes_per_step
from neurokit.kernels.dispatch import run_neuron
from neurokit.kernels.spec import build_spec
from neurokit.neurons import functional as F
from tests.helpers.kernel_cases import all_configs, assert_grad_close, make_params, run_both

TRITON_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# backend id -> (the backend name given to run_neuron, the device of the input)
BACKENDS = {"cpu": ("auto", "cpu"), "triton": ("triton", TRITON_DEVICE)}
CONFIGS = {"cpu": all_configs()[::6], "triton": all_configs()}
# Low-precision inputs: h is kept in bf16/fp16 for backward, so the surrogate is evaluated at a rounded h.
LOWP_TOL = {torch.bfloat16: dict(rtol=5e-2, atol_rel=2e-2), torch.float16: dict(rtol=1e-2, atol_rel=3e-3)}
LIF = ("lif", dict(tau=2.0, v_reset=0.0))
ALIF = ("alif", dict(tau=2.0, tau_adapt=4.0, beta=0.5, v_reset=None))
PLIF = ("plif", dict(tau=2.0, v_reset=None, decay_input=True))


def _x(shape, backend, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 1.2 + 0.6).to(dtype).to(BACKENDS[backend][1])


def _cases(table):
    """``pytest.param(backend, *case)`` for every backend's list of cases in ``table``."""
    return [pytest.param(backend, *case, id=f"{backend}-{i}") for backend, cases in table.items()
            for i, case in enumerate(cases)]


def _flags_id(kw):
    return "-".join(f"{k}={kw[k]}" for k in ("v_reset", "decay_input", "detach_reset", "reset_after_decay") if k in kw)


@pytest.mark.parametrize("backend,family,kw", [
    pytest.param(backend, family, kw, id=f"{backend}-{family}-{_flags_id(kw)}")
    for backend, configs in CONFIGS.items() for family, kw in configs])
def test_every_family_and_flag_matches_reference(backend, family, kw):
    shape = {"cpu": (7, 3, 41), "triton": (6, 2, 70)}[backend]
    ref, got = run_both(run_neuron, family, kw, _x(shape, backend), nk.surrogate.get("atan"), BACKENDS[backend][0])
    assert torch.equal(ref["spikes"], got["spikes"])
    torch.testing.assert_close(got["v_seq"], ref["v_seq"], rtol=1e-6, atol=1e-6)
    assert_grad_close(ref["grad_x"], got["grad_x"])
    if family == "plif":
        assert_grad_close(ref["grad_tau"], got["grad_tau"])


def test_cpu_subset_sets_every_switch_both_ways():
    configs = CONFIGS["cpu"]
    assert {kw["v_reset"] for _, kw in configs} == {0.0, None, -0.2}
    for key in ("decay_input", "detach_reset", "reset_after_decay"):
        assert {kw.get(key) for _, kw in configs} >= {True, False}, key
    assert {f for f, _ in configs} == {"lif", "if", "plif", "cuba_lif", "alif"}


@pytest.mark.parametrize("surrogate", nk.surrogate.names())
@pytest.mark.parametrize("backend,family,kw,shape,seed", _cases({
    "cpu": [("lif", dict(tau=2.0, v_reset=None), (6, 2, 30), 2)],
    "triton": [(*LIF, (5, 3, 40), 3), (*ALIF, (5, 3, 40), 3), (*PLIF, (5, 3, 40), 3)]}))
def test_every_surrogate_matches_reference(surrogate, backend, family, kw, shape, seed):
    ref, got = run_both(run_neuron, family, kw, _x(shape, backend, seed=seed), nk.surrogate.get(surrogate),
                        BACKENDS[backend][0])
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])
    if family == "plif":
        assert_grad_close(ref["grad_tau"], got["grad_tau"])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("backend,family,kw,seed", _cases({
    "cpu": [("lif", dict(tau=2.0), 4)],
    "triton": [(*LIF, 5), ("cuba_lif", dict(tau_syn=2.0, tau_mem=3.0, v_reset=None), 5),
               ("alif", dict(tau=2.0, tau_adapt=4.0, beta=0.5, v_reset=0.0), 5)]}))
def test_low_precision_inputs_fp32_state(dtype, backend, family, kw, seed):
    """Spikes equal the fp32 reference on the same (rounded) input; gradients within the documented tolerance."""
    x = _x((6, 2, 50), backend, seed=seed, dtype=dtype)
    ref, got = run_both(run_neuron, family, kw, x, nk.surrogate.get("atan"), BACKENDS[backend][0],
                        ref_dtype=torch.float32)
    assert got["spikes"].dtype == dtype
    assert torch.equal(ref["spikes"].to(dtype), got["spikes"])
    assert got["grad_x"].dtype == dtype
    assert_grad_close(ref["grad_x"], got["grad_x"].float(), **LOWP_TOL[dtype])


@pytest.mark.parametrize("backend,family,kw,dtype,T,B,N", _cases({
    "cpu": [("lif", dict(tau=2.0), torch.float32, 10, 4, 64), ("lif", dict(tau=2.0), torch.float16, 10, 4, 64)],
    "triton": [(family, kw, dtype, 8, 2, 96) for dtype in (torch.float32, torch.bfloat16)
               for family, kw in [("lif", dict(tau=2.0)), ("alif", dict(tau=2.0)),
                                  ("plif", dict(tau=2.0, decay_input=True))]]}))
def test_saved_tensors_within_documented_bytes(backend, family, kw, dtype, T, B, N):
    params, _ = make_params(family, kw, BACKENDS[backend][1])
    sg = nk.surrogate.get("atan")
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    x = _x((T, B, N // B), backend, dtype=dtype).requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        spikes, _, _ = run_neuron(family, x, params, sg, BACKENDS[backend][0])
    budget = saved_bytes_per_step(build_spec(family, params, sg), dtype) * T * N
    assert 0 < sum(saved) <= budget + 64  # + the 0-d decay tensor of PLIF
    spikes.sum().backward()
    assert x.grad.shape == x.shape


# ---- cpu (Numba) only ---------------------------------------------------------------------------------------------

def test_cpu_modules_auto_equal_torch_backend_and_state():
    x = _x((9, 2, 17), "cpu", 7)
    for cls, kw in [(nk.LIF, dict(tau=3.0, v_reset=None, reset_after_decay=True)), (nk.CubaLIF, {}),
                    (nk.ALIF, dict(beta=0.3)), (nk.IF, {})]:
        outs = []
        for backend in ("auto", "torch"):
            xi = x.clone().requires_grad_()
            s, state = cls(backend=backend, **kw)(xi, return_state=True)
            (s.sum() + state.v.sum()).backward()
            outs.append((s, state, xi.grad))
        assert torch.equal(outs[0][0], outs[1][0]), cls
        for a, b in zip(outs[0][1], outs[1][1]):
            torch.testing.assert_close(a, b.expand_as(a) if b.dim() == 0 else b)
        assert_grad_close(outs[1][2], outs[0][2])


def test_cpu_torch_compile_fullgraph_no_graph_break():
    lif = nk.LIF(tau=2.0, backend="auto")
    lin = torch.nn.Linear(6, 5)

    def net(x):
        return lif(lin(x)).sum(0)

    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    x = _x((4, 2, 6), "cpu")
    out = compiled(x)
    out.sum().backward()
    g_compiled = lin.weight.grad.clone()
    lin.weight.grad = None
    torch.testing.assert_close(out, net(x))
    net(x).sum().backward()
    assert_grad_close(lin.weight.grad, g_compiled)


def test_cpu_autocast_bf16():
    lin = torch.nn.Linear(8, 8)
    x = _x((5, 2, 8), "cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = lin(x)
        s = nk.LIF(backend="auto")(y)
    assert y.dtype == s.dtype == torch.bfloat16
    s.float().sum().backward()
    assert lin.weight.grad is not None and torch.isfinite(lin.weight.grad).all()
    assert torch.equal(s, F.lif_reference(y.float(), F.LIFParams(), nk.surrogate.get("atan"))[0].bfloat16())


def test_cpu_dispatch_errors_and_fallbacks():
    x = _x((3, 2, 4), "cpu")
    sg = nk.surrogate.get("atan")
    assert resolve_backend("auto", x.device) == "cpu"
    assert run_neuron("lif", x, F.LIFParams(), sg, "torch") is None
    assert run_neuron("lif", x.double(), F.LIFParams(), sg, "auto") is None
    with pytest.raises(ValueError, match="float64"):
        run_neuron("lif", x.double(), F.LIFParams(), sg, "triton")
    with pytest.raises(ValueError, match="family"):
        run_neuron("lifx", x, F.LIFParams(), sg, "auto")
    with pytest.raises(ValueError, match="backend"):
        run_neuron("lif", x, F.LIFParams(), sg, "cuda")


# ---- triton only --------------------------------------------------------------------------------------------------

def test_triton_interpreter_is_active_without_gpu():
    assert torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1"


@settings(max_examples=20, deadline=None, derandomize=True, database=None)   # the same examples every run
@given(T=st.integers(1, 5), B=st.integers(1, 3), F=st.integers(1, 150),
       case=st.integers(0, len(CONFIGS["triton"]) - 1), sg=st.sampled_from(nk.surrogate.names()),
       seed=st.integers(0, 1000))
def test_triton_random_shapes(T, B, F, case, sg, seed):
    family, kw = CONFIGS["triton"][case]
    ref, got = run_both(run_neuron, family, kw, _x((T, B, F), "triton", seed=seed), nk.surrogate.get(sg), "triton",
                        store_v=bool(seed % 2))
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])


def test_triton_non_contiguous_input():
    x = _x((30, 4, 3), "triton").permute(0, 2, 1)  # [T, B, F] non-contiguous
    assert not x.is_contiguous()
    ref, got = run_both(run_neuron, "lif", dict(tau=2.0), x, nk.surrogate.get("sigmoid"), "triton")
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])


def test_triton_module_backend_matches_torch_backend():
    x = _x((5, 2, 33), "triton")
    lif_t = nk.PLIF(init_tau=2.0, backend="triton")
    lif_r = nk.PLIF(init_tau=2.0, backend="torch")
    xs = [x.clone().requires_grad_() for _ in range(2)]
    (lif_t.to(TRITON_DEVICE)(xs[0]).sum()).backward()
    (lif_r.to(TRITON_DEVICE)(xs[1]).sum()).backward()
    assert_grad_close(xs[1].grad, xs[0].grad)
    assert_grad_close(lif_r.w.grad, lif_t.w.grad)
