"""A token mean whose integer sum may leave int8 before a synapse (Spikformer's head on the spike-sum residual
stream) is requantized integer-only; onnx_int stays bit-exact to the integer reference."""
import numpy as np
import torch

import neurokit as nk
from compile import integer_sim


def test_spikformer_head_on_a_large_token_sum_compiles_bit_exact():
    torch.manual_seed(0)
    model = nk.models.spikformer("tiny", depth=3, img_size=16, in_channels=1).eval()    # 64 tokens, sums to 7
    x = torch.rand(2, 2, 1, 16, 16)
    cm = nk.compile(model, target="onnx_int", example_input=x)
    mean = next(n for n in cm.graph.nodes if n.op == "mean")
    assert mean.requant is not None and int(mean.requant.multiplier) < 2 ** mean.requant.shift
    assert any(w.startswith(f"mean {mean.name!r}: worst-case sum") for w in cm.graph.warnings)
    ref = np.asarray(integer_sim.run(cm.graph, x)).astype(np.int64)
    assert np.array_equal(np.asarray(cm.run(x), dtype=np.int64), ref)


def test_a_mean_that_fits_int8_is_not_requantized():
    torch.manual_seed(0)
    model = nk.models.spikformer("tiny").eval()                                       # 16 tokens, sums to 3
    cm = nk.compile(model, target="onnx_int", example_input=torch.rand(2, 1, 1, 8, 8))
    assert next(n for n in cm.graph.nodes if n.op == "mean").requant is None
