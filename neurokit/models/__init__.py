"""Model builders: spiking transformers, delay-learning SNNs, ... (time-major ``[T, B, ...]`` in and out)."""
from .binary import binary_cnn, binary_mlp, quant_cnn, quant_mlp, quant_snn
from .binary_resnet import BinaryResNet18, binary_resnet18
from .delay_snn import DelaySNN, delay_snn
from .hlop import HLOPMLP, hlop_mlp
from .hlop_cnn import HLOPCNN, hlop_cnn
from ..layers.delays import round_delays
from .maxformer import MaxFormer, maxformer
from .metaspikeformer import MetaSpikeFormer, metaspikeformer
from .qkformer import QKFormer, qkformer
from .rsnn import RSNN, rsnn
from .sdnn import ann_to_sdnn, conversion_report, message_stats, rate_snn, sdnn_cnn
from .spikformer import Spikformer, spikformer

__all__ = ["DelaySNN", "delay_snn", "round_delays", "Spikformer", "spikformer", "MaxFormer", "maxformer",
           "MetaSpikeFormer", "metaspikeformer", "QKFormer", "qkformer",
           "binary_mlp", "binary_cnn", "BinaryResNet18", "binary_resnet18", "quant_cnn", "quant_mlp", "quant_snn",
           "HLOPMLP", "hlop_mlp", "HLOPCNN", "hlop_cnn", "RSNN", "rsnn", "sdnn_cnn", "ann_to_sdnn", "message_stats",
           "conversion_report", "rate_snn"]
