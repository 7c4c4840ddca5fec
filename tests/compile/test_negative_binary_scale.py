"""A binary layer whose learned per-channel scale ``alpha`` crossed zero compiles: the sign goes into the integers.

Flipping the sign of ``alpha[k]`` and of row ``k``'s weights gives the same function; both versions must give the
same integer program, bit for bit, on onnx_int and loihi2 (before, onnx_int failed inside IntNeuronParams)."""
import copy

import numpy as np
import torch

import neurokit as nk
from compile import integer_sim


def _pair():
    torch.manual_seed(0)
    model = nk.models.binary_mlp(12, (16,), 4, v_threshold=0.12).eval()
    flipped = copy.deepcopy(model)
    with torch.no_grad():
        for k in (0, 5, 9):                   # negative alphas in the hidden layer
            model[0].alpha[k] = -model[0].alpha[k].abs()
            flipped[0].alpha[k] = model[0].alpha[k].abs()
            flipped[0].weight[k] = -model[0].weight[k]
    return model, flipped


def test_negative_alpha_compiles_like_its_positive_twin():
    model, flipped = _pair()
    x = (torch.rand(10, 6, 12, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    with torch.no_grad():
        assert torch.equal(model(x), flipped(x))
    for target in ("onnx_int", "loihi2"):
        cm, twin = (nk.compile(m, target=target, example_input=x) for m in (model, flipped))
        out = cm.run(x)
        assert torch.equal(out, twin.run(x)), target
        reference = np.asarray(integer_sim.run(cm.graph, x, latency=1 if target == "loihi2" else 0))
        assert (out.numpy() == reference).all(), target
        assert out.float().sum() > 0, target              # not a vacuous comparison
