"""Capture (model -> IR), the gpu target (IR run as torch == eager), compile errors and report()."""
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError
from compile import capture as cap
from compile.capture import capture
from neurokit.layers.delays import DelayedLinear
from neurokit.models.binary import binary_mlp

torch.set_num_threads(1)


class Skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.n1 = nn.Linear(6, 6), nk.LIF(tau=2.0)
        self.fc2, self.n2 = nn.Linear(6, 6), nk.IF()
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        a = self.n1(self.fc1(x))
        return self.n2(self.drop(self.fc2(a))) + a


def models():
    g = torch.Generator().manual_seed(0)
    return {
        "mlp": (nn.Sequential(nn.Linear(5, 8), nk.LIF(tau=2.0), nn.Linear(8, 3), nk.PLIF(init_tau=3.0),
                              nn.Linear(3, 3), nk.CubaLIF(tau_syn=2.0, tau_mem=3.0, v_reset=None)),
                torch.rand(6, 2, 5) * 2),
        "cnn": (nn.Sequential(nk.layers.Conv2d(2, 4, 3, padding=1), nk.layers.BatchNorm2d(4), nk.LIF(),
                              nk.layers.AvgPool2d(2), nk.layers.Conv2d(4, 4, 3, stride=2, dilation=1, groups=2),
                              nk.IF(v_reset=None), nk.layers.MaxPool2d(1), nk.layers.Flatten(), nn.Linear(4, 2)),
                torch.rand(4, 3, 2, 8, 8) * 2),
        "delay": (nn.Sequential(DelayedLinear(4, 6, max_delay=3, mode="learned", generator=g), nk.LIF(),
                                DelayedLinear(6, 2, max_delay=2, mode="random", generator=g), nk.LIF()),
                  (torch.rand(7, 2, 4) < 0.5).float()),
        "skip": (Skip(), torch.rand(5, 2, 6) * 3),
        "binary": (binary_mlp(8, (6,), 3), (torch.rand(4, 2, 8) < 0.5).float()),
    }


def test_capture_ops_and_shapes():
    model, x = models()["cnn"]
    g = capture(model, x)
    assert [n.op for n in g] == ["input", "conv", "batchnorm", "neuron", "pool", "conv", "neuron", "pool",
                                 "flatten", "dense"]
    assert [n.shape for n in g][:5] == [(2, 8, 8), (4, 8, 8), (4, 8, 8), (4, 8, 8), (4, 4, 4)]
    assert g.node("4").stride == (2, 2) and g.node("4").groups == 2 and g.node("5").v_reset is None
    skip = capture(*models()["skip"])
    assert [n.op for n in skip] == ["input", "dense", "neuron", "dense", "neuron", "add"]  # dropout removed
    assert skip.node("add").inputs == ("n2", "n1")


@pytest.mark.parametrize("name", ["mlp", "cnn", "delay", "skip", "binary"])
def test_gpu_target_equals_eager(name):
    torch.manual_seed(0)
    model, x = models()[name]
    model.eval()
    cm = nk.compile(model, target="gpu", example_input=x)
    for xt in (x, x.flip(0)):
        with torch.no_grad():
            ref = model(xt)
        torch.testing.assert_close(cm.run(xt), ref, rtol=1e-5, atol=1e-5)


def test_compile_does_not_modify_model():
    model, x = models()["delay"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    nk.compile(model, target="onnx_int", example_input=x)
    assert model.training and not model[0].is_rounded
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_unsupported_module_names_path_and_op():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nk.LIF(), nn.ReLU()))
    with pytest.raises(CompileError, match=r"module '1\.1' \(ReLU\): unsupported op"):
        capture(model, torch.rand(3, 2, 4))
    alif = nn.Sequential(nn.Linear(4, 4), nk.ALIF())
    with pytest.raises(CompileError, match=r"node '1' \(neuron, kind 'alif'\): the adaptive threshold"):
        nk.compile(alif, target="onnx_int", example_input=torch.rand(3, 2, 4))

    class Mul(nn.Module):
        def forward(self, x):
            return x * 2.0

    with pytest.raises(CompileError, match=r"mul"):
        capture(Mul(), torch.rand(3, 2, 4))


def test_bad_target_and_bad_example_input():
    model, x = models()["mlp"]
    with pytest.raises(ValueError, match=r"unknown target 'tpu'.*gpu.*onnx_int"):
        nk.compile(model, target="tpu", example_input=x)
    with pytest.raises(ValueError, match=r"rank >= 3.*\(6, 5\)"):
        nk.compile(model, target="gpu", example_input=torch.rand(6, 5))
    with pytest.raises(ValueError, match=r"\(6, 2, 1, 5\) does not fit the model at '0'"):
        nk.compile(nn.Sequential(nk.layers.Conv2d(1, 2, 3), nk.LIF()), target="gpu",
                   example_input=torch.rand(6, 2, 1, 5))
    with pytest.raises(ValueError, match="torch.Tensor"):
        nk.compile(model, target="gpu", example_input=[[1.0]])
    with pytest.raises(ValueError, match="example_input"):
        nk.compile(model, target="gpu")
    cm = nk.compile(model, target="gpu", example_input=x)
    with pytest.raises(ValueError, match=r"\[T, B, 5\]"):
        cm.run(torch.rand(6, 2, 4))


def test_registry_adds_targets_by_name():
    from hw_targets import registry

    class Echo:
        name, supports = "echo", cap.ir  # any object; only prepare/lower are called

        def prepare(self, graph, _example_input):
            return graph

        def lower(self, _graph):
            return self

        def run(self, x):
            return x

        def report(self):
            return {"echo": True}

    registry.register("echo", Echo())
    try:
        cm = nk.compile(models()["mlp"][0], target="echo", example_input=torch.rand(2, 1, 5))
        assert cm.report()["echo"] and cm.report()["params"] == 8 * 5 + 8 + 3 * 8 + 3 + 3 * 3 + 3
    finally:
        del registry.TARGETS["echo"]


def test_report_ops_params_and_bit_widths():
    model, x = models()["cnn"]
    rep = nk.compile(model, target="onnx_int", example_input=x, weight_bits=4).report()
    layers = {r["name"]: r for r in rep["layers"]}
    assert layers["0"]["ops"] == 4 * 8 * 8 * (2 * 3 * 3) and layers["0"]["weight_bits"] == 4
    assert layers["8"]["params"] == 2 * 4 + 2 and "1" not in layers  # batch norm folded
    assert set(rep["weight_bytes_by_bits"]) == {4}
    assert rep["weight_bytes_by_bits"][4] == (4 * 2 * 9 + 4 * 2 * 9 + 8) / 2 + 4 * (4 + 4 + 2)  # int32 biases
    assert rep["target"] == "onnx_int" and rep["onnx_ops"]["Loop"] == 1 and isinstance(rep["warnings"], list)


def test_attention_products_give_a_clear_compile_error():
    from neurokit.layers.attention import SpikeMatMul

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.mm = nn.Linear(4, 4), nn.Linear(4, 4), SpikeMatMul(0.125)

        def forward(self, x):
            return self.mm(self.q(x), self.k(x))

    with pytest.raises(CompileError, match=r"node 'mm' \(matmul\): a product of two activation tensors needs "
                                           r"integer inputs with one scale each"):
        nk.compile(Attn(), target="onnx_int", example_input=torch.rand(3, 2, 4, 4))


def test_capture_leaves_numba_kernels_usable_afterwards():
    """Regression: fx must not patch ``math`` while the leaves run on the example (a Numba kernel compiled inside
    that window broke every later kernel using ``abs``). Fresh process, so Numba's registries start empty."""
    import subprocess
    import sys

    code = ("import torch, neurokit as nk\n"
            "from torch import nn\n"
            "m = nn.Sequential(nn.Linear(4, 3), nk.LIF())\n"
            "nk.compile(m, target='gpu', example_input=torch.rand(3, 2, 4))\n"
            "x = torch.randn(4, 2, 8, requires_grad=True)\n"
            "nk.LIF(surrogate='fast_sigmoid')(x).sum().backward()\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
