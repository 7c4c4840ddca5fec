"""Compile passes: each a function ``Graph -> Graph`` that never modifies its input.

* :func:`fold_bn`       batch norm folded into the preceding synapse (weights and bias);
* :func:`compose_convs` conv -> conv chains (no neuron between) merged into one conv;
* :func:`round_delays`  learned (float) synaptic delays rounded to integer steps;
* :func:`quantize`      integer weights / thresholds / decays / requantization (multiplier + shift);
* :func:`check_limits`  a target's declared limits (ops, bit widths, delay range, reset modes);
* :func:`check_supported` an integer target's first check: every op / neuron kind it lacks, with the reason.
"""
from compile.passes.compose_conv import compose_convs
from compile.passes.delays import round_delays
from compile.passes.fold_bn import fold_bn
from compile.passes.limits import Limits, check_limits, check_supported
from compile.passes.quantize import quantize

__all__ = ["Limits", "check_limits", "check_supported", "compose_convs", "fold_bn", "quantize", "round_delays"]
