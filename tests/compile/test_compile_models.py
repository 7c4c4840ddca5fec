"""The real model builders compile: ``nk.models.delay_snn`` (input checks in forward, DelayedLinear -> BN -> LIF,
LeakyIntegrator readout) on gpu (= eager), onnx_int (= integer simulator, bit for bit; integer accuracy within
1 point of float after a short training), loihi2 (= integer simulator with latency) and nir (= eager, delays
decomposed into Delay -> Linear branches); ``spikformer("tiny")`` gives one CompileError naming every reason."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError, integer_sim
from compile.capture import capture
from compile.integer_neuron import IntIntegratorParams, integer_leaky_run

torch.set_num_threads(1)


def delay_net(seed=0):
    """The preset delay SNN, rounded (the deployable form), in eval mode."""
    torch.manual_seed(seed)
    m = nk.models.delay_snn(in_features=2, num_classes=4, hidden=64, layers=1, max_delay=12, dropout=0.0,
                            readout_tau=20.0, sigma_final=0.1, anneal_fraction=0.5, seed=seed)
    return nk.models.round_delays(m).eval()


@pytest.fixture(scope="module")
def trained():
    train_ds, test_ds = nk.data.delay_task(n_train=256, n_test=128, T=40, n_classes=4, gap_step=3)
    torch.manual_seed(5)  # seeds 0..5 all give |float - integer| <= 0.8 points; 5 learns most in 2 epochs (44.5 %)
    m = nk.models.delay_snn(in_features=2, num_classes=4, hidden=64, layers=1, max_delay=12, dropout=0.0,
                            readout_tau=20.0, sigma_final=0.1, anneal_fraction=0.5, seed=5)
    nk.train(m, train_ds, 2, lr=5e-3, weight_decay=1e-5, lr_scale={"position": 20.0}, batch_size=8,
             progress=False)
    x = torch.stack([test_ds[i][0] for i in range(len(test_ds))], 1)        # [T, N, 2]
    y = torch.tensor([int(test_ds[i][1]) for i in range(len(test_ds))])
    return nk.models.round_delays(m).eval(), x, y


def spikes(T, B, seed, p=0.15):
    return (torch.rand(T, B, 2, generator=torch.Generator().manual_seed(seed)) < p).float()


def test_capture_runs_forward_input_checks_on_the_example():
    m = delay_net()
    g = capture(m, spikes(20, 2, 0))
    assert [n.op for n in g] == ["input", "dense", "batchnorm", "neuron", "dense", "integrator"]
    assert g.node("readout").tau == 20.0 and g.node("hidden.0.0").delay.dtype == np.int64
    with pytest.raises(ValueError, match=r"DelaySNN input x must have shape \[T, B, 2\], got \(20, 2, 3\)"):
        capture(m, torch.rand(20, 2, 3))                 # the model's own eager error, raised on the example
    with pytest.raises(ValueError, match=r"\[T, B, 2\]"):
        m(torch.rand(20, 2, 3))


def test_integer_leaky_integrator_definition():
    p = IntIntegratorParams(decay=205, act_shift=6)      # tau = 20
    a = np.array([[[100]], [[-50]], [[0]], [[7]]])
    v, expect = 0, []
    for t in range(4):
        pv = v * (4096 - 205)
        v = (abs(pv) >> 12) * (1 if pv >= 0 else -1) + int(a[t, 0, 0]) * 64
        expect.append(v)
    assert integer_leaky_run(a, p).ravel().tolist() == expect
    sat = integer_leaky_run(np.full((3, 1, 1), 2 ** 30), IntIntegratorParams(0, 2, bits=32)).ravel()
    assert sat.tolist() == [2 ** 31 - 1] * 3


@pytest.mark.parametrize("which", ["random", "trained"])
def test_delay_snn_gpu_equals_eager(which, trained):
    m, x = (delay_net(), spikes(40, 4, 1)) if which == "random" else trained[:2]
    x = x[:, :16]
    cm = nk.compile(m, target="gpu", example_input=x)
    with torch.no_grad():
        assert torch.allclose(cm.run(x), m(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("which", ["random", "trained"])
def test_delay_snn_onnx_bit_identical_to_integer_sim(which, trained):
    m = delay_net() if which == "random" else trained[0]
    cm = nk.compile(m, target="onnx_int", example_input=spikes(40, 2, 0))
    assert cm.report()["onnx_ops"]["Loop"] == 1
    for seed, T, B in [(1, 40, 1), (2, 40, 5), (3, 17, 16)]:
        x = spikes(T, B, seed)
        assert np.array_equal(cm.run(x).numpy(), integer_sim.run(cm.graph, x))
    unrolled = nk.compile(m, target="onnx_int", example_input=spikes(40, 2, 0), time_loop="unrolled")
    x = spikes(40, 3, 4)
    assert np.array_equal(unrolled.run(x).numpy(), integer_sim.run(unrolled.graph, x))


def test_delay_snn_integer_accuracy_within_one_point_of_float(trained):
    m, x, y = trained
    with torch.no_grad():
        rate = m.hidden[0][2](m.hidden[0][1](m.hidden[0][0](x))).mean().item()
        float_pred = m(x).sum(0).argmax(-1)
    assert rate > 0.001                                   # the hidden layer actually spikes
    cm = nk.compile(m, target="onnx_int", example_input=x)
    out = cm.run(x).numpy()
    assert np.array_equal(out, integer_sim.run(cm.graph, x))
    unit = np.asarray(cm.graph.scales[cm.graph.output])  # real value of one unit of the readout trace, [4]
    int_pred = torch.from_numpy((out * unit).sum(0).argmax(-1))
    acc_f, acc_i = (float_pred == y).float().mean().item(), (int_pred == y).float().mean().item()
    print(f"delay_snn test accuracy: float {100 * acc_f:.2f} %, integer {100 * acc_i:.2f} %")
    assert abs(acc_f - acc_i) <= 0.01 and len(set(float_pred.tolist())) > 1   # not a constant classifier


def test_delay_snn_on_loihi2_and_nir(trained):
    """loihi2 lowers the integrator readout (== integer reference, latency=1); NIR exports the delays (Delay ->
    Linear per delay value) and the LI readout, and its re-import equals eager (rtol 1e-5), trained model included."""
    x = spikes(20, 2, 0)
    cm = nk.compile(delay_net(), target="loihi2", example_input=x)
    assert np.array_equal(cm.run(x).numpy(), integer_sim.run(cm.graph, x, latency=1))
    for model, xs in ((delay_net(), x), (trained[0], trained[1])):
        cm = nk.compile(model, target="nir", example_input=xs)
        assert "Delay" in cm.report()["nir_nodes"]
        with torch.no_grad():
            torch.testing.assert_close(cm.run(xs), model(xs), rtol=1e-5, atol=1e-6)
    plain = nn.Sequential(nn.Linear(2, 4), nk.layers.LeakyIntegrator(5.0))
    assert type(nk.compile(plain, target="nir", example_input=x).artefact.graph.nodes["1"]).__name__ == "LI"


def test_spikformer_tiny_real_input_on_onnx_int_and_loihi2_reasons():
    """Real-valued frames (int8-quantized input) compile to onnx_int, equal to the integer simulator; loihi2 lists
    every node it cannot host."""
    x = torch.rand(4, 2, 1, 8, 8)
    cm = nk.compile(nk.models.spikformer("tiny").eval(), target="onnx_int", example_input=x)
    assert np.array_equal(cm.run(x).numpy(), integer_sim.run(cm.graph, x))
    with pytest.raises(CompileError) as err:
        nk.compile(nk.models.spikformer("tiny"), target="loihi2", example_input=(x < 0.5).float())
    msg = str(err.value)
    assert "node 'blocks.0.attn.kv_matmul' (matmul)" in msg and "product of two spike tensors" in msg
    assert "node 'transpose' (permute)" in msg and "node 'mean' (mean)" in msg
