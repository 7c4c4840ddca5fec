"""Bad-input suite, neurokit API: every public constructor (neurons, layers, models, encoders, surrogates, data
sets), the forward checks of neurons and time-major layers, ``nk.train`` arguments, losses and checkpoints.

Each case is one row ``(id, call, error type, pattern)``: ``call(tmp_path)`` must raise exactly that error type (or
a subclass) and the message must match ``pattern``, which names the culprit (the argument, field, layer or file).
Rows that are legitimate but ambiguous (a rank-2 input to a neuron) assert the warning instead.

Counts (``pytest --collect-only -q tests/neurokit/test_bad_inputs_api.py | tail -1``): 284 tests = 281 error cases
+ 3 warning cases (neurons 117, layers 41, models 20, encoders/surrogates 19, data sets/readers 45, nk.train and
losses 29, checkpoints 14). The compile / targets / energy / file-reader half is
``tests/hw_targets/test_bad_inputs_targets.py``
(200 tests); both files together: 484 cases (the CLI cases live in the CLI's own test file).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch
from torch import nn

import neurokit as nk
from neurokit.data.nmnist import NMNISTDataset, bin_events_2d, read_events, write_events
from neurokit.data.shd import SpikeHDF5Dataset, bin_events_1d
from neurokit.training.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
from neurokit.training.metrics import ce_per_step, ce_rate, get_loss


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable
    error: type
    pattern: str


CASES: list[Case] = []


def case(id_: str, error: type, pattern: str):
    def deco(fn):
        CASES.append(Case(id_, fn, error, pattern))
        return fn
    return deco


def add(id_: str, call: Callable, error: type, pattern: str) -> None:
    CASES.append(Case(id_, call, error, pattern))


def x3(T=4, B=2, F=3):
    return torch.rand(T, B, F)


def mlp(n_in=3, n_out=2):
    return nn.Sequential(nn.Linear(n_in, 4), nk.LIF(), nn.Linear(4, n_out))


# ---------------------------------------------------------------- neurons: constructor arguments
NEURONS = {"LIF": nk.LIF, "IF": nk.IF, "CubaLIF": nk.CubaLIF, "ALIF": nk.ALIF, "PLIF": nk.PLIF}
for cname, cls in NEURONS.items():
    for label, value, err in (("nan", math.nan, TypeError), ("inf", math.inf, TypeError), ("str", "1", TypeError),
                              ("none", None, TypeError), ("bool", True, TypeError)):
        add(f"{cname}-v_threshold-{label}", lambda _t, c=cls, v=value: c(v_threshold=v), err, "v_threshold")
    add(f"{cname}-v_reset-above-threshold", lambda _t, c=cls: c(v_threshold=1.0, v_reset=2.0), ValueError, "v_reset")
    add(f"{cname}-v_reset-str", lambda _t, c=cls: c(v_reset="0"), TypeError, "v_reset")
    add(f"{cname}-soft-reset-threshold-zero", lambda _t, c=cls: c(v_threshold=0.0, v_reset=None), ValueError,
        "v_threshold.*v_reset=None")
    add(f"{cname}-soft-reset-threshold-negative", lambda _t, c=cls: c(v_threshold=-0.5, v_reset=None), ValueError,
        "v_threshold.*subtraction")
    add(f"{cname}-backend", lambda _t, c=cls: c(backend="cuda"), ValueError, "backend")
    add(f"{cname}-surrogate-unknown", lambda _t, c=cls: c(surrogate="nope"), ValueError, "nope")
TAUS = {"LIF": ("tau",), "CubaLIF": ("tau_syn", "tau_mem"), "ALIF": ("tau", "tau_adapt"), "PLIF": ("init_tau",)}
for cname, names in TAUS.items():
    for arg in names:
        for label, value, err in (("below-one", 0.5, ValueError), ("zero", 0.0, ValueError),
                                  ("negative", -2.0, ValueError), ("nan", math.nan, ValueError),
                                  ("str", "2", TypeError)):
            add(f"{cname}-{arg}-{label}", lambda _t, c=NEURONS[cname], a=arg, v=value: c(**{a: v}), err, arg)
add("ALIF-beta-negative", lambda _t: nk.ALIF(beta=-1.0), ValueError, "beta")
add("ALIF-beta-str", lambda _t: nk.ALIF(beta="big"), TypeError, "beta")

# ---------------------------------------------------------------- neurons: forward inputs
for cname, cls in NEURONS.items():
    add(f"{cname}-forward-list", lambda _t, c=cls: c()([[0.0, 1.0]]), TypeError, "torch.Tensor")
    add(f"{cname}-forward-int-dtype", lambda _t, c=cls: c()(torch.ones(3, 2, 4, dtype=torch.int64)), TypeError,
        "floating-point")
    add(f"{cname}-forward-rank1", lambda _t, c=cls: c()(torch.rand(5)), ValueError, "time-major")
    add(f"{cname}-forward-T0", lambda _t, c=cls: c()(torch.rand(0, 2, 4)), ValueError, "T=0")
    add(f"{cname}-forward-nan", lambda _t, c=cls: c()(torch.full((3, 2, 4), math.nan)), ValueError, "NaN")
    add(f"{cname}-forward-inf", lambda _t, c=cls: c()(torch.full((3, 2, 4), math.inf)), ValueError, "Inf")

# ---------------------------------------------------------------- surrogates and encoders
for label, name in (("unknown", "heaviside"), ("empty", ""), ("typo", "atanh")):
    add(f"surrogate-get-{label}", lambda _t, n=name: nk.surrogate.get(n), ValueError, "surrogate|unknown")
add("surrogate-get-int", lambda _t: nk.surrogate.get(3), (TypeError, ValueError), "surrogate|3")
for enc in ("rate", "direct"):
    fn = getattr(nk.encode, enc)
    add(f"encode-{enc}-T0", lambda _t, f=fn: f(torch.rand(2, 3), 0), ValueError, "T")
    add(f"encode-{enc}-T-float", lambda _t, f=fn: f(torch.rand(2, 3), 2.5), (TypeError, ValueError), "T")
    add(f"encode-{enc}-x-list", lambda _t, f=fn: f([0.1, 0.2], 4), TypeError, "x")
    add(f"encode-{enc}-x-nan", lambda _t, f=fn: f(torch.tensor([math.nan]), 4), ValueError, "x")
add("encode-rate-x-int", lambda _t: nk.encode.rate(torch.tensor([1, 0]), 4), TypeError, "x")
add("encode-rate-gain-negative", lambda _t: nk.encode.rate(torch.rand(3), 4, gain=-1.0), ValueError, "gain")
add("encode-latency-T0", lambda _t: nk.encode.latency(torch.rand(3), 0), ValueError, "T")
add("encode-latency-tau-zero", lambda _t: nk.encode.latency(torch.rand(3), 4, tau=0.0), ValueError, "tau")
add("encode-latency-x-list", lambda _t: nk.encode.latency([0.5], 4), TypeError, "x")
add("encode-delta-threshold-negative", lambda _t: nk.encode.delta(torch.rand(4, 3), threshold=-0.1), ValueError,
    "threshold")
add("encode-delta-x-list", lambda _t: nk.encode.delta([[0.1]]), TypeError, "x")

# ---------------------------------------------------------------- time-major layers
add("Conv2d-channels", lambda _t: nk.layers.Conv2d(2, 4, 3)(torch.rand(2, 2, 3, 8, 8)), ValueError,
    "Conv2d.*expected 2 input channels.*got 3")
add("Conv2d-rank4", lambda _t: nk.layers.Conv2d(2, 4, 3)(torch.rand(2, 2, 8, 8)), ValueError, "Conv2d.*rank 5")
add("Conv2d-list", lambda _t: nk.layers.Conv2d(2, 4, 3)([1.0]), TypeError, "Conv2d")
add("Conv1d-channels", lambda _t: nk.layers.Conv1d(2, 4, 3)(torch.rand(2, 2, 5, 8)), ValueError,
    "Conv1d.*expected 2 input channels.*got 5")
add("Conv1d-rank3", lambda _t: nk.layers.Conv1d(2, 4, 3)(torch.rand(2, 2, 8)), ValueError, "Conv1d.*rank 4")
add("BatchNorm1d-channels", lambda _t: nk.layers.BatchNorm1d(4)(torch.rand(2, 2, 5)), ValueError,
    "BatchNorm1d.*expected 4 input channels.*got 5")
add("BatchNorm1d-channels-rank4", lambda _t: nk.layers.BatchNorm1d(4)(torch.rand(2, 2, 3, 6)), ValueError,
    "BatchNorm1d.*expected 4.*got 3")
add("BatchNorm1d-rank2", lambda _t: nk.layers.BatchNorm1d(4)(torch.rand(2, 4)), ValueError, "BatchNorm1d")
add("BatchNorm2d-channels", lambda _t: nk.layers.BatchNorm2d(4)(torch.rand(2, 2, 5, 3, 3)), ValueError,
    "BatchNorm2d.*expected 4 input channels.*got 5")
add("BatchNorm2d-rank4", lambda _t: nk.layers.BatchNorm2d(4)(torch.rand(2, 4, 3, 3)), ValueError, "BatchNorm2d")
add("MaxPool2d-rank4", lambda _t: nk.layers.MaxPool2d(2)(torch.rand(2, 4, 3, 3)), ValueError, "MaxPool2d")
add("AvgPool2d-rank3", lambda _t: nk.layers.AvgPool2d(2)(torch.rand(2, 4, 3)), ValueError, "AvgPool2d")
add("Flatten-rank2", lambda _t: nk.layers.Flatten()(torch.rand(2, 4)), ValueError, "Flatten")

# ---------------------------------------------------------------- neurokit synapse layers
add("DelayedLinear-max_delay-negative", lambda _t: nk.layers.DelayedLinear(3, 2, max_delay=-1), ValueError,
    "max_delay")
add("DelayedLinear-mode", lambda _t: nk.layers.DelayedLinear(3, 2, max_delay=4, mode="magic"), ValueError, "mode")
add("DelayedLinear-in_features-zero", lambda _t: nk.layers.DelayedLinear(0, 2, max_delay=4), ValueError,
    "in_features")
add("DelayedLinear-forward-features",
    lambda _t: nk.layers.DelayedLinear(3, 2, max_delay=4)(torch.rand(5, 2, 4)), ValueError, "3")
add("DelayedLinear-forward-rank2",
    lambda _t: nk.layers.DelayedLinear(3, 2, max_delay=4)(torch.rand(5, 3)), ValueError, r"\[T, B")
add("QuantLinear-weight_bits-zero", lambda _t: nk.layers.QuantLinear(3, 2, weight_bits=0), ValueError, "weight_bits")
add("QuantLinear-weight_bits-str", lambda _t: nk.layers.QuantLinear(3, 2, weight_bits="8"), (TypeError, ValueError),
    "weight_bits")
add("QuantLinear-weight_bits-big", lambda _t: nk.layers.QuantLinear(3, 2, weight_bits=33), ValueError, "weight_bits")
add("QuantLinear-input_bits-zero", lambda _t: nk.layers.QuantLinear(3, 2, input_bits=0), ValueError, "input_bits")
add("QuantConv2d-weight_bits-zero", lambda _t: nk.layers.QuantConv2d(1, 2, 3, weight_bits=0), ValueError,
    "weight_bits")
add("QuantLIF-v_threshold-zero", lambda _t: nk.layers.QuantLIF(v_threshold=0.0), ValueError, "v_threshold")
add("QuantLIF-tau-below-one", lambda _t: nk.layers.QuantLIF(tau=0.5), ValueError, "tau")
add("QuantLIF-membrane_bits-small", lambda _t: nk.layers.QuantLIF(membrane_bits=2), ValueError, "membrane_bits")
add("QuantLIF-input_shift-negative", lambda _t: nk.layers.QuantLIF(input_shift=-1), ValueError, "input_shift")
add("QuantLIF-forward-T0", lambda _t: nk.layers.QuantLIF()(torch.rand(0, 2, 3)), ValueError, "T=0")
add("QuantLIF-forward-nan", lambda _t: nk.layers.QuantLIF()(torch.full((2, 2, 3), math.nan)), ValueError, "NaN")
add("BinaryLinear-estimator", lambda _t: nk.layers.BinaryLinear(3, 2, estimator="magic"), ValueError, "magic")
add("BinaryConv2d-estimator", lambda _t: nk.layers.BinaryConv2d(1, 2, 3, estimator="magic"), ValueError, "magic")
add("LeakyIntegrator-tau-below-one", lambda _t: nk.layers.LeakyIntegrator(tau=0.5), ValueError, "tau")
add("LeakyIntegrator-tau-str", lambda _t: nk.layers.LeakyIntegrator(tau="2"), TypeError, "tau")
add("LeakyIntegrator-forward-T0", lambda _t: nk.layers.LeakyIntegrator()(torch.rand(0, 2, 3)), ValueError, "T")
add("SpikingSelfAttention-heads", lambda _t: nk.layers.SpikingSelfAttention(10, 3, nk.LIF), ValueError,
    "heads|dim")
add("SpikingSelfAttention-dim-zero", lambda _t: nk.layers.SpikingSelfAttention(0, 1, nk.LIF), ValueError, "dim")
add("SpikeMatMul-scale-nan", lambda _t: nk.layers.SpikeMatMul(scale=math.nan), ValueError, "scale")

# ---------------------------------------------------------------- models
add("binary_mlp-in_features-zero", lambda _t: nk.models.binary_mlp(in_features=0), ValueError, "in_features")
add("binary_mlp-num_classes-zero", lambda _t: nk.models.binary_mlp(num_classes=0), ValueError, "num_classes")
add("binary_mlp-hidden-empty-zero", lambda _t: nk.models.binary_mlp(hidden=(0,)), ValueError, "hidden")
add("binary_mlp-estimator", lambda _t: nk.models.binary_mlp(estimator="magic"), ValueError, "magic")
add("binary_cnn-preset", lambda _t: nk.models.binary_cnn(preset="huge"), ValueError, "preset|huge")
add("binary_cnn-in_channels-zero", lambda _t: nk.models.binary_cnn(in_channels=0), ValueError, "in_channels")
add("delay_snn-max_delay-negative", lambda _t: nk.models.delay_snn(max_delay=-1), ValueError, "max_delay")
add("delay_snn-delays-mode", lambda _t: nk.models.delay_snn(delays="magic"), ValueError, "delays|magic")
add("delay_snn-neuron", lambda _t: nk.models.delay_snn(neuron="hh"), ValueError, "neuron|hh")
add("delay_snn-dropout", lambda _t: nk.models.delay_snn(dropout=1.5), ValueError, "dropout")
add("delay_snn-layers-zero", lambda _t: nk.models.delay_snn(layers=0), ValueError, "layers")
add("spikformer-preset", lambda _t: nk.models.spikformer("galactic"), ValueError, "galactic")
add("spikformer-heads", lambda _t: nk.models.spikformer(dim=10, heads=3), ValueError, "heads|dim")
add("spikformer-attention", lambda _t: nk.models.spikformer(attention="full"), ValueError, "attention|full")
add("spikformer-patch", lambda _t: nk.models.spikformer(img_size=30, patch_size=4), ValueError, "patch|img_size")
add("maxformer-preset", lambda _t: nk.models.maxformer("galactic"), ValueError, "galactic")
add("maxformer-mixers", lambda _t: nk.models.maxformer(mixers=("none", "fft", "ssa")), ValueError, "mixer|fft")
add("hlop_mlp-hidden-zero", lambda _t: nk.models.hlop_mlp(hidden=(0,)), ValueError, "hidden|sizes")
add("hlop_cnn-channels-empty", lambda _t: nk.models.hlop_cnn(channels=()), ValueError, "channels")
add("hlop_cnn-channels-zero", lambda _t: nk.models.hlop_cnn(channels=(0,)), ValueError, "channels")
add("binary_resnet18-estimator", lambda _t: nk.models.binary_resnet18("magic"), ValueError, "magic")
add("binary_resnet18-image_size", lambda _t: nk.models.binary_resnet18(image_size=20), ValueError, "image_size=20")
add("binary_resnet18-num_classes-zero", lambda _t: nk.models.binary_resnet18(num_classes=0), ValueError,
    "num_classes")
add("quant_snn-weight_bits-zero", lambda _t: nk.models.quant_snn(weight_bits=0), ValueError, "weight_bits")
add("Recurrent-neuron", lambda _t: nk.layers.Recurrent(3, 4, "lif") if hasattr(nk.layers, "Recurrent") else
    nk.models.delay_snn(neuron=3), (TypeError, ValueError), "neuron")

# ---------------------------------------------------------------- data sets (constructors and plain readers)
add("digits-T-zero", lambda _t: nk.data.digits(T=0), ValueError, "T")
add("digits-encoding", lambda _t: nk.data.digits(encoding="morse"), ValueError, "encoding|morse")
add("digits-test_fraction", lambda _t: nk.data.digits(test_fraction=1.5), ValueError, "test_fraction")
add("delay_task-n_classes-zero", lambda _t: nk.data.delay_task(n_classes=0), ValueError, "n_classes")
add("delay_task-T-short", lambda _t: nk.data.delay_task(T=2, n_classes=4), ValueError, "T")
add("coincidence_task-n_channels-zero", lambda _t: nk.data.coincidence_task(n_channels=0), ValueError, "n_channels")
add("coincidence_task-noise_rate", lambda _t: nk.data.coincidence_task(noise_rate=2.0), ValueError, "noise_rate")
add("SequenceDataset-length", lambda _t: nk.data.SequenceDataset(torch.rand(3, 4, 2), torch.zeros(5, dtype=torch.long)),
    ValueError, "y|x")
add("SequenceDataset-labels-negative",
    lambda _t: nk.data.SequenceDataset(torch.rand(2, 4, 2), torch.tensor([0, -1])), ValueError, "y|label")
add("SequenceDataset-labels-above",
    lambda _t: nk.data.SequenceDataset(torch.rand(2, 4, 2), torch.tensor([0, 3]), num_classes=2),
    ValueError, "y|label|num_classes")
add("collate-empty", lambda _t: nk.data.collate_time_major([]), ValueError, "batch")
add("collate-mismatch", lambda _t: nk.data.collate_time_major([(torch.rand(3, 2), 0), (torch.rand(4, 2), 1)]),
    ValueError, r"batch\[1\]")
for arg, value in (("T", 0), ("T", 2.5), ("pool", 0), ("n_units", 0), ("num_classes", 0), ("dt", 0.0),
                   ("dt", -1.0), ("dt", math.nan)):
    add(f"SpikeHDF5Dataset-{arg}-{value}", lambda t, a=arg, v=value: SpikeHDF5Dataset(t / "x.h5", **{a: v}),
        ValueError, arg)
add("SpikeHDF5Dataset-missing-file", lambda t: SpikeHDF5Dataset(t / "none.h5"), FileNotFoundError, "none.h5")
add("shd-missing-file", lambda t: nk.data.shd(t / "shd.h5"), FileNotFoundError, "shd.h5")
add("ssc-not-hdf5", lambda t: (t / "ssc.h5").write_bytes(b"hello") and nk.data.ssc(t / "ssc.h5"), ValueError,
    "ssc.h5")
for arg, value in (("T", 0), ("T", -3), ("dt_us", 0), ("dt_us", "1000"), ("sensor", (34,)), ("sensor", (0, 34)),
                   ("sensor", "34x34")):
    add(f"NMNISTDataset-{arg}-{value}", lambda _t, a=arg, v=value: NMNISTDataset(files=[("a.bin", 0)], **{a: v}),
        ValueError, arg)
add("NMNISTDataset-label-negative", lambda _t: NMNISTDataset(files=[("a.bin", -1)]), ValueError,
    r"files\[0\].*label")
add("NMNISTDataset-label-str", lambda _t: NMNISTDataset(files=[("a.bin", "3")]), ValueError, r"files\[0\].*label")
add("NMNISTDataset-file-entry", lambda _t: NMNISTDataset(files=["a.bin"]), ValueError, r"files\[0\]")
add("NMNISTDataset-no-root", lambda _t: NMNISTDataset(), ValueError, "root")
add("NMNISTDataset-missing-root", lambda t: NMNISTDataset(root=t / "nope"), FileNotFoundError, "root")
add("NMNISTDataset-empty-root", lambda t: (t / "Train" / "1").mkdir(parents=True) or NMNISTDataset(root=t),
    ValueError, "root.*no .bin")
add("NMNISTDataset-label-folder", lambda t: (t / "Train" / "cat").mkdir(parents=True) or NMNISTDataset(root=t),
    ValueError, "label folder")
add("read_events-missing", lambda t: read_events(t / "e.bin"), FileNotFoundError, "e.bin")
add("read_events-size", lambda t: (t / "e.bin").write_bytes(b"\x00" * 7) and read_events(t / "e.bin"), ValueError,
    "e.bin.*multiple of 5")
add("write_events-lengths", lambda t: write_events(t / "w.bin", [1, 2], [1], [0, 1], [1, 2]), ValueError, "y")
add("write_events-x-range", lambda t: write_events(t / "w.bin", [256], [1], [0], [1]), ValueError, "x")
add("write_events-p-range", lambda t: write_events(t / "w.bin", [1], [1], [2], [1]), ValueError, "p")
add("write_events-t-range", lambda t: write_events(t / "w.bin", [1], [1], [1], [1 << 23]), ValueError, "t")
add("bin_events_2d-x-sensor", lambda _t: bin_events_2d({"x": np.array([40]), "y": np.array([0]), "p": np.array([0]),
                                                         "t": np.array([0])}, 2, 10, 34, 34), ValueError, "'x'")
add("bin_events_1d-units-range", lambda _t: bin_events_1d(np.array([0.0]), np.array([9]), 2, 0.1, 2, 1), ValueError,
    "units")


# ---------------------------------------------------------------- nk.train arguments
def _ds(n=4, T=3, F=3, label=0):
    return nk.data.SequenceDataset(torch.rand(n, T, F), torch.full((n,), label, dtype=torch.long))


def _train(**kw):
    args = {"model": mlp(), "train_data": _ds(), "epochs": 1, "batch_size": 2, "progress": False}
    args.update(kw)
    return nk.train(args.pop("model"), args.pop("train_data"), args.pop("epochs"), **args)


for arg, value, err in (("epochs", 0, ValueError), ("epochs", 1.5, ValueError), ("epochs", True, ValueError),
                        ("lr", 0.0, ValueError), ("lr", -1e-3, ValueError), ("lr", math.inf, ValueError),
                        ("lr", "fast", TypeError), ("weight_decay", -0.1, ValueError),
                        ("weight_decay", "none", TypeError), ("weight_decay", math.nan, ValueError),
                        ("checkpoint_every", 0, ValueError), ("checkpoint_every", 2.5, ValueError),
                        ("batch_size", 0, ValueError), ("batch_size", 7, ValueError),
                        ("loss", "mse_magic", ValueError)):
    add(f"train-{arg}-{value}", lambda _t, a=arg, v=value: _train(**{a: v}), err, arg if arg != "loss" else "loss|mse")
add("train-model-type", lambda _t: _train(model="mlp"), TypeError, "model")
add("train-data-type", lambda _t: _train(train_data=42), TypeError, "train_data")
add("train-resume-without-dir", lambda _t: _train(resume=True), ValueError, "resume.*checkpoint_dir")
add("train-label-above-classes", lambda _t: _train(train_data=_ds(label=7)), ValueError,
    "label 7.*2 output classes")
add("train-label-negative", lambda _t: _train(train_data=_ds(label=-1)), ValueError, "labels must be >= 0, got min -1")
add("train-features", lambda _t: _train(train_data=_ds(F=5)), (ValueError, RuntimeError), "5|shape")
add("train-device-cuda-99", lambda _t: _train(device="cuda:99"), ValueError,
    r"device: 'cuda:99' is not available here.*available: 'auto', 'cpu'")
add("train-device-unknown-name", lambda _t: _train(device="tpu"), ValueError, r"device: 'tpu' is not a device name")
add("ce_rate-float-labels", lambda _t: ce_rate(torch.rand(3, 2, 4), torch.tensor([0.0, 1.0])), ValueError, "labels")
add("ce_rate-batch", lambda _t: ce_rate(torch.rand(3, 2, 4), torch.tensor([0, 1, 2])), ValueError, "B=3")
add("ce_rate-label-range", lambda _t: ce_rate(torch.rand(3, 2, 4), torch.tensor([0, 4])), ValueError, "label 4")
add("ce_per_step-rank2", lambda _t: ce_per_step(torch.rand(2, 4), torch.tensor([0, 1])), ValueError, "ce_per_step")
add("get_loss-unknown", lambda _t: get_loss("hinge"), ValueError, "hinge")
add("get_loss-type", lambda _t: get_loss(3), (TypeError, ValueError), "loss")


# ---------------------------------------------------------------- checkpoints
def _ckpt(t, model=None, **meta):
    path = t / "c.safetensors"
    save_checkpoint(path, model or mlp(), meta=meta or {"epoch": 0})
    return path


def _raw_ckpt(t, metadata: dict, tensors=None):
    from safetensors.torch import save_file

    path = t / "raw.safetensors"
    save_file(tensors or {"model.0.weight": torch.zeros(4, 3)}, str(path), metadata=metadata)
    return path


add("load_checkpoint-missing", lambda t: load_checkpoint(t / "none.safetensors", mlp()), FileNotFoundError,
    "none.safetensors")
add("load_checkpoint-garbage", lambda t: (t / "g.safetensors").write_bytes(b"\x10" * 40) and
    load_checkpoint(t / "g.safetensors", mlp()), ValueError, "g.safetensors")
add("load_checkpoint-empty-file", lambda t: (t / "e.safetensors").write_bytes(b"") or
    load_checkpoint(t / "e.safetensors", mlp()), ValueError, "e.safetensors")
add("load_checkpoint-no-metadata", lambda t: load_checkpoint(_raw_ckpt(t, {"other": "1"}), mlp()), ValueError,
    "missing metadata field 'neurokit'")
add("load_checkpoint-metadata-list", lambda t: load_checkpoint(_raw_ckpt(t, {"neurokit": "[1, 2]"}), mlp()),
    ValueError, "'neurokit' must be a JSON object.*list")
add("load_checkpoint-metadata-not-json", lambda t: load_checkpoint(_raw_ckpt(t, {"neurokit": "{oops"}), mlp()),
    ValueError, "'neurokit' is not valid JSON")
add("load_checkpoint-metadata-version", lambda t: load_checkpoint(_raw_ckpt(t, {"neurokit": '{"version": 9}'}),
                                                                  mlp()), ValueError, "format version 9")
add("load_checkpoint-metadata-meta-type", lambda t: load_checkpoint(_raw_ckpt(
    t, {"neurokit": json.dumps({"version": 1, "meta": [1], "optimizer": None, "scaler": None})}), mlp()), ValueError,
    "neurokit.meta")
add("load_checkpoint-metadata-optimizer-type", lambda t: load_checkpoint(_raw_ckpt(
    t, {"neurokit": json.dumps({"version": 1, "meta": {}, "optimizer": 3, "scaler": None})}), mlp()), ValueError,
    "neurokit.optimizer")
add("load_checkpoint-keys", lambda t: load_checkpoint(_ckpt(t, nn.Linear(3, 2)), mlp()), ValueError,
    "model keys do not match")
add("load_checkpoint-shape", lambda t: load_checkpoint(_ckpt(t, mlp(n_out=5)), mlp()), ValueError,
    "'model.2.weight' has shape")
add("load_checkpoint-no-optimizer-state", lambda t: load_checkpoint(
    _ckpt(t), mlp(), torch.optim.SGD(mlp().parameters(), lr=0.1)), ValueError, "no optimizer state")
add("read_checkpoint_meta-missing", lambda t: read_checkpoint_meta(t / "m.safetensors"), FileNotFoundError,
    "m.safetensors")
add("save_checkpoint-meta-not-json", lambda t: save_checkpoint(t / "s.safetensors", mlp(), meta={"f": object()}),
    ValueError, "meta")


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_naming_the_culprit(c: Case, tmp_path):
    with pytest.raises(c.error) as info:
        c.call(tmp_path)
    assert info.match(c.pattern), f"{c.id}: message {str(info.value)!r} does not name the culprit ({c.pattern!r})"


# ---------------------------------------------------------------- legitimate but surprising: a warning that says so
def _nan_checkpoint(t):
    model = mlp()
    with torch.no_grad():
        model[0].weight[0, 0] = math.nan
    return load_checkpoint(_ckpt(t, model), mlp())


WARNINGS = [
    Case("LIF-rank2-input", lambda _t: nk.LIF()(torch.rand(2, 4)), UserWarning, r"LIF: rank-2 input.*\[T=2, B=4\]"),
    Case("model-sample-major-input", lambda _t: mlp()(torch.rand(5, 3)), UserWarning, r"LIF: rank-2.*sample-major"),
    Case("checkpoint-nan-weight", _nan_checkpoint, RuntimeWarning, r"'model\.0\.weight'.*NaN"),
]


@pytest.mark.parametrize("c", WARNINGS, ids=[c.id for c in WARNINGS])
def test_ambiguous_input_warns_naming_the_choice(c: Case, tmp_path):
    with pytest.warns(c.error, match=c.pattern):
        c.call(tmp_path)
