"""The per-step Triton path of nk.layers.Recurrent against the reference loop ``recurrent_reference``.

Without a GPU the kernels run under ``TRITON_INTERPRET=1`` (conftest.py) on CPU tensors with ``backend="triton"``;
with one, on CUDA tensors, both with ``backend="triton"`` and ``backend="auto"`` (``benchmarks/gpu_check.sh`` runs
this directory on CUDA). The interpreter's block is 64
lanes, so ``B * N`` of 74 or 111 spans several programs and a masked tail.
"""
import pytest
import torch

import neurokit as nk
from neurokit.kernels import triton_recurrent
from neurokit.kernels.recurrent import run_recurrent
from neurokit.layers import recurrent_reference
from tests.helpers.kernel_cases import all_configs, assert_grad_close, make_params

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BACKENDS = ["triton"] + (["auto"] if DEVICE == "cuda" else [])
NEURONS = {
    "lif": lambda be: nk.LIF(tau=2.0, backend=be),
    "lif_soft_rad": lambda be: nk.LIF(tau=3.0, decay_input=False, v_reset=None, reset_after_decay=True,
                                      detach_reset=True, backend=be),
    "cuba_soft_rad": lambda be: nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_reset=None, reset_after_decay=True,
                                           surrogate="fast_sigmoid", backend=be),
    "alif": lambda be: nk.ALIF(tau=3.0, tau_adapt=10.0, beta=0.5, backend=be),
    "plif": lambda be: nk.PLIF(init_tau=2.5, backend=be),
    "if": lambda be: nk.IF(v_reset=None, backend=be),
}


def _both(family, kw, surrogate, backend, shape=(5, 2, 37), seed=0):
    """Reference and Triton path on the same ``ff``, ``V``, ``b_rec``: spikes and every gradient."""
    T, B, N = shape
    g = torch.Generator().manual_seed(seed)
    ff0 = torch.randn(T, B, N, generator=g) * 1.5 + 0.5
    v0 = torch.randn(N, N, generator=g) * 0.6
    b0 = torch.randn(N, generator=g) * 0.2
    w = torch.randn(T, B, N, generator=g)
    out = []
    for which in ("ref", "triton"):
        params, tau = make_params(family, kw, DEVICE)
        ff, v, b = (t.to(DEVICE).clone().requires_grad_() for t in (ff0, v0, b0))
        if which == "ref":
            s, _ = recurrent_reference(ff, v, b, family, params, surrogate)
        else:
            s = run_recurrent(family, ff, v, b, params, surrogate, backend)
        (s * w.to(DEVICE)).sum().backward()
        out.append({"s": s.detach(), "ff": ff.grad, "V": v.grad, "b": b.grad,
                    "tau": None if tau is None else tau.grad})
    return out


def _check(ref, got):
    assert torch.equal(ref["s"], got["s"])
    for name in ("ff", "V", "b") + (("tau",) if ref["tau"] is not None else ()):
        assert_grad_close(ref[name], got[name])


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_family_and_flag_matches_reference(backend):
    """All 56 family x reset x decay_input x detach_reset x reset_after_decay cases the fused kernels cover, in one
    loop (each case is a handful of interpreted launches)."""
    spiked = 0
    for i, (family, kw) in enumerate(all_configs()):
        ref, got = _both(family, kw, nk.surrogate.get("atan"), backend, seed=i)
        try:
            _check(ref, got)
        except AssertionError as err:
            raise AssertionError(f"{family} {kw}: {err}") from err
        spiked += int(ref["s"].sum() > 0)
    assert spiked == len(all_configs())


@pytest.mark.parametrize("surrogate", nk.surrogate.names())
def test_every_surrogate_matches_reference(surrogate):
    for family, kw in (("alif", dict(tau=2.0, tau_adapt=4.0, beta=0.5, v_reset=None)),
                       ("plif", dict(tau=2.0, v_reset=None, decay_input=True))):
        ref, got = _both(family, kw, nk.surrogate.get(surrogate), BACKENDS[-1], shape=(4, 3, 37), seed=7)
        _check(ref, got)


def _layer(kind, backend, shape, seed, bias):
    T, B, n_in, n_out = shape
    torch.manual_seed(seed)
    layer = nk.layers.Recurrent(n_in, n_out, NEURONS[kind](backend), bias=bias, recurrent_bias=bias).to(DEVICE)
    with torch.no_grad():
        layer.recurrent_weight.mul_(2.0)
    g = torch.Generator().manual_seed(seed + 100)
    x = (torch.randn(T, B, n_in, generator=g) * 3.0 + 0.5).to(DEVICE).requires_grad_(True)
    w = torch.randn(T, B, n_out, generator=g).to(DEVICE)
    s = layer(x)
    (s * w).sum().backward()
    return s.detach(), x.grad, {name: p.grad for name, p in layer.named_parameters()}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape,seed,bias", [((6, 3, 5, 37), 0, True), ((9, 2, 4, 16), 1, False),
                                             ((1, 1, 3, 4), 2, True)])
def test_layer_matches_reference(backend, shape, seed, bias):
    """The module: spikes identical, gradients of x, W, V, both biases and PLIF's tau parameter within rtol 1e-5."""
    for kind in NEURONS:
        s_ref, gx_ref, gp_ref = _layer(kind, "torch", shape, seed, bias)
        s_tri, gx_tri, gp_tri = _layer(kind, backend, shape, seed, bias)
        assert s_ref.sum() > 0 or shape[0] == 1, kind
        assert torch.equal(s_ref, s_tri), kind
        assert_grad_close(gx_ref, gx_tri)
        assert gp_ref.keys() == gp_tri.keys()
        for name in gp_ref:
            assert_grad_close(gp_ref[name], gp_tri[name])
        if kind == "plif" and shape[0] > 1:
            assert float(gp_ref["neuron.w"].abs()) > 0


def test_triton_backend_runs_the_triton_path(monkeypatch):
    calls = []
    real = triton_recurrent.recurrent_loop
    monkeypatch.setattr(triton_recurrent, "recurrent_loop", lambda *a: calls.append(1) or real(*a))
    layer = nk.layers.Recurrent(3, 5, nk.LIF(backend="triton")).to(DEVICE)
    layer(torch.rand(4, 2, 3, device=DEVICE))
    assert calls == [1]
    if DEVICE == "cpu":      # auto on a CPU tensor keeps the fused Numba loop
        nk.layers.Recurrent(3, 5, nk.LIF(backend="auto"))(torch.rand(4, 2, 3))
        assert calls == [1]


def test_triton_backend_errors(monkeypatch):
    layer = nk.layers.Recurrent(3, 5, nk.LIF(backend="triton")).double().to(DEVICE)
    with pytest.raises(ValueError, match=r"takes float32 only, got input currents torch.float64"):
        layer(torch.rand(4, 2, 3, dtype=torch.float64, device=DEVICE))
    if DEVICE == "cpu":
        monkeypatch.setenv("TRITON_INTERPRET", "0")
        with pytest.raises(ValueError, match="TRITON_INTERPRET is not '1'"):
            nk.layers.Recurrent(3, 5, nk.LIF(backend="triton"))(torch.rand(4, 2, 3))


def test_deferred_hard_reset_runs_the_reference_loop():
    """``fused_covers`` rejects a deferred hard reset: the Triton backend falls back to the reference loop."""
    x = torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(0)).to(DEVICE) * 2
    layer = nk.layers.Recurrent(4, 5, nk.LIF(v_reset=0.0, reset_after_decay=True, backend="triton")).to(DEVICE)
    ref = nk.layers.Recurrent(4, 5, nk.LIF(v_reset=0.0, reset_after_decay=True, backend="torch")).to(DEVICE)
    ref.load_state_dict(layer.state_dict())
    assert torch.equal(layer(x), ref(x))
