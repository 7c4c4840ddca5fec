"""onnx_int target: onnxruntime output bit-identical to the integer reference simulator; integer-only graph;
save/load round trip; clear errors for bad input and corrupt files."""
import os

import numpy as np
import onnx
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim
from hw_targets import load
from compile.ir import Graph
from neurokit.layers.delays import DelayedLinear
from tests.helpers.onnx_checks import float_ops

torch.set_num_threads(1)


class Residual(nn.Module):
    """Spiking residual block: lif(fc2(lif(fc1(x)))) + lif(fc1(x))."""

    def __init__(self, n):
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(n, n), nk.LIF(tau=2.0, v_threshold=0.5)
        self.fc2, self.lif2 = nn.Linear(n, n), nk.IF(v_threshold=0.5)
        self.out, self.lif3 = nn.Linear(n, 3), nk.LIF(tau=4.0, decay_input=False, v_reset=None, v_threshold=0.5)

    def forward(self, x):
        a = self.lif1(self.fc1(x))
        return self.lif3(self.out(self.lif2(self.fc2(a)) + a))


def mlp(i, h, o, neuron):
    return nn.Sequential(nn.Linear(i, h), neuron(), nn.Linear(h, o), nk.LIF(tau=3.0, v_threshold=0.5))


def cnn(c, h):
    return nn.Sequential(nk.layers.Conv2d(c, 4, 3, padding=1), nk.layers.BatchNorm2d(4), nk.LIF(v_threshold=0.5),
                         nk.layers.AvgPool2d(2), nk.layers.Conv2d(4, 6, 3, padding=1, stride=1, bias=False),
                         nk.IF(v_threshold=0.5), nk.layers.MaxPool2d(2), nk.layers.Flatten(),
                         nn.Linear(6 * (h // 4) ** 2, 5))


def delay_snn(i, o, seed):
    g = torch.Generator().manual_seed(seed)
    return nn.Sequential(DelayedLinear(i, 12, max_delay=5, mode="random", generator=g), nk.LIF(v_threshold=0.3),
                         DelayedLinear(12, o, max_delay=3, mode="learned", generator=g),
                         nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3))


def binary_mlp(i, o):
    return nn.Sequential(nk.layers.BinaryLinear(i, 16), nk.LIF(v_threshold=0.5), nk.layers.BinaryLinear(16, o),
                         nk.IF(v_threshold=0.5))


def _randomise_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.bias.data.uniform_(-0.1, 0.3, generator=g)
    return model


def gain(model, g=3.0):
    """Scale every synapse so that the small random nets are active."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, DelayedLinear)):
                m.weight.mul_(g)
            elif hasattr(m, "alpha"):
                m.alpha.mul_(g)
    return model


def quant_snn_case(s, T, B):
    from neurokit.models.binary import quant_snn

    return quant_snn(6, (10,), 3, weight_bits=(8, 4, 2)[s % 3], membrane_bits=(16, 10, 8)[s % 3], input_bits=4,
                     v_threshold=0.5), torch.rand(T, B, 6)


def quant_cnn_case(s, T, B):
    from neurokit.models import quant_cnn

    return quant_cnn(weight_bits=(8, 4)[s % 2], membrane_bits=(16, 8)[s % 2]), (torch.rand(T, B, 1, 8, 8) < 0.5).float()


CASES = {
    "quant_snn": quant_snn_case,
    "quant_cnn": quant_cnn_case,
    "mlp_lif_real": lambda _s, T, B: (mlp(7, 10, 4, lambda: nk.LIF(tau=2.0)), torch.rand(T, B, 7) * 3),
    "mlp_if_spikes": lambda _s, T, B: (mlp(9, 8, 3, nk.IF), (torch.rand(T, B, 9) < 0.4).float()),
    "mlp_cuba_soft": lambda _s, T, B: (mlp(6, 8, 3, lambda: nk.CubaLIF(tau_syn=3.0, v_reset=None, v_threshold=0.4)),
                                      torch.randn(T, B, 6) * 2),
    "cnn": lambda s, T, B: (_randomise_bn(cnn(2, 8), s), torch.rand(T, B, 2, 8, 8) * 2),
    "delay_snn": lambda s, T, B: (delay_snn(5, 3, s), (torch.rand(T, B, 5) < 0.5).float()),
    "residual": lambda _s, T, B: (Residual(8), (torch.rand(T, B, 8) < 0.5).float()),
    "binary_mlp": lambda _s, T, B: (binary_mlp(10, 4), (torch.rand(T, B, 10) < 0.5).float()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnxruntime_bit_identical_to_integer_sim(case):
    """Many seeds and shapes; the per-case total activity is checked so the comparison is not vacuous."""
    active = 0
    for seed in range(6):
        torch.manual_seed(seed)
        T, B = 3 + seed, 1 + seed % 3
        model, x = CASES[case](seed, T, B)
        model = gain(model)
        cm = nk.compile(model, target="onnx_int", example_input=x, weight_bits=(8, 4, 2)[seed % 3] if
                        case != "binary_mlp" else 8)
        for trial in range(2):
            xt = x if trial == 0 else CASES[case](seed, T + 2, B + 1)[1]
            got = cm.run(xt).numpy()
            ref = integer_sim.run(cm.graph, xt)
            assert got.shape == ref.shape == tuple(xt.shape[:2]) + cm.graph.node(cm.graph.output).shape
            np.testing.assert_array_equal(got, ref)
            active += int(np.abs(ref).sum())
    assert active > 0, f"{case}: no activity at the output over all seeds"


def test_binary_mlp_uses_one_bit_weights():
    torch.manual_seed(0)
    x = (torch.rand(4, 2, 10) < 0.5).float()
    cm = nk.compile(binary_mlp(10, 4), target="onnx_int", example_input=x)
    assert [n.quant.bits for n in cm.graph if n.op == "dense"] == [1, 1]
    assert set(cm.report()["weight_bytes_by_bits"]) == {1}


def test_loop_and_unrolled_time_loops_agree():
    torch.manual_seed(1)
    model, x = CASES["delay_snn"](1, 6, 2)
    a = nk.compile(model, target="onnx_int", example_input=x, time_loop="loop")
    b = nk.compile(model, target="onnx_int", example_input=x, time_loop="unrolled")
    assert torch.equal(a.run(x), b.run(x))
    assert a.report()["onnx_ops"]["Loop"] == 1 and "Loop" not in b.report()["onnx_ops"]


@pytest.mark.parametrize("case", ["cnn", "delay_snn", "mlp_lif_real", "residual"])
def test_no_float_arithmetic_on_spike_path(case):
    torch.manual_seed(0)
    model, x = CASES[case](0, 4, 2)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    onnx.checker.check_model(cm.artefact.model, full_check=True)
    assert cm.artefact.model.opset_import[0].version >= 17
    assert float_ops(cm.artefact.model) == []
    ops = cm.report()["onnx_ops"]
    assert ("MatMulInteger" in ops or "ConvInteger" in ops) and "MatMul" not in ops and "Conv" not in ops


def test_float_op_walker_catches_float_arithmetic():
    """The walker is not vacuous: a float Mul on the path is reported."""
    torch.manual_seed(0)
    model, x = CASES["mlp_if_spikes"](0, 4, 2)
    m = nk.compile(model, target="onnx_int", example_input=x).artefact.model
    m.graph.node.append(onnx.helper.make_node("Mul", ["x", "x"], ["x_sq"]))
    assert any(s.startswith("Mul(") for s in float_ops(m))


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(3)
    model, x = CASES["cnn"](3, 4, 2)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    path = tmp_path / "net.onnx"
    cm.save(path)
    assert path.is_file() and not [p for p in os.listdir(tmp_path) if p.startswith(".tmp_")]
    loaded = load(path)
    x2 = CASES["cnn"](3, 6, 3)[1]
    assert torch.equal(loaded.run(x2), cm.run(x2))
    np.testing.assert_array_equal(loaded.run(x2).numpy(), integer_sim.run(cm.graph, x2))


def test_corrupt_or_missing_onnx_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        load(bad)
    torch.manual_seed(0)
    model, x = CASES["mlp_if_spikes"](0, 3, 1)
    good = tmp_path / "good.onnx"
    nk.compile(model, target="onnx_int", example_input=x).save(good)
    data = good.read_bytes()
    truncated = tmp_path / "trunc.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        load(truncated)
    with pytest.raises(ValueError, match="no file"):
        load(tmp_path / "missing.onnx")


def test_run_rejects_wrong_shapes_and_non_spike_input():
    torch.manual_seed(0)
    model, x = CASES["mlp_if_spikes"](0, 3, 2)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    with pytest.raises(ValueError, match=r"\[T, B, 9\]"):
        cm.run(torch.rand(3, 2, 8))
    with pytest.raises(ValueError, match="spike"):
        cm.artefact.run(torch.rand(3, 2, 9) + 0.1)


def test_bad_target_options_and_unsupported_graphs():
    torch.manual_seed(0)
    model, x = CASES["mlp_if_spikes"](0, 3, 2)
    with pytest.raises(ValueError, match="weight_bits"):
        nk.compile(model, target="onnx_int", example_input=x, weight_bits=12)
    with pytest.raises(ValueError, match="time_loop"):
        nk.compile(model, target="onnx_int", example_input=x, time_loop="scan")
    snn_reset = nn.Sequential(nn.Linear(9, 3), nk.LIF(v_reset=-0.5))
    with pytest.raises(CompileError, match="'1'.*v_reset"):
        nk.compile(snn_reset, target="onnx_int", example_input=x)
    long_delay = nn.Sequential(DelayedLinear(9, 3, max_delay=300, mode="random"), nk.LIF())
    with pytest.raises(CompileError, match="delays span"):
        nk.compile(long_delay, target="onnx_int", example_input=x)
    assert isinstance(nk.compile(model, target="onnx_int", example_input=x).graph, Graph)


def test_qat_accumulator_floor_shift_bit_identical():
    """QuantLIF with a narrow membrane needs an accumulator shift (floor): exercised and bit-exact."""
    from neurokit.models.binary import quant_snn

    active = 0
    for seed in range(3):
        torch.manual_seed(seed)
        model = quant_snn(12, (16,), 3, weight_bits=8, membrane_bits=8, input_bits=None, v_threshold=1.0)
        x = (torch.rand(6, 3, 12) < 0.6).float()
        cm = nk.compile(model, target="onnx_int", example_input=x)
        rq = cm.graph.node("0.synapse").quant.requant
        assert rq is not None and rq.floor and rq.shift > 0
        ref = integer_sim.run(cm.graph, x)
        np.testing.assert_array_equal(cm.run(x).numpy(), ref)
        active += int(integer_sim.run(cm.graph, x, record=True)[1]["0.neuron"].sum())
    assert active > 0
