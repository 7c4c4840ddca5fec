"""Sigma-delta networks on ``onnx_int``: onnxruntime equals the integer reference (:mod:`compile.integer_sim`) bit for
bit, every graded message of every sigma-delta unit at every step, on ``nk.models.sdnn_cnn`` (a few training steps
on digits frames) and on dense SDNN MLPs (cumulative error, identity activation, weight-exponent mode, unrolled)."""
import numpy as np
import onnxruntime as ort
import pytest
import torch
from tests.helpers.onnx_checks import float_ops
from torch import nn

import neurokit as nk
from compile import integer_sim
from hw_targets.onnx_lower import lower

torch.set_num_threads(1)


def _digits_frames(T: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` digits test images as static frames ``[T, n, 1, 8, 8]`` (values in [0, 1]) and their labels."""
    train, _ = nk.data.digits(T=1, encoding="direct", flatten=False)
    x = torch.stack([train[i][0][0] for i in range(n)])
    y = torch.tensor([int(train[i][1]) for i in range(n)])
    return x.unsqueeze(0).expand(T, *x.shape).contiguous(), y


def _tiny_trained_cnn() -> nn.Module:
    """sdnn_cnn's ANN trained for a few Adam steps on digits, converted (threshold 1/16, lava-dl scale 64)."""
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2, padding=1),
                        nn.ReLU(), nn.Flatten(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
    x, y = _digits_frames(1, 128)
    opt = torch.optim.Adam(ann.parameters(), lr=2e-2)
    for _ in range(20):
        loss = nn.functional.cross_entropy(ann(x[0]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nk.models.ann_to_sdnn(ann, threshold=1 / 16, scale=64).eval()


def _ort(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _assert_every_message_equal(cm, x: torch.Tensor) -> dict:
    """onnxruntime == integer reference at the output and, re-lowered with each sigma-delta node as the output, at
    every graded message of every unit. Returns the reference's record."""
    out, rec = integer_sim.run(cm.graph, x, record=True)
    np.testing.assert_array_equal(cm.run(x).numpy(), out)
    units = [n.name for n in cm.graph if n.op == "sigma_delta"]
    for name in units:
        g = cm.graph.copy()
        g.output = name
        (y,) = _ort(lower(g)).run(["y"], {"x": x.numpy().astype(np.float32)})
        np.testing.assert_array_equal(y.astype(np.int64), rec[name], err_msg=name)
        assert np.count_nonzero(rec[name]) > 0 and np.abs(rec[name]).max() > 127, name   # graded, not spikes
    return rec


def test_trained_sdnn_cnn_on_digits_matches_the_integer_reference_message_by_message():
    m = _tiny_trained_cnn()
    x, labels = _digits_frames(5, 6)
    cm = nk.compile(m, target="onnx_int", example_input=x)
    rec = _assert_every_message_equal(cm, x)
    assert float_ops(cm.artefact.model) == []
    with torch.no_grad():
        ref = m(x)
    y = rec[cm.graph.output] * cm.graph.scales[cm.graph.output]
    assert np.abs(y - ref.numpy()).max() < 0.05 * float(ref.abs().max())       # integer SDNN tracks the float one
    assert (y[-1].argmax(-1) == ref[-1].argmax(-1).numpy()).mean() >= 5 / 6


@pytest.mark.parametrize("cum_error,activation,exp", [(True, "relu", False), (False, "identity", True)])
def test_dense_sdnn_mlp_matches_the_integer_reference(cum_error, activation, exp):
    torch.manual_seed(3)
    m = nn.Sequential(nk.SigmaDelta(1 / 32, activation="identity", sigma=False, scale=64, cum_error=cum_error),
                      nn.Linear(12, 16, bias=False),
                      nk.SigmaDelta(1 / 64, activation=activation, cum_error=cum_error, scale=64,
                                    bias=torch.randn(16) * 0.1),
                      nn.Linear(16, 4), nk.neurons.Sigma(torch.randn(4) * 0.1)).eval()
    x = torch.randn(9, 3, 12).cumsum(0) * 0.3                                   # a slowly varying signed signal
    cm = nk.compile(m, target="onnx_int", example_input=x, sdnn_weight_exp=exp)
    _assert_every_message_equal(cm, x)
    x2 = torch.randn(4, 2, 12)                                                  # another T and B, same model
    np.testing.assert_array_equal(cm.run(x2).numpy(), integer_sim.run(cm.graph, x2))
    un = nk.compile(m, target="onnx_int", example_input=x, time_loop="unrolled", sdnn_weight_exp=exp)
    np.testing.assert_array_equal(un.run(x).numpy(), cm.run(x).numpy())


def test_payload_bits_option_is_checked_and_reaches_the_units():
    m = nn.Sequential(nk.SigmaDelta(0.0, activation="identity", sigma=False, scale=None), nn.Linear(3, 2),
                      nk.neurons.Sigma())
    x = torch.rand(3, 1, 3)
    cm = nk.compile(m, target="onnx_int", example_input=x, payload_bits=20)
    assert cm.graph.node("0").integer.payload_bits == 20
    with pytest.raises(ValueError, match=r"onnx_int: payload_bits must be an int in \[2, 32\].*got 40"):
        nk.compile(m, target="onnx_int", example_input=x, payload_bits=40)
