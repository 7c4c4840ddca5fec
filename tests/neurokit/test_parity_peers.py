"""Parity of the neuron core with the real peers: SpikingJelly 2.0 and snnTorch 1.0 (installed packages).

Spikes must be identical; input (and tau) gradients through the same surrogate allclose (rtol 1e-5, fp32).
"""
import math

import pytest
import snntorch
import torch
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

import neurokit as nk

SHAPES = [(6, 2, 5), (17, 3, 4, 3), (1, 1, 9), (32, 4, 33)]
RTOL, ATOL = 1e-5, 1e-6


def _inputs(shape, seed, scale=1.5):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g) * scale + 0.4).requires_grad_(True)
    w = torch.randn(shape, generator=g)
    return x, w


def _grad(fn, x, w):
    x = x.detach().clone().requires_grad_(True)
    s = fn(x)
    (s * w).sum().backward()
    return s.detach(), x.grad


def _sj_surrogate(name, alpha):
    return sj_surrogate.ATan(alpha=alpha) if name == "atan" else sj_surrogate.Sigmoid(alpha=alpha)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("v_reset", [0.0, None, -0.2])
@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("sg", [("atan", 2.0), ("sigmoid", 4.0)])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_lif_matches_spikingjelly(shape, seed, v_reset, decay_input, sg, detach_reset):
    tau = 1.5 + seed * 0.7
    x, w = _inputs(shape, seed)
    ours = nk.LIF(tau=tau, v_reset=v_reset, decay_input=decay_input, surrogate=sg[0],
                  surrogate_params={"alpha": sg[1]}, detach_reset=detach_reset, backend="torch")
    peer = sj_neuron.LIFNode(tau=tau, decay_input=decay_input, v_reset=v_reset, step_mode="m",
                             surrogate_function=_sj_surrogate(*sg), detach_reset=detach_reset)
    s1, g1 = _grad(ours, x, w)
    s2, g2 = _grad(peer, x, w)
    assert torch.equal(s1, s2)
    torch.testing.assert_close(g1, g2, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("v_reset", [0.0, None])
@pytest.mark.parametrize("seed", [3, 4])
def test_if_matches_spikingjelly(shape, v_reset, seed):
    x, w = _inputs(shape, seed)
    ours = nk.IF(v_reset=v_reset, surrogate="atan", backend="torch")
    peer = sj_neuron.IFNode(v_reset=v_reset, step_mode="m", surrogate_function=sj_surrogate.ATan())
    s1, g1 = _grad(ours, x, w)
    s2, g2 = _grad(peer, x, w)
    assert torch.equal(s1, s2)
    torch.testing.assert_close(g1, g2, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("seed", [0, 5])
def test_plif_matches_spikingjelly_including_tau_grad(decay_input, seed):
    x, w = _inputs((12, 3, 7), seed)
    ours = nk.PLIF(init_tau=2.5, decay_input=decay_input, surrogate="atan", backend="torch")
    peer = sj_neuron.ParametricLIFNode(init_tau=2.5, decay_input=decay_input, step_mode="m",
                                       surrogate_function=sj_surrogate.ATan())
    s1, g1 = _grad(ours, x, w)
    s2, g2 = _grad(peer, x, w)
    assert torch.equal(s1, s2)
    torch.testing.assert_close(g1, g2, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(ours.w.grad, peer.w.grad, rtol=RTOL, atol=ATOL)


def _snn_sg(name):
    return {"atan": snntorch.surrogate.atan(alpha=2.0),
            "fast_sigmoid": snntorch.surrogate.fast_sigmoid(slope=25),
            "sigmoid": snntorch.surrogate.sigmoid(slope=4)}[name]


def _run_snntorch_leaky(layer, x):
    mem = layer.init_leaky()
    out = []
    for t in range(x.shape[0]):
        spk, mem = layer(x[t], mem)
        out.append(spk)
    return torch.stack(out)


def _run_snntorch_synaptic(layer, x):
    syn, mem = layer.init_synaptic()
    out = []
    for t in range(x.shape[0]):
        spk, syn, mem = layer(x[t], syn, mem)
        out.append(spk)
    return torch.stack(out)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("surrogate", ["atan", "fast_sigmoid", "sigmoid"])
@pytest.mark.parametrize("mechanism,reset_delay", [("zero", True), ("subtract", True)])
def test_lif_matches_snntorch_leaky(shape, seed, surrogate, mechanism, reset_delay):
    beta = 0.55 + 0.2 * seed
    x, w = _inputs(shape, seed)
    peer = snntorch.Leaky(beta=beta, threshold=1.0, spike_grad=_snn_sg(surrogate), reset_mechanism=mechanism,
                          reset_delay=reset_delay)
    params = {"sigmoid": {"alpha": 4.0}}.get(surrogate, {})
    # snnTorch detaches its reset signal (``mem_reset`` returns a detached spike) in these modes.
    detach = True
    ours = nk.LIF(tau=1.0 / (1.0 - beta), decay_input=False, v_reset=0.0 if mechanism == "zero" else None,
                  reset_after_decay=(mechanism == "subtract"), surrogate=surrogate, surrogate_params=params,
                  detach_reset=detach, backend="torch")
    s1, g1 = _grad(ours, x, w)
    s2, g2 = _grad(lambda z: _run_snntorch_leaky(peer, z), x, w)
    assert torch.equal(s1, s2)
    torch.testing.assert_close(g1, g2, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", SHAPES[:3])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mechanism", ["zero", "subtract"])
def test_cubalif_matches_snntorch_synaptic(shape, seed, mechanism):
    alpha, beta = 0.6 + 0.1 * seed, 0.8
    x, w = _inputs(shape, seed, scale=1.0)
    peer = snntorch.Synaptic(alpha=alpha, beta=beta, threshold=1.0, spike_grad=_snn_sg("atan"),
                             reset_mechanism=mechanism)
    ours = nk.CubaLIF(tau_syn=1.0 / (1.0 - alpha), tau_mem=1.0 / (1.0 - beta),
                      v_reset=0.0 if mechanism == "zero" else None, reset_after_decay=True, surrogate="atan",
                      detach_reset=True, backend="torch")
    s1, g1 = _grad(ours, x, w)
    s2, g2 = _grad(lambda z: _run_snntorch_synaptic(peer, z), x, w)
    assert torch.equal(s1, s2)
    torch.testing.assert_close(g1, g2, rtol=RTOL, atol=ATOL)


def test_mapping_constants_are_consistent():
    beta = 0.9
    assert math.isclose(1.0 - 1.0 / (1.0 / (1.0 - beta)), beta)
