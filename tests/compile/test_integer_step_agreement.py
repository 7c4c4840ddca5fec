"""One integer step: QuantLIF, integer_sim, the ONNX program (onnxruntime) and the Loihi simulator agree bit for bit
on random integer networks, and every one of them runs ``neurokit.integer``'s CUBA-LIF step."""
import numpy as np
import pytest
import torch
from torch import nn

import neurokit.integer as integer
from compile import integer_sim, ir
from hw_targets.loihi2.lowering import lower as loihi_lower
from hw_targets.loihi2.simulator import simulate
import json

import onnx

from hw_targets.onnx_int import OnnxProgram
from hw_targets.onnx_lower import lower as onnx_lower
from hw_targets.onnx_sym import Sym
from neurokit.layers.quant import QuantLIF

T, B = 8, 2


def random_network(seed: int):
    """Integer weights in [-4, 8] (no all-zero row set), one decay and one threshold per layer (Loihi's format)."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(3, 7))] + [int(rng.integers(2, 6)) for _ in range(int(rng.integers(1, 3)) + 1)]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.integers(-4, 9, size=(n_out, n_in))
        w[0, 0] = w[0, 0] or 5                                   # netx cannot encode an all-zero matrix
        tau = float(rng.choice([1.0, 1.5, 2.0, 3.0, 5.0, 8.0, np.inf]))
        layers.append((w.astype(np.int64), tau, int(rng.integers(1, 12))))
    x = (rng.random((T, B, sizes[0])) < 0.6).astype(np.float32)
    return layers, x


def graph_of(layers, n_in: int) -> ir.Graph:
    """The quantized IR of the network in Lava's format (act_shift = vth_shift = 6, 24-bit u/v)."""
    nodes = [ir.Input("input", (), (n_in,), spikes=True, scale=1.0)]
    for i, (w, tau, vth) in enumerate(layers):
        bound = np.maximum(np.clip(w, 0, None).sum(1), np.clip(-w, 0, None).sum(1))
        q = ir.QuantSynapse(8, w, np.ones(len(w)), 1.0, None, None, np.ones(len(w)), 1, bound)
        nodes.append(ir.Dense(f"fc{i}", (nodes[-1].name,), (len(w),), weight=w.astype(np.float32), quant=q))
        p = integer.IntNeuronParams(integer.DECAY_UNITY, integer.decay_from_tau(tau), np.full(len(w), vth))
        nodes.append(ir.Neuron(f"lif{i}", (f"fc{i}",), (len(w),), tau=tau, integer=p))
    g = ir.Graph(nodes)
    g.scales = {n.name: 1.0 for n in g}
    return g


def eager(layers) -> nn.Sequential:
    """The same network as trainable modules: integer-weight Linear + QuantLIF (24-bit membrane, input << 6)."""
    mods = []
    for w, tau, vth in layers:
        fc = nn.Linear(w.shape[1], w.shape[0], bias=False)
        fc.weight.data = torch.as_tensor(w, dtype=torch.float32)
        mods += [fc, QuantLIF(tau=tau, v_threshold=float(vth), membrane_bits=24, input_shift=6)]
    return nn.Sequential(*mods).eval()


def with_input_shape(model, g):
    """The lowered model with the per-step input shape recorded as the onnx_int target records it."""
    onnx.helper.set_model_props(model, {"neurokit.input_shape": json.dumps(list(g.input.shape))})
    return model


def outputs(seed: int) -> dict[str, np.ndarray]:
    layers, x = random_network(seed)
    g = graph_of(layers, x.shape[-1])
    with torch.no_grad():
        quant_lif = eager(layers)(torch.from_numpy(x)).numpy().astype(np.int64)
    return {"QuantLIF": quant_lif, "integer_sim": integer_sim.run(g, x),
            "onnx": OnnxProgram(with_input_shape(onnx_lower(g), g)).run(torch.from_numpy(x)).numpy(),
            "loihi_sim": simulate(loihi_lower(g), x).astype(np.int64),
            "integer_sim_latency1": integer_sim.run(g, x, latency=1)}


def test_quantlif_integer_sim_onnx_and_loihi_agree_bit_for_bit_on_200_random_networks():
    active = 0
    for seed in range(200):
        out = outputs(seed)
        np.testing.assert_array_equal(out["QuantLIF"], out["integer_sim"], err_msg=f"seed {seed}: QuantLIF")
        np.testing.assert_array_equal(out["onnx"], out["integer_sim"], err_msg=f"seed {seed}: onnx")
        np.testing.assert_array_equal(out["loihi_sim"], out["integer_sim_latency1"], err_msg=f"seed {seed}: loihi")
        active += bool(out["integer_sim"].any()) and not out["integer_sim"].all()
    assert active > 100                                          # most networks spike, and not everywhere


def test_every_path_runs_the_one_integer_step(monkeypatch):
    """A spy on ``neurokit.integer.integer_cuba_charge`` (the first half of the step) sees each path call it, on
    torch tensors (QuantLIF), NumPy arrays (integer_sim, Loihi simulator) and symbolic ONNX tensors (lowering)."""
    calls = []
    real = integer.integer_cuba_charge

    def spy(u, v, a_in, params):
        calls.append(type(u))
        return real(u, v, a_in, params)

    monkeypatch.setattr(integer, "integer_cuba_charge", spy)
    layers, x = random_network(7)
    g = graph_of(layers, x.shape[-1])
    steps = T * len(layers)

    def count(run) -> list[type]:
        calls.clear()
        run()
        return list(calls)

    with torch.no_grad():
        assert count(lambda: eager(layers)(torch.from_numpy(x))) == [torch.Tensor] * steps
    assert count(lambda: integer_sim.run(g, x)) == [np.ndarray] * steps
    assert count(lambda: simulate(loihi_lower(g), x)) == [np.ndarray] * steps
    assert count(lambda: onnx_lower(g)) == [Sym] * len(layers)  # one step, emitted into the ONNX Loop body


@pytest.mark.parametrize("u_register", [True, False])
def test_u_register_only_changes_what_overflows(u_register):
    """Lava's 24-bit current register wraps; QuantLIF's membrane has none (the input goes straight to v)."""
    p = integer.IntNeuronParams(4096, 0, np.array([1000]), act_shift=0, uv_bits=8, u_register=u_register)
    u, v, s = integer.integer_cuba_step(np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([300]), p)
    assert int(v[0]) == (44 if u_register else 127)               # 300 - 256 wraps, or saturates at 127
    with pytest.raises(ValueError, match="u_register=False needs decay_u = 4096"):
        integer.IntNeuronParams(2048, 0, np.array([1]), u_register=False)
