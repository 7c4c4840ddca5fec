"""Neuron configurations shared by the kernel tests: (family, params, reference loop)."""
import itertools

import torch

from neurokit.neurons import functional as F

REFERENCE = {"lif": F.lif_reference, "if": F.if_reference, "plif": F.lif_reference,
             "cuba_lif": F.cuba_lif_reference, "alif": F.alif_reference}


def all_configs():
    """Every family with every reset form, decay_input form, detach_reset and reset_after_decay (56 cases)."""
    out = []
    for vr, di, det, rad in itertools.product([0.0, None, -0.2], [True, False], [False, True], [False, True]):
        if rad and vr is not None:
            continue
        out.append(("lif", dict(tau=2.5, v_reset=vr, decay_input=di, detach_reset=det, reset_after_decay=rad)))
        if di:
            out.append(("if", dict(tau=1.0, v_reset=vr, decay_input=False, detach_reset=det, reset_after_decay=rad)))
            out.append(("cuba_lif", dict(tau_syn=3.0, tau_mem=2.0, v_reset=vr, detach_reset=det,
                                         reset_after_decay=rad)))
        if not rad:
            out.append(("plif", dict(tau=1.7, v_reset=vr, decay_input=di, detach_reset=det)))
            out.append(("alif", dict(tau=2.0, tau_adapt=5.0, beta=0.7, v_reset=vr, decay_input=di,
                                     detach_reset=det)))
    return out


def make_params(family, kw, device="cpu"):
    """Build the params dataclass; PLIF gets a learnable 0-d ``tau`` tensor (returned as the second item)."""
    if family == "plif":
        tau = torch.tensor(kw["tau"], device=device, requires_grad=True)
        return F.LIFParams(**{**kw, "tau": tau}), tau
    if family == "cuba_lif":
        return F.CubaLIFParams(**kw), None
    if family == "alif":
        return F.ALIFParams(**kw), None
    return F.LIFParams(**kw), None


def run_both(run_neuron, family, kw, x, surrogate, backend, g_s=None, store_v=True, ref_dtype=None):
    """Run reference and kernel on ``x`` with a loss using spikes, v_seq and the final v.

    The reference runs in ``ref_dtype`` (default: x's dtype). Returns dicts with spikes, v_seq, grad_x, grad_tau.
    """
    ref_dtype = ref_dtype or x.dtype
    g_s = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(x.device) if g_s is None else g_s
    results = []
    for which in ("ref", "kernel"):
        params, tau = make_params(family, kw, x.device)
        xi = (x.to(ref_dtype) if which == "ref" else x).detach().clone().requires_grad_()
        if which == "ref":
            s, v_seq, state = REFERENCE[family](xi, params, surrogate)
        else:
            s, v_seq, state = run_neuron(family, xi, params, surrogate, backend, store_v_seq=store_v)
        loss = (s.float() * g_s).sum() + state.v.float().sum()
        if store_v:
            loss = loss + (v_seq.float() * 0.3).sum()
        loss.backward()
        results.append({"spikes": s.detach(), "v_seq": None if v_seq is None else v_seq.detach(),
                        "v": state.v.detach(), "grad_x": xi.grad, "grad_tau": None if tau is None else tau.grad})
    return results


def assert_grad_close(ref, got, rtol=1e-5, atol_rel=1e-6):
    """allclose with ``rtol`` and an absolute floor scaled by the gradient's magnitude (BPTT products of large
    surrogate slopes, e.g. biper's 20, reach 1e6; fp32 rounding then shows at 1e-7 of the largest entry)."""
    scale = max(1.0, float(ref.abs().max()))
    torch.testing.assert_close(got.to(ref.dtype), ref, rtol=rtol, atol=atol_rel * scale)
