"""The ``gpu`` target equals the eager model: QAT (QuantLIF / IntegerSpikingLayer), binary, delay and float LIF nets.

Spiking outputs of quantized / binary layers must be bit-identical; float outputs equal up to rtol 1e-5. Each
model is compiled once and run on inputs of several ``[T, B]`` shapes; the configurations saturate the integer
membrane and use small thresholds, where a float LIF stand-in would differ from the eager QuantLIF.
"""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError
from compile.capture import capture
from neurokit.models import quant_cnn
from hw_targets.gpu import TorchProgram
from neurokit.layers.quant import QuantLIF, QuantLinear

torch.set_num_threads(1)

SEEDS = (0, 1, 2)
SHAPES = ((6, 3), (11, 1))  # (T, B) of the inputs each compiled model is run on


def _inputs(feature_shape, spikes: bool, scale: float = 1.0, shapes=SHAPES):
    xs = [torch.rand(T, B, *feature_shape) for T, B in shapes]
    return [(x < 0.5).float() for x in xs] if spikes else [x * scale for x in xs]


def _check(model: nn.Module, xs, exact: bool) -> list[torch.Tensor]:
    """Compile ``model`` on ``xs[0]``; assert ``run(x) == model(x)`` for every ``x``; returns the eager outputs."""
    model.eval()
    cm = nk.compile(model, target="gpu", example_input=xs[0])
    refs = []
    for x in xs:
        with torch.no_grad():
            ref = model(x)
        got = cm.run(x)
        if exact:
            assert got.dtype == ref.dtype and torch.equal(got, ref), f"max diff {(got - ref).abs().max()}"
        else:
            torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
        refs.append(ref)
    return refs


def _spiking(refs) -> None:
    """The spike outputs are neither silent nor saturated (the test is not trivially true)."""
    rate = float(torch.cat([r.flatten() for r in refs]).mean())
    assert set(torch.cat([r.flatten() for r in refs]).unique().tolist()) <= {0.0, 1.0} and 0.0 < rate < 1.0, rate


QUANT_SNN = {
    "analog_in_6bit_membrane": ({"weight_bits": 4, "membrane_bits": 6, "v_threshold": 0.3, "tau": 3.0,
                                 "input_bits": 8}, False),
    "spike_in_16bit_membrane": ({"weight_bits": 8, "membrane_bits": 16, "v_threshold": 0.2, "tau": 5.0,
                                 "input_bits": None}, True),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("config", sorted(QUANT_SNN))
def test_quant_snn_equals_eager(seed, config):
    kwargs, spikes = QUANT_SNN[config]
    torch.manual_seed(seed)
    model = nk.models.quant_snn(16, (12, 8), 4, **kwargs)
    xs = _inputs((16,), spikes)
    _spiking(_check(model[:-1], xs, exact=True))   # the IntegerSpikingLayer stack: spikes, bit for bit
    _check(model, xs, exact=False)                 # with the QuantLinear readout (real-valued currents)


@pytest.mark.parametrize("seed", SEEDS)
def test_quant_cnn_equals_eager(seed):
    torch.manual_seed(seed)
    model = quant_cnn(weight_bits=8, membrane_bits=8)
    xs = _inputs((1, 8, 8), spikes=False, scale=3.0)
    _spiking(_check(model[:-1], xs, exact=True))
    _check(model, xs, exact=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_bare_quant_lif_equals_eager(seed):
    torch.manual_seed(seed)  # a QuantLIF outside IntegerSpikingLayer: eager passes no unit (1 per integer step)
    model = nn.Sequential(QuantLinear(10, 6, weight_bits=8), QuantLIF(tau=2.0, membrane_bits=8))
    _spiking(_check(model, _inputs((10,), spikes=False, scale=40.0), exact=True))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("membrane_bits", [None, 6])
def test_binary_mlp_equals_eager(seed, membrane_bits):
    torch.manual_seed(seed)
    if membrane_bits is None:   # float LIF neurons, spike input
        model, xs = nk.models.binary_mlp(16, (12, 10), 4, v_threshold=0.1), _inputs((16,), spikes=True)
    else:                       # QuantLIF neurons (IntegerSpikingLayer), 4-bit analog input
        model = nk.models.binary_mlp(16, (12, 10), 4, membrane_bits=membrane_bits, input_bits=4, v_threshold=0.1)
        xs = _inputs((16,), spikes=False)
    _spiking(_check(model[:-1], xs, exact=True))
    _check(model, xs, exact=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_cnn_equals_eager(seed):
    torch.manual_seed(seed)
    model = nk.models.binary_cnn(1, 4, image_size=8, preset="tiny")
    _check(model, _inputs((1, 8, 8), spikes=True), exact=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_delay_snn_equals_eager(seed):
    torch.manual_seed(seed)
    net = nk.models.round_delays(nk.models.delay_snn(4, 3, hidden=10, layers=2, max_delay=4, seed=seed))
    with torch.no_grad():   # stronger weights and non-trivial running statistics, so both layers spike
        for block in net.hidden:
            block[0].weight.mul_(6.0)
            block[1].running_mean.uniform_(-0.2, 0.2)
            block[1].running_var.uniform_(0.5, 1.5)
    xs = _inputs((4,), spikes=True, shapes=((12, 3), (20, 1)))   # T > 2 * max_delay
    _spiking(_check(net.hidden, xs, exact=False))   # (DelayedLinear, BatchNorm1d, LIF, Dropout) x 2
    _check(net, xs, exact=False)                     # + DelayedLinear and the LeakyIntegrator readout


@pytest.mark.parametrize("seed", SEEDS)
def test_float_lif_mlp_and_cnn_equal_eager_on_fused_neurons(seed):
    torch.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(8, 12), nk.LIF(tau=2.0, v_threshold=0.5), nn.Linear(12, 6),
                        nk.LIF(tau=3.0, v_threshold=0.2, v_reset=None), nn.Linear(6, 3))
    cnn = nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1), nk.layers.BatchNorm2d(4), nk.LIF(v_threshold=0.5),
                        nk.layers.MaxPool2d(2), nk.layers.Conv2d(4, 6, 3), nk.LIF(tau=2.0, v_threshold=0.1),
                        nk.layers.Flatten(), nn.Linear(6 * 2 * 2, 3))
    xs = _inputs((8,), spikes=False, scale=4.0)
    _spiking(_check(mlp[:-1], xs, exact=False))
    _check(mlp, xs, exact=False)
    images = _inputs((1, 8, 8), spikes=False, scale=4.0)
    _spiking(_check(cnn[:-1], images, exact=False))
    _check(cnn, images, exact=False)
    neurons = TorchProgram(capture(cnn, torch.rand(2, 1, 1, 8, 8)), torch.device("cpu")).neurons.values()
    assert all(type(m) is nk.LIF and m.backend == "auto" for m in neurons)


def test_program_runs_quant_lif_for_qat_nodes_only():
    model = nk.models.quant_snn(16, (8,), 4)
    g = capture(model, torch.rand(3, 2, 16))
    node = g.node("0.neuron")
    np.testing.assert_array_equal(node.unit, model[0].synapse.output_unit().detach().double().numpy())
    prog = TorchProgram(g, torch.device("cpu"))
    assert [type(m) for m in prog.neurons.values()] == [QuantLIF]
    assert prog.neurons["0_neuron"].membrane_bits == 16 and prog.neurons["0_neuron"].decay == 2048


def test_bad_input_gives_clear_errors():
    model = nk.models.quant_snn(16, (8,), 4)
    x = torch.rand(3, 2, 16)
    cm = nk.compile(model, target="gpu", example_input=x)
    with pytest.raises(ValueError, match=r"\[T, B, 16\]"):
        cm.run(torch.rand(3, 2, 15))
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['weight_bits'\]; its options: device"):
        nk.compile(model, target="gpu", example_input=x, weight_bits=4)
    g = capture(model, x)
    g.node("0.neuron").unit = None
    with pytest.raises(CompileError, match=r"'0\.neuron'.*QAT neuron.*unit"):
        TorchProgram(g, torch.device("cpu"))
