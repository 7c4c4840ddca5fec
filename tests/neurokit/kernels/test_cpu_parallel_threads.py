"""The parallel Numba loop (``prange`` over neuron chunks): bit-identical across thread counts and chunkings, and
bit-identical spikes and membrane to the plain PyTorch reference loop."""
import numpy as np
import pytest
import torch

import neurokit as nk
from neurokit.kernels import cpu
from neurokit.kernels.dispatch import run_neuron
from neurokit.kernels.spec import build_spec
from neurokit.neurons import functional as F

# several full chunks plus a partial one, so the split between threads is exercised
N = 2 * cpu.CHUNK + 37
CASES = [("lif", F.LIFParams(tau=2.0, v_reset=0.0, decay_input=False)),
         ("lif", F.LIFParams(tau=2.5, v_reset=None, reset_after_decay=True)),
         ("cuba_lif", F.CubaLIFParams(tau_syn=3.0, tau_mem=2.0)),
         ("alif", F.ALIFParams(tau=2.0, tau_adapt=5.0, beta=0.7))]


def _arrays(T=6, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal((T, N)) * 1.2 + 0.6).astype(np.float32),
            rng.standard_normal((T, N)).astype(np.float32))


@pytest.mark.parametrize("family,params", CASES, ids=[f"{f}{i}" for i, (f, _) in enumerate(CASES)])
def test_thread_count_does_not_change_a_bit(family, params):
    spec = build_spec(family, params, nk.surrogate.get("atan"))
    x, g = _arrays()
    zeros = np.zeros(N, np.float32)
    runs = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out = cpu.forward_arrays(x, spec, spec.k, store_v=True)
            g_x, _ = cpu.backward_arrays(g, None, zeros, zeros, out["h"], out["th"] if family == "alif" else None,
                                         None, None, spec, spec.k)
            runs.append((out, g_x))
    finally:
        torch.set_num_threads(before)
    (a, ga), (b, gb) = runs
    for key in ("s", "h", "v_seq", "v", "aux"):
        assert np.array_equal(a[key], b[key]), key
    assert np.array_equal(ga, gb)


def test_threads_bounded_by_torch():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert cpu.set_threads() == 1
        run_neuron("lif", torch.rand(3, 1, N), F.LIFParams(), nk.surrogate.get("atan"), "auto")
        assert torch.get_num_threads() == 1      # Numba's thread pool does not change torch's count
        torch.set_num_threads(64)
        assert 1 <= cpu.set_threads() <= 64
    finally:
        torch.set_num_threads(before)
        cpu.set_threads()


@pytest.mark.parametrize("family,params", CASES[:2], ids=["hard", "rad"])
def test_parallel_spikes_and_membrane_equal_reference(family, params):
    x = torch.from_numpy(_arrays(8, 3)[0]).reshape(8, 1, N)
    sg = nk.surrogate.get("atan")
    s_ref, v_ref, _ = F.lif_reference(x, params, sg)
    s, v_seq, _ = run_neuron(family, x, params, sg, "auto", store_v_seq=True)
    assert torch.equal(s, s_ref)
    assert torch.equal(v_seq, v_ref)


@pytest.mark.parametrize("family,params", CASES, ids=[f"{f}{i}" for i, (f, _) in enumerate(CASES)])
def test_spike_gradient_constant_over_time_matches_reference(family, params):
    """``spikes.sum()`` and a loss on ``spikes.sum(0)`` give a gradient expanded over time (stride 0), which the CPU
    loop reads as one row: same gradients as the reference loop."""
    x = torch.from_numpy(_arrays(5, 4)[0][:, :300].copy()).reshape(5, 3, 100)
    w = torch.randn(3, 100, generator=torch.Generator().manual_seed(2))
    sg = nk.surrogate.get("atan")
    ref_fn = {"lif": F.lif_reference, "cuba_lif": F.cuba_lif_reference, "alif": F.alif_reference}[family]
    for loss in (lambda s: s.sum(), lambda s: (s.sum(0) * w).sum()):
        grads = []
        for fn in (lambda xi: ref_fn(xi, params, sg)[0], lambda xi: run_neuron(family, xi, params, sg, "auto")[0]):
            xi = x.clone().requires_grad_()
            loss(fn(xi)).backward()
            grads.append(xi.grad)
        torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-6)
