"""Loihi energy of graded (sigma-delta) messages: counts on a hand-countable network, the simulator's message counts
on a conv + dense SDNN, the eager ``nk.from_netx`` model counted like the simulator's run, and the cost rule
(one spike delivery per message, one synaptic op per message x nonzero weight, payload bits counted, not costed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.sdnn_files import sdnn_network

from hw_targets.energy import energy
from hw_targets.energy.cost_tables import get_table
from hw_targets.energy.graded import MESSAGE_BITS, network_counts
from hw_targets.loihi2 import InputLayer, LoihiLayer, LoihiNetwork, simulate
from hw_targets.loihi2.netx_model import model_from_network
from hw_targets.loihi2.sdnn import SigmaDeltaNeuron


def _tiny():
    """Input Delta (2 values, vThMant 1) -> dense SigmaDelta (vThMant 0), weights [[3, 5], [0, 7]]."""
    layer = LoihiLayer(np.array([[3, 5], [0, 7]]), 4096, 0, 0, sdnn=SigmaDeltaNeuron("sigma_delta", 0))
    return LoihiNetwork(2, [layer], input_layer=InputLayer((2,), 4096, 0, 0, sdnn=SigmaDeltaNeuron("delta", 1)))


def test_hand_counted_graded_messages_and_their_energy():
    net, x = _tiny(), np.array([[4, 0], [4, 0], [4, 2]]).reshape(3, 1, 2)
    # Delta: changes (4, 0) at t0 and (0, 2) at t2 reach 1 << 12 -> messages 256 and 128; layer: a_in[1] = 3 * 256 on
    # neuron 0 only (one step late; m[1] = 0, m[2] reaches it after the run) -> one message 768 >> 6 = 12
    rec = simulate(net, x, record=True)
    assert rec.spikes[0][:, 0].tolist() == [[256, 0], [0, 0], [0, 128]] and rec.spikes[1][:, 0].tolist() == [
        [0, 0], [12, 0], [0, 0]]
    c = network_counts(net, x)
    inp, syn, nrn = (c.layer(n) for n in ("input", "layer0.synapse", "layer0.neuron"))
    assert inp.spikes.tolist() == [1, 0, 1] and inp.active.tolist() == [1, 1, 2] and inp.updates.sum() == 6
    assert syn.synops.tolist() == [1, 0, 2]  # 256 on input 0 meets one nonzero weight (3), 128 on input 1 two (5, 7)
    assert nrn.spikes.tolist() == [0, 1, 0] and nrn.active.tolist() == [0, 1, 0] and nrn.updates.sum() == 6
    assert inp.payload_bits.sum() == 2 * MESSAGE_BITS and nrn.payload_bits.sum() == MESSAGE_BITS == 16
    rep, t = energy(net, x, "loihi2"), get_table("loihi2")
    comp = rep.component_totals()
    assert comp["synaptic"] == pytest.approx(3 * t["synop"].value)
    assert comp["traffic"] == pytest.approx(3 * (t["spike_tile"].value + t["hops_per_spike"].value * t["hop"].value))
    assert comp["neuron"] == pytest.approx(5 * t["neuron_active"].value + 7 * t["neuron_idle"].value)
    assert sum(r["payload_bits"] for r in rep.per_layer) == 3 * MESSAGE_BITS
    assert any("payload bits" in a and "not costed" in a for a in rep.assumptions)


def test_counts_are_the_simulators_messages_and_the_eager_model_counts_the_same():
    net = sdnn_network()
    x = np.random.default_rng(1).integers(0, 100, (10, 2, 36))
    rec = simulate(net, x, record=True)
    counts = network_counts(net, x)
    neurons = counts.of_kind("neuron")
    assert [lc.name for lc in neurons] == ["input", "layer0.neuron", "layer1.neuron", "layer2.neuron"]
    for lc, msgs in zip(neurons, rec.spikes):
        assert lc.spikes.tolist() == (msgs != 0).sum(axis=(1, 2)).tolist()
        np.testing.assert_array_equal(lc.payload_bits, lc.spikes * MESSAGE_BITS)
    assert 0 < neurons[1].spikes.sum() < neurons[1].updates.sum()  # thresholded: some units stay silent
    model = model_from_network(net)
    xf = torch.as_tensor(x, dtype=torch.float64).reshape(10, 2, 1, 6, 6) / 64
    eager = energy(model, xf, "loihi2")
    ours = energy(net, x, "loihi2")
    assert eager.total_j == pytest.approx(ours.total_j, rel=1e-12)
    for field in ("synops", "spikes", "payload_bits"):
        assert [r[field] for r in eager.per_layer] == [r[field] for r in ours.per_layer], field
    with pytest.raises(ValueError, match="no sigma-delta block"):
        network_counts(LoihiNetwork(2, [LoihiLayer(np.array([[4, -2]]), 4096, 0, 1)]), np.ones((3, 1, 2)))
