"""``nk.compile(target="loihi2")``: == the integer reference (``latency=1``, biases included), the demo's full delay
SNN, the integrator readout, netx reload, report and compile errors. (Netx layout, simulator and core mapping on
hand-built networks: tests/hw_targets/loihi2/test_loihi2.py; the real Lava:
tests/hw_targets/loihi2/test_lava_parity.py.)
"""
import numpy as np
import pytest
import torch
from tests.helpers.conv_cases import conv_example, conv_geometry, frames
from tests.helpers.delay_cases import demo_delay_snn
from tests.helpers.delay_cases import spikes as demo_spikes
from torch import nn

import neurokit as nk
from compile.integer_sim import run as integer_reference
from compile.ir import CompileError
from hw_targets.loihi2.mapping import CoreLimits
from hw_targets.loihi2.netx import load_netx
from hw_targets.loihi2.simulator import simulate
from neurokit.layers.delays import DelayedLinear
from neurokit.models import round_delays


def _x(seed, T=40, B=2, n=10):
    return (torch.rand(T, B, n, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


def _models():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    yield "cuba", nn.Sequential(nn.Linear(10, 12, bias=False), nk.CubaLIF(tau_syn=4.0, tau_mem=8.0, v_threshold=0.5),
                                nn.Linear(12, 4, bias=False), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3))
    yield "delay", round_delays(nn.Sequential(DelayedLinear(10, 12, max_delay=9, generator=g),
                                              nk.LIF(tau=4.0, decay_input=False, v_threshold=0.4),
                                              DelayedLinear(12, 4, max_delay=9, generator=g),
                                              nk.LIF(tau=2.0, decay_input=False, v_threshold=0.3)))
    yield "readout", nn.Sequential(nn.Linear(10, 12, bias=False), nk.LIF(tau=3.0, v_threshold=0.2),
                                   nn.Linear(12, 4, bias=True))


@pytest.mark.parametrize("seed", [0, 1])
def test_loihi_equals_integer_reference_with_latency(seed):
    """cm.run == integer_sim.run(latency=1); without hidden biases that is the latency=0 reference shifted by L."""
    for name, model in _models():
        x = _x(seed)
        cm = nk.compile(model, target="loihi2", example_input=x)
        L = cm.artefact.latency
        out, ref = cm.run(x).numpy(), integer_reference(cm.graph, x, latency=1)
        assert out.dtype == np.int64 and out.shape == ref.shape, name
        assert np.any(ref), name
        np.testing.assert_array_equal(out, ref, err_msg=name)
        np.testing.assert_array_equal(out[L:], integer_reference(cm.graph, x)[:-L], err_msg=name)
        if name == "readout":  # the accumulator v >> 6; Lava adds the bias from step 0, before any input arrives
            assert cm.artefact.net.readout
            bias = cm.graph.nodes[-1].quant.bias
            assert np.any(bias) and (out[:L] == bias).all()
        else:
            assert not out[:L].any(), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_delay_snn_with_biases_equals_integer_reference(seed):
    """The demo's delay SNN (folded batch norm -> per-neuron bias, LeakyIntegrator readout): loihi2 == the integer
    reference's latency=1 mode at every step; biased neurons act before the input arrives; argmax is the decision."""
    model = demo_delay_snn(seed)
    x = demo_spikes(100 + seed, T=60, B=3)
    cm = nk.compile(model, target="loihi2", example_input=x)
    out = cm.run(x).numpy()
    ref, vals = integer_reference(cm.graph, x, latency=1, record=True)
    np.testing.assert_array_equal(out, ref)
    hidden, spikes_h = cm.graph.nodes[1], vals[cm.graph.nodes[2].name]
    assert np.any(hidden.quant.bias) and 0 < spikes_h.mean() < 0.5 and spikes_h[0].any()  # bias-driven at t = 0
    readout = cm.artefact.net.layers[-1]
    assert (readout.i_decay, readout.v_decay, readout.vth_mant) == (4096, round(4096 / 20.0), 131071)
    assert not cm.artefact.last_run.spikes[-1].any() and np.abs(out).max() > 1000
    unit = np.asarray(cm.graph.scales[cm.graph.output])                        # acc_scale / 2**6, per class
    np.testing.assert_allclose(unit, cm.graph.node("output").quant.acc_scale / 64)
    onnx_int = nk.compile(model, target="onnx_int", example_input=x)
    agree = ((out * unit).sum(0).argmax(-1) == (onnx_int.run(x).numpy() * np.asarray(
        onnx_int.graph.scales[onnx_int.graph.output])).sum(0).argmax(-1)).mean()
    assert agree >= 2 / 3                                        # same decision up to quantization and latency


def test_integrator_readout_lowering_and_netx(tmp_path):
    model = nn.Sequential(nn.Linear(10, 12, bias=False), nk.LIF(tau=3.0, v_threshold=0.2),
                          nn.Linear(12, 4, bias=True), nk.layers.LeakyIntegrator(10.0))
    x = _x(3)
    cm = nk.compile(model, target="loihi2", example_input=x)
    p = cm.graph.nodes[-1].integer
    assert (p.decay, p.act_shift, p.bits) == (410, 6, 24)
    out = cm.run(x).numpy()
    np.testing.assert_array_equal(out, integer_reference(cm.graph, x, latency=1))
    cm.save(tmp_path / "li.net")
    net = load_netx(tmp_path / "li.net")
    assert net.readout and net.layers[-1].v_decay == 410
    np.testing.assert_array_equal(simulate(net, x.numpy(), record=True).v_last, out)


def test_saved_file_reloads_and_simulates_identically(tmp_path):
    for name, model in _models():
        x = _x(5)
        cm = nk.compile(model, target="loihi2", example_input=x)
        cm.save(tmp_path / f"{name}.net")
        net = load_netx(tmp_path / f"{name}.net")
        assert net.readout == (name == "readout")
        rec = simulate(net, x.numpy(), record=True)
        got = rec.v_last >> 6 if net.readout else rec.spikes[-1]
        np.testing.assert_array_equal(got, cm.run(x).numpy(), err_msg=name)


def test_compile_report_has_cores_encoding_and_traffic():
    _, model = next(_models())
    x = _x(1)
    cm = nk.compile(model, target="loihi2", example_input=x)
    cm.run(x)
    rep = cm.report()
    assert rep["target"] == "loihi2" and rep["cores"] == 2 == rep["core_map"]["cores_used"]
    assert rep["latency_steps"] == 2
    assert [layer["iDecay"] for layer in rep["loihi_layers"]] == [1024, 2048]  # round(4096 / tau_syn)
    tr = rep["spike_traffic"]
    # B = 2, layer 1 on one core
    assert tr["total"] == sum(tr["per_boundary"]) and tr["from_host"] == float(x.sum() / 2)


def test_compile_errors_name_layer_and_reason():
    x = _x(0)
    g = torch.Generator().manual_seed(0)
    far = round_delays(nn.Sequential(DelayedLinear(10, 4, max_delay=70, mode="random", generator=g), nk.LIF()))
    far[0].delay.data[0, 0] = 70
    with pytest.raises(CompileError, match=r"node '0' \(dense\): delays span 0\.\.70; this target supports 0\.\.62"):
        nk.compile(far, target="loihi2", example_input=x)
    soft = nn.Sequential(nn.Linear(10, 3), nk.LIF(v_reset=None))
    with pytest.raises(CompileError, match=r"node '1' \(neuron\): Lava's CUBA LIF resets v to 0.*set "
                                           r"reset_mechanism='zero' on snn.Leaky"):
        nk.compile(soft, target="loihi2", example_input=x)
    with pytest.raises(CompileError, match="Loihi inputs are binary spikes"):
        nk.compile(nn.Sequential(nn.Linear(10, 3), nk.LIF()), target="loihi2", example_input=torch.rand(4, 1, 10))
    big = nn.Sequential(nn.Linear(10, 300), nk.LIF())
    with pytest.raises(CompileError, match="model too large: needs 3 neuro-cores, the target has 2"):
        nk.compile(big, target="loihi2", example_input=x,
                   core_limits=CoreLimits(neurons_per_core=100, cores_per_chip=2))
    with pytest.raises(CompileError, match=r"loihi2: node 'mask' \(mask\): a product of two spike tensors"):
        nk.compile(_Mask(), target="loihi2", example_input=(torch.rand(4, 1, 3, 10) < 0.5).float())


class _Mask(nn.Module):
    """Spike x spike product (SDSA-style mask): Loihi synapses cannot multiply two activations."""

    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(10, 10), nn.Linear(10, 10)
        self.lq, self.lk, self.mask = nk.LIF(), nk.LIF(), nk.layers.SpikeMask()

    def forward(self, x):
        return self.mask(self.lq(self.q(x)), self.lk(self.k(x)))


def test_lowering_rejects_what_lava_cannot_represent():
    from compile.capture import capture
    from compile.passes import quantize
    from hw_targets.loihi2.lowering import lower

    x = _x(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 6, bias=False), nk.LIF(tau=2.0))
    with pytest.raises(CompileError, match=r"node '1' \(neuron\): per-neuron thresholds .* one threshold per layer"):
        lower(quantize(capture(model, x), per_channel=True))
    with pytest.raises(CompileError, match=r"node '0' \(dense\): its accumulator is requantized"):
        lower(quantize(capture(model, x), per_channel=False, acc_bits=4))
    cuba_bias = nn.Sequential(nn.Linear(10, 6), nk.CubaLIF(tau_syn=2.0, tau_mem=2.0))
    with pytest.raises(CompileError, match=r"node '0' \(dense\): a bias with a decaying synaptic current"):
        lower(quantize(capture(cuba_bias, x), per_channel=False))
    readout = nn.Sequential(nn.Linear(10, 6, bias=False), nk.LIF(tau=2.0), nn.Linear(6, 3),
                            nk.layers.LeakyIntegrator(4.0))
    with pytest.raises(CompileError, match=r"node '3' \(integrator\): integer integrator format .* = \(6, 32\); "
                                           r"Lava's LIF voltage is \(6, 24\)"):
        lower(quantize(capture(readout, x), per_channel=False))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conv_networks_equal_integer_reference_and_reload(seed, tmp_path):
    """Spike frames [T, B, C, H, W] through netx conv blocks: cm.run == integer_sim.run(latency=1); the saved file
    reloads to the same network and output; the output of a network ending in a conv layer keeps its map shape."""
    for name, build in (("conv_example", conv_example), ("conv_geometry", conv_geometry)):
        x = frames(name, seed, T=50, B=2)
        cm = nk.compile(build(seed), target="loihi2", example_input=x)
        out, ref = cm.run(x).numpy(), integer_reference(cm.graph, x, latency=1)
        np.testing.assert_array_equal(out, ref, err_msg=f"{name} seed {seed}")
        assert all(0 < s.mean() < 0.9 for s in cm.artefact.last_run.spikes[:-1]), name
        net = cm.artefact.net
        assert [layer.conv is not None for layer in net.layers] == [True, False] if name == "conv_example" else \
            [True, True, False]
        cm.save(tmp_path / "c.net")
        back = load_netx(tmp_path / "c.net")
        assert back.sizes == net.sizes and [b.conv for b in back.layers] == [a.conv for a in net.layers]
        np.testing.assert_array_equal(simulate(back, x.reshape(50, 2, -1)), cm.artefact.last_run.spikes[-1])
        if name == "conv_geometry":  # folded batch norm: a per-channel conv bias
            assert net.layers[0].bias is not None and net.layers[0].bias.shape == (4,)
    head = conv_geometry(seed)[:5]  # ends in the CUBA-LIF conv layer
    cm = nk.compile(head, target="loihi2", example_input=x)
    out = cm.run(x).numpy()
    assert out.shape == (50, 2, 6, 6, 4) and out.any()
    np.testing.assert_array_equal(out, integer_reference(cm.graph, x, latency=1))


def test_conv_refusals_name_node_and_reason():
    x = frames("conv_example", 0, T=6)
    for pool in (nk.layers.AvgPool2d(2), nk.layers.MaxPool2d(2)):
        model = nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1, bias=False), nk.LIF(), pool, nk.layers.Flatten(),
                              nn.Linear(64, 3))
        with pytest.raises(CompileError, match=r"node '2' \(pool\): lava-dl netx does not implement pool blocks "
                                               r"\(max or average\); use a strided Conv2d"):
            nk.compile(model, target="loihi2", example_input=x)
    readout = nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1, bias=False), nk.LIF(),
                            nk.layers.Conv2d(4, 2, 3, bias=False))
    with pytest.raises(CompileError, match=r"node '2' \(conv\): a readout must be a dense layer"):
        nk.compile(readout, target="loihi2", example_input=x)


def test_integrator_past_the_largest_threshold_warns():
    """A trace above 131071 << 6 makes Lava's readout block spike and reset (the reference saturates): run warns."""
    model = nn.Sequential(nn.Linear(10, 8, bias=False), nk.IF(v_threshold=0.5), nn.Linear(8, 1, bias=False),
                          nk.layers.LeakyIntegrator(4000.0))
    with torch.no_grad():
        model[0].weight.copy_(torch.linspace(0.5, 1.0, 80).reshape(8, 10))
        model[2].weight.copy_(torch.linspace(0.5, 1.0, 8).reshape(1, 8))
    x = torch.ones(300, 1, 10)
    cm = nk.compile(model, target="loihi2", example_input=x)
    assert any("may saturate at +-(2**23 - 1)" in w for w in cm.report()["warnings"])
    with pytest.warns(RuntimeWarning, match=r"readout '2' exceeded vThMant << 6 = 8388544 and reset"):
        out = cm.run(x).numpy()
    assert not np.array_equal(out, integer_reference(cm.graph, x, latency=1))
