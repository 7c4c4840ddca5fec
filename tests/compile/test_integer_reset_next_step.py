"""The integer neuron's one-step-late reset (``IntNeuronParams.reset_next_step``, snnTorch's ``reset_delay=True``
order) equals the float reference neuron (``reset_after_decay=True``) wherever the integer arithmetic is exact (no
decay, integer inputs), for reset by subtraction and to zero, on NumPy and torch tensors alike."""
import numpy as np
import pytest
import torch

import neurokit as nk
from neurokit.integer import IntNeuronParams, integer_cuba_run


@pytest.mark.parametrize("reset", ["soft", "hard"])
def test_reset_next_step_equals_float_reference_on_exact_arithmetic(reset):
    rng = np.random.default_rng(0)
    a = rng.integers(-3, 9, size=(30, 4, 5))
    p = IntNeuronParams(decay_u=4096, decay_v=0, vth=np.array([10]), reset=reset, act_shift=0, vth_shift=0,
                        reset_next_step=True)
    ref = nk.IF(v_threshold=10.0, v_reset=0.0 if reset == "hard" else None, reset_after_decay=True, backend="torch")
    with torch.no_grad():
        want = ref(torch.as_tensor(a, dtype=torch.float64)).numpy()
    got = integer_cuba_run(a, p)
    assert want.sum() > 20
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(integer_cuba_run(torch.as_tensor(a), p).numpy(), got)
    _, v = integer_cuba_run(a, p, record_v=True)
    same_step, v_now = integer_cuba_run(a, IntNeuronParams(4096, 0, np.array([10]), reset, 0, 0), record_v=True)
    assert not np.array_equal(v, v_now)  # the membranes differ: the reset is applied one step later
    if reset == "hard":  # without a leak, a late subtraction gives the same spikes; a late reset to 0 does not
        assert not np.array_equal(same_step, got)
