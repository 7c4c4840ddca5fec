"""Layers: time-major wrappers of torch layers, and neurokit's own synapse layers."""
from .attention import SpikeDrivenSelfAttention, SpikeMask, SpikeMatMul, SpikingSelfAttention, TokenBatchNorm
from .binary import BinaryConv2d, BinaryLinear, binary_regularizer, reste_o_schedule, set_estimator_params
from .delays import DelayedLinear, anneal_delays, round_delays, sigma_schedule
from .quant import IntegerSpikingLayer, QuantConv2d, QuantLIF, QuantLinear
from .readout import LeakyIntegrator
from .recurrent import Recurrent, recurrent_reference
from .sparse_input import SparseInputLinear
from .time_major import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Flatten, MaxPool2d, fold_time, time_major

__all__ = ["Conv2d", "Conv1d", "BatchNorm1d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "Flatten", "fold_time",
           "time_major",
           "BinaryLinear", "BinaryConv2d", "binary_regularizer", "reste_o_schedule", "set_estimator_params",
           "QuantLinear", "QuantConv2d", "QuantLIF", "IntegerSpikingLayer",
           "SpikeMatMul", "SpikeMask", "SpikingSelfAttention", "SpikeDrivenSelfAttention", "TokenBatchNorm",
           "DelayedLinear", "round_delays", "anneal_delays", "sigma_schedule", "LeakyIntegrator",
           "Recurrent", "recurrent_reference", "SparseInputLinear"]
