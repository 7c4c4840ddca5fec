"""Re-export of the integer neuron from :mod:`neurokit.integer`, where the integer arithmetic is written once
(Lava's bit-accurate CUBA-LIF, the integer leaky integrator, decays, shifts and their constants).

Example::

    from compile.integer_neuron import IntNeuronParams, integer_cuba_run   # == neurokit.integer's
"""
from neurokit.integer import (
    ACT_SHIFT,
    DECAY_SHIFT,
    DECAY_UNITY,
    MAX_UV,
    RESETS,
    UV_BITS,
    V_MAX,
    V_MIN,
    VTH_BITS,
    VTH_SHIFT,
    IntIntegratorParams,
    IntNeuronParams,
    decay_from_tau,
    integer_cuba_run,
    integer_cuba_step,
    integer_leaky_run,
    integer_leaky_step,
    trunc_shift,
)

__all__ = ["ACT_SHIFT", "DECAY_SHIFT", "DECAY_UNITY", "MAX_UV", "RESETS", "UV_BITS", "V_MAX", "V_MIN", "VTH_BITS",
           "VTH_SHIFT", "IntIntegratorParams", "IntNeuronParams", "decay_from_tau", "integer_cuba_run",
           "integer_cuba_step", "integer_leaky_run", "integer_leaky_step", "trunc_shift"]
