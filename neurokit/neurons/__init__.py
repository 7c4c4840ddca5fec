"""Spiking neuron families: functional core (:mod:`.functional`) and multi-step modules (:mod:`.modules`)."""
from . import functional
from .modules import ALIF, IF, LIF, PLIF, CubaLIF, Neuron

__all__ = ["Neuron", "LIF", "IF", "CubaLIF", "ALIF", "PLIF", "functional"]
