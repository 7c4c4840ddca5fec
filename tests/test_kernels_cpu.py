"""The fused Numba CPU path (``backend="auto"`` on CPU) vs the reference loops, plus the dispatch contract,
``torch.compile`` and autocast (issue 3)."""
import pytest
import torch

import neurokit as nk
from neurokit.kernels import resolve_backend, saved_bytes_per_step
from neurokit.kernels.dispatch import run_neuron
from neurokit.kernels.spec import build_spec
from neurokit.neurons import functional as F
from _kernel_cases import all_configs, assert_grad_close, make_params, run_both

# Each distinct switch combination compiles one Numba variant (~1 s), so the CPU path is checked on a subset that
# sets every switch both ways; the Triton tests run the full matrix.
CONFIGS = all_configs()[::6]


def _x(shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 1.2 + 0.6).to(dtype)


def test_subset_sets_every_switch_both_ways():
    assert {kw["v_reset"] for _, kw in CONFIGS} == {0.0, None, -0.2}
    for key in ("decay_input", "detach_reset", "reset_after_decay"):
        assert {kw.get(key) for _, kw in CONFIGS} >= {True, False}, key
    assert {f for f, _ in CONFIGS} == {"lif", "if", "plif", "cuba_lif", "alif"}


@pytest.mark.parametrize("family,kw", CONFIGS, ids=lambda v: v if isinstance(v, str) else None)
def test_family_matches_reference(family, kw):
    ref, got = run_both(run_neuron, family, kw, _x((7, 3, 41)), nk.surrogate.get("atan"), "auto")
    assert torch.equal(ref["spikes"], got["spikes"])
    torch.testing.assert_close(got["v_seq"], ref["v_seq"], rtol=1e-6, atol=1e-6)
    assert_grad_close(ref["grad_x"], got["grad_x"])
    if family == "plif":
        assert_grad_close(ref["grad_tau"], got["grad_tau"])


@pytest.mark.parametrize("surrogate", nk.surrogate.names())
def test_every_surrogate(surrogate):
    ref, got = run_both(run_neuron, "lif", dict(tau=2.0, v_reset=None), _x((6, 2, 30), 2),
                        nk.surrogate.get(surrogate), "auto")
    assert torch.equal(ref["spikes"], got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"])


@pytest.mark.parametrize("dtype,tol", [(torch.bfloat16, dict(rtol=5e-2, atol_rel=2e-2)),
                                       (torch.float16, dict(rtol=1e-2, atol_rel=3e-3))])
def test_low_precision_inputs(dtype, tol):
    x = _x((6, 2, 50), 4, dtype)
    ref, got = run_both(run_neuron, "lif", dict(tau=2.0), x, nk.surrogate.get("atan"), "auto",
                        ref_dtype=torch.float32)
    assert torch.equal(ref["spikes"].to(dtype), got["spikes"])
    assert_grad_close(ref["grad_x"], got["grad_x"].float(), **tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_saved_bytes(dtype):
    T, N = 10, 64
    params, _ = make_params("lif", dict(tau=2.0))
    sg = nk.surrogate.get("atan")
    saved = []
    x = _x((T, 4, N // 4), dtype=dtype).requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel() * t.element_size()) or t,
                                                  lambda t: t):
        run_neuron("lif", x, params, sg, "auto")
    assert 0 < sum(saved) <= saved_bytes_per_step(build_spec("lif", params, sg), dtype) * T * N


def test_modules_auto_equals_torch_backend_and_state():
    x = _x((9, 2, 17), 7)
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


def test_torch_compile_fullgraph_no_graph_break():
    lif = nk.LIF(tau=2.0, backend="auto")
    lin = torch.nn.Linear(6, 5)

    def net(x):
        return lif(lin(x)).sum(0)

    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    x = _x((4, 2, 6))
    out = compiled(x)
    out.sum().backward()
    g_compiled = lin.weight.grad.clone()
    lin.weight.grad = None
    torch.testing.assert_close(out, net(x))
    net(x).sum().backward()
    assert_grad_close(lin.weight.grad, g_compiled)


def test_autocast_bf16():
    lin = torch.nn.Linear(8, 8)
    x = _x((5, 2, 8))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = lin(x)
        s = nk.LIF(backend="auto")(y)
    assert y.dtype == s.dtype == torch.bfloat16
    s.float().sum().backward()
    assert lin.weight.grad is not None and torch.isfinite(lin.weight.grad).all()
    assert torch.equal(s, F.lif_reference(y.float(), F.LIFParams(), nk.surrogate.get("atan"))[0].bfloat16())


def test_dispatch_errors_and_fallbacks():
    x = _x((3, 2, 4))
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
