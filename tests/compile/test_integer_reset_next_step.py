"""The integer neuron's one-step-late reset (``IntNeuronParams.reset_next_step``, snnTorch's ``reset_delay=True``
order) equals the float reference neuron (``reset_after_decay=True``) wherever the integer arithmetic is exact
(integer inputs; no leak, or a full leak ``tau = 1``), for reset by subtraction and to zero, on NumPy and torch."""
import numpy as np
import pytest
import torch

import neurokit as nk
from neurokit.integer import IntNeuronParams, integer_cuba_run


@pytest.mark.parametrize("reset", ["soft", "hard"])
@pytest.mark.parametrize("leak", ["none", "full"])
def test_reset_next_step_equals_float_reference_on_exact_arithmetic(reset, leak):
    rng = np.random.default_rng(0)
    a = rng.integers(-3, 9, size=(30, 4, 5)) * (1 if leak == "none" else 2)
    decay_v = 0 if leak == "none" else 4096
    p = IntNeuronParams(decay_u=4096, decay_v=decay_v, vth=np.array([10]), reset=reset, act_shift=0, vth_shift=0,
                        reset_next_step=True)
    common = dict(v_threshold=10.0, v_reset=0.0 if reset == "hard" else None, reset_after_decay=True, backend="torch")
    ref = nk.IF(**common) if leak == "none" else nk.LIF(tau=1.0, decay_input=False, **common)
    with torch.no_grad():
        want = ref(torch.as_tensor(a, dtype=torch.float64)).numpy()
    got = integer_cuba_run(a, p)
    assert want.sum() > 20
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(integer_cuba_run(torch.as_tensor(a), p).numpy(), got)
    same_step = integer_cuba_run(a, IntNeuronParams(4096, decay_v, np.array([10]), reset, 0, 0))
    if not (reset == "soft" and leak == "none"):  # without a leak a late subtraction is the same sum
        assert not np.array_equal(same_step, got)
