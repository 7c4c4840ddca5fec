"""Spiking neuron families: functional core (:mod:`.functional`) and multi-step modules (:mod:`.modules`)."""
from . import functional
from .modules import ALIF, IF, LIF, PLIF, CubaLIF, Neuron
from .sigma_delta import Sigma, SigmaDelta, sigma_delta_reference

__all__ = ["Neuron", "LIF", "IF", "CubaLIF", "ALIF", "PLIF", "SigmaDelta", "Sigma", "sigma_delta_reference",
           "functional"]
