"""nk.layers.Recurrent against the installed peers: snnTorch 1.0 RLeaky / RSynaptic (all_to_all=True, both reset
mechanisms) and SpikingJelly 2.0 LinearRecurrentContainer around LIFNode. Identical spikes; weight gradients allclose
(rtol 1e-4 with an absolute floor of 1e-4 x the gradient's max: fp32 sums over T*B steps through the recurrence differ
in order between the packages by that much; the fused loop is as close to a float64 run as the fp32 reference)."""
import pytest
import snntorch
import torch
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

import neurokit as nk

SHAPES = [(10, 2, 5, 8), (30, 3, 12, 16), (50, 1, 4, 6)]   # T, B, in, N


def _inputs(shape, seed):
    T, B, n_in, _ = shape
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, B, n_in, generator=g) * 2.0 + 0.3, torch.randn(T, B, shape[3], generator=g)


def _grad_close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()) + 1e-7)


def _ours_from(fc, rec_linear, neuron, backend):
    layer = nk.layers.Recurrent(fc.in_features, fc.out_features, neuron, recurrent_bias=True)
    with torch.no_grad():
        layer.weight.copy_(fc.weight)
        layer.recurrent_weight.copy_(rec_linear.weight)
        layer.recurrent_bias.copy_(rec_linear.bias)
    layer.neuron.backend = backend
    return layer


def _snntorch_run(fc, cell, x, synaptic):
    state = cell.init_rsynaptic() if synaptic else cell.init_rleaky()
    out = []
    for t in range(x.shape[0]):
        if synaptic:
            spk, syn, mem = cell(fc(x[t]), *state)
            state = (spk, syn, mem)
        else:
            spk, mem = cell(fc(x[t]), *state)
            state = (spk, mem)
        out.append(spk)
    return torch.stack(out)


def _compare(peer_fn, peer_params, ours, x, w):
    s_peer = peer_fn(x)
    (s_peer * w).sum().backward()
    s_ours = ours(x)
    (s_ours * w).sum().backward()
    assert s_ours.sum() > 0
    assert torch.equal(s_ours.detach(), s_peer.detach())
    ours_params = [ours.weight, ours.recurrent_weight, ours.recurrent_bias]
    for p_ours, p_peer in zip(ours_params, peer_params):
        _grad_close(p_ours.grad, p_peer.grad)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mechanism", ["zero", "subtract"])
@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_recurrent_lif_matches_snntorch_rleaky(shape, seed, mechanism, backend):
    torch.manual_seed(seed)
    beta = 0.7 + 0.1 * seed
    fc = torch.nn.Linear(shape[2], shape[3], bias=False)
    cell = snntorch.RLeaky(beta=beta, linear_features=shape[3], all_to_all=True, reset_mechanism=mechanism,
                           spike_grad=snntorch.surrogate.atan(alpha=2.0))
    neuron = nk.LIF(tau=1.0 / (1.0 - beta), decay_input=False, v_reset=0.0 if mechanism == "zero" else None,
                    reset_after_decay=True, detach_reset=True, surrogate="atan")
    ours = _ours_from(fc, cell.recurrent, neuron, backend)
    x, w = _inputs(shape, seed)
    _compare(lambda z: _snntorch_run(fc, cell, z, False), [fc.weight, cell.recurrent.weight, cell.recurrent.bias],
             ours, x, w)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mechanism", ["zero", "subtract"])
@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_recurrent_cuba_matches_snntorch_rsynaptic(shape, seed, mechanism, backend):
    torch.manual_seed(seed + 10)
    alpha, beta = 0.6 + 0.1 * seed, 0.85
    fc = torch.nn.Linear(shape[2], shape[3], bias=False)
    cell = snntorch.RSynaptic(alpha=alpha, beta=beta, linear_features=shape[3], all_to_all=True,
                              reset_mechanism=mechanism, spike_grad=snntorch.surrogate.atan(alpha=2.0))
    neuron = nk.CubaLIF(tau_syn=1.0 / (1.0 - alpha), tau_mem=1.0 / (1.0 - beta),
                        v_reset=0.0 if mechanism == "zero" else None, reset_after_decay=True, detach_reset=True,
                        surrogate="atan")
    ours = _ours_from(fc, cell.recurrent, neuron, backend)
    x, w = _inputs(shape, seed)
    _compare(lambda z: _snntorch_run(fc, cell, z, True), [fc.weight, cell.recurrent.weight, cell.recurrent.bias],
             ours, x, w)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("v_reset", [0.0, None])
@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_recurrent_lif_matches_spikingjelly_container(shape, seed, v_reset, backend):
    torch.manual_seed(seed + 20)
    T, B, _, n = shape
    tau = 2.0 + seed
    container = sj_layer.LinearRecurrentContainer(
        sj_neuron.LIFNode(tau=tau, v_reset=v_reset, surrogate_function=sj_surrogate.ATan(), step_mode="s"),
        in_features=n, out_features=n, bias=True, step_mode="m")
    ours = nk.layers.Recurrent(n, n, nk.LIF(tau=tau, v_reset=v_reset, surrogate="atan", backend=backend), bias=True)
    with torch.no_grad():
        container.rc.weight.mul_(3.0)
        ours.weight.copy_(container.rc.weight[:, :n])
        ours.recurrent_weight.copy_(container.rc.weight[:, n:])
        ours.bias.copy_(container.rc.bias)
    g = torch.Generator().manual_seed(seed)
    x, w = torch.randn(T, B, n, generator=g) * 2.0 + 0.5, torch.randn(T, B, n, generator=g)
    sj_functional.reset_net(container)
    s_peer = container(x)
    (s_peer * w).sum().backward()
    s_ours = ours(x)
    (s_ours * w).sum().backward()
    assert s_ours.sum() > 0
    assert torch.equal(s_ours.detach(), s_peer.detach())
    _grad_close(torch.cat([ours.weight.grad, ours.recurrent_weight.grad], 1), container.rc.weight.grad)
    _grad_close(ours.bias.grad, container.rc.bias.grad)
