"""Bad-input suite, compile and targets: ``nk.compile`` (model, target, example input, options), ``cm.run`` per
target, ``cm.save``, ``nk.energy``, and the file readers ``nk.from_nir``, ``load_netx``, ``hw_targets.load`` and the
SHD/SSC HDF5 reader.

Each row ``(id, call, error type, pattern)``: ``call(tmp_path)`` must raise that error type and the message must
match ``pattern``, which names the culprit (argument, option, module path, node, field or file).

Counts (``pytest --collect-only -q tests/hw_targets/test_bad_inputs_targets.py | tail -1``): 200 tests = 199 error
cases (nk.compile 91, cm.run 34, cm.save 6, nk.energy 20, nk.from_nir 14, load_netx 9, hw_targets.load 7, SHD/SSC
18) + 1 "a refused compile writes nothing". With ``tests/neurokit/test_bad_inputs_api.py`` (284) the API/reader
suite has 484 cases.

Documented error types: ``nk.compile`` -> ``ValueError`` (bad example input, NaN/Inf parameter, bad option value),
``TypeError`` (option of the wrong type), ``CompileError`` (what the IR/target cannot express, unsupported module);
``cm.run`` / ``cm.save`` / ``nk.energy`` -> ``ValueError`` (``EnergyError`` is one); readers -> ``ValueError``
(``NetxFormatError`` for ``.net``), ``FileNotFoundError`` only where a missing file is the caller's mistake.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import h5py
import nir
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

import hw_targets
import neurokit as nk
from hw_targets.loihi2.netx import NetxFormatError, load_netx
from neurokit.data.shd import SpikeHDF5Dataset
from neurokit.errors import CompileError

torch.manual_seed(0)


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable
    error: type
    pattern: str


CASES: list[Case] = []


def add(id_: str, call: Callable, error, pattern: str) -> None:
    CASES.append(Case(id_, call, error, pattern))


def spikes(T=4, B=2, F=4):
    return (torch.rand(T, B, F, generator=torch.Generator().manual_seed(T * 100 + B * 10 + F)) > 0.5).float()


def net(n_in=4, n_out=3, neuron=nk.IF):
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(n_in, 6), neuron(), nn.Linear(6, n_out), neuron())


@functools.cache
def compiled(target: str, **options):
    return nk.compile(net(), target=target, example_input=spikes(), **options)


class Wrap(nn.Module):
    """``inner`` then a Linear readout; tuple outputs (RNNs, attention) take their first element."""

    def __init__(self, inner: nn.Module, width: int):
        super().__init__()
        self.inner, self.fc = inner, nn.Linear(width, 3)

    def forward(self, x):
        y = self.inner(x, x, x) if isinstance(self.inner, nn.MultiheadAttention) else self.inner(x)
        return self.fc(y[0] if isinstance(y, tuple) else y)


def poisoned(where: str, value: float) -> nn.Module:
    model = net()
    with torch.no_grad():
        getattr(model, where.split(".")[0])  # noqa: B018
        dict(model.named_parameters())[where].view(-1)[0] = value
    return model


def with_bn_nan():
    model = nn.Sequential(nn.Linear(4, 6), nk.layers.BatchNorm1d(6), nk.IF())
    model[1].running_var[2] = math.nan
    return model


def tiny_weights():
    model = net()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e-30)
    return model


# ---------------------------------------------------------------- nk.compile: model, target, example input
TARGETS = ("gpu", "onnx_int", "loihi2", "nir")
for tgt in TARGETS:
    add(f"compile-{tgt}-example-missing", lambda _t, g=tgt: nk.compile(net(), target=g), ValueError, "example_input")
    add(f"compile-{tgt}-example-list", lambda _t, g=tgt: nk.compile(net(), target=g, example_input=[[0.0]]),
        ValueError, "example_input")
    add(f"compile-{tgt}-example-rank2", lambda _t, g=tgt: nk.compile(net(), target=g, example_input=torch.ones(2, 4)),
        ValueError, "example_input.*rank")
    add(f"compile-{tgt}-example-int", lambda _t, g=tgt: nk.compile(
        net(), target=g, example_input=torch.ones(4, 2, 4, dtype=torch.int32)), ValueError, "example_input.*dtype")
    add(f"compile-{tgt}-example-T0", lambda _t, g=tgt: nk.compile(net(), target=g, example_input=spikes(T=0)),
        ValueError, r"example_input.*T >= 1.*\(0, 2, 4\)")
    add(f"compile-{tgt}-example-B0", lambda _t, g=tgt: nk.compile(net(), target=g, example_input=spikes(B=0)),
        ValueError, r"example_input.*B >= 1.*\(4, 0, 4\)")
    add(f"compile-{tgt}-example-nan", lambda _t, g=tgt: nk.compile(
        net(), target=g, example_input=torch.full((4, 2, 4), math.nan)), ValueError, "example_input contains NaN")
    add(f"compile-{tgt}-example-features", lambda _t, g=tgt: nk.compile(net(), target=g, example_input=spikes(F=7)),
        ValueError, r"example_input of shape \(4, 2, 7\)")
    add(f"compile-{tgt}-nan-weight", lambda _t, g=tgt: nk.compile(
        poisoned("0.weight", math.nan), target=g, example_input=spikes()), ValueError, "parameter '0.weight'.*NaN")
    add(f"compile-{tgt}-inf-bias", lambda _t, g=tgt: nk.compile(
        poisoned("2.bias", math.inf), target=g, example_input=spikes()), ValueError, "parameter '2.bias'.*Inf")
    add(f"compile-{tgt}-nan-bn-buffer", lambda _t, g=tgt: nk.compile(with_bn_nan(), target=g,
                                                                      example_input=spikes()),
        ValueError, "buffer '1.running_var'")
    add(f"compile-{tgt}-unknown-option", lambda _t, g=tgt: nk.compile(net(), target=g, example_input=spikes(),
                                                                       bogus=1), ValueError, "bogus")
    for mod_name, inner, width in (("LSTM", lambda: nn.LSTM(4, 5), 5), ("GRU", lambda: nn.GRU(4, 5), 5),
                                   ("RNN", lambda: nn.RNN(4, 5), 5),
                                   ("MultiheadAttention", lambda: nn.MultiheadAttention(4, 2), 4),
                                   ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(4, 2, 8), 4)):
        add(f"compile-{tgt}-{mod_name}", lambda _t, g=tgt, m=inner, w=width: nk.compile(
            Wrap(m(), w), target=g, example_input=spikes()), CompileError,
            rf"unsupported module 'inner' \({mod_name}\): use ")
for bad in ("tpu", "", "ONNX"):
    add(f"compile-target-{bad or 'empty'}", lambda _t, b=bad: nk.compile(net(), target=b, example_input=spikes()),
        ValueError, f"target|{bad}")
add("compile-model-not-module", lambda _t: nk.compile("net", target="gpu", example_input=spikes()), ValueError,
    "model")
add("compile-gpu-device-cuda-99", lambda _t: nk.compile(net(), target="gpu", example_input=spikes(),
                                                          device="cuda:99"), ValueError,
    r"gpu: device: 'cuda:99' is not available here.*available: 'auto', 'cpu'")
add("compile-gpu-device-unknown-name", lambda _t: nk.compile(net(), target="gpu", example_input=spikes(),
                                                             device="tpu"), ValueError, r"gpu: device: 'tpu'")
add("compile-onnx-weight_bits-str", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                          weight_bits="8"), TypeError, "weight_bits.*str")
add("compile-onnx-weight_bits-float", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                            weight_bits=8.0), TypeError, "weight_bits")
add("compile-onnx-weight_bits-12", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                         weight_bits=12), ValueError, "weight_bits")
add("compile-onnx-weight_bits-0", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                        weight_bits=0), ValueError, "weight_bits")
add("compile-onnx-per_channel-str", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                          per_channel="yes"), TypeError, "per_channel")
add("compile-onnx-time_loop", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                    time_loop="scan"), ValueError, "time_loop")
add("compile-onnx-steps-0", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                  time_loop="unrolled", steps=0), ValueError, "steps")
add("compile-onnx-steps-str", lambda _t: nk.compile(net(), target="onnx_int", example_input=spikes(),
                                                    time_loop="unrolled", steps="4"), TypeError, "steps")
add("compile-loihi2-weight_bits-str", lambda _t: nk.compile(net(), target="loihi2", example_input=spikes(),
                                                            weight_bits="8"), TypeError, "weight_bits.*str")
add("compile-loihi2-weight_bits-9", lambda _t: nk.compile(net(), target="loihi2", example_input=spikes(),
                                                          weight_bits=9), ValueError, "weight_bits")
add("compile-loihi2-core_limits", lambda _t: nk.compile(net(), target="loihi2", example_input=spikes(),
                                                        core_limits={"neurons": 4}), TypeError, "core_limits")
add("compile-loihi2-real-input", lambda _t: nk.compile(net(), target="loihi2", example_input=torch.rand(4, 2, 4)),
    CompileError, "input.*binary spikes")
add("compile-nir-dt-zero", lambda _t: nk.compile(net(), target="nir", example_input=spikes(), dt=0.0), ValueError,
    "dt")
add("compile-nir-dt-str", lambda _t: nk.compile(net(), target="nir", example_input=spikes(), dt="1ms"), TypeError,
    "dt")
add("compile-onnx-alif", lambda _t: nk.compile(net(neuron=nk.ALIF), target="onnx_int", example_input=spikes()),
    CompileError, "ALIF|alif")
add("compile-onnx-tiny-weights", lambda _t: nk.compile(tiny_weights(), target="onnx_int", example_input=spikes()),
    CompileError, r"neuron '1' \(fed by '0'\).*overflows 64 bits.*rescale")
add("compile-loihi2-tiny-weights", lambda _t: nk.compile(tiny_weights(), target="loihi2", example_input=spikes()),
    CompileError, r"neuron '1' \(fed by '0'\).*overflows")

# ---------------------------------------------------------------- cm.run, per target
RUN_BAD = {
    "list": (lambda: [[0.0] * 4], "torch.Tensor"),
    "rank2": (lambda: spikes()[0], r"\[T, B, 4\]"),
    "features": (lambda: spikes(F=5), r"\[T, B, 4\].*\(4, 2, 5\)"),
    "int": (lambda: spikes().long(), "dtype"),
    "T0": (lambda: spikes(T=0), "T=0"),
    "B0": (lambda: spikes(B=0), "B=0"),
    "nan": (lambda: torch.full((4, 2, 4), math.nan), "NaN"),
}
for tgt in TARGETS:
    for label, (make, pattern) in RUN_BAD.items():
        add(f"run-{tgt}-{label}", lambda _t, g=tgt, m=make: compiled(g).run(m()), ValueError,
            rf"run \({tgt}\).*{pattern}")
add("run-onnx-unrolled-more-steps", lambda _t: compiled("onnx_int", time_loop="unrolled").run(spikes(T=9)),
    ValueError, "T=9 steps but this model was unrolled for T=4")
add("run-onnx-unrolled-fewer-steps", lambda _t: compiled("onnx_int", time_loop="unrolled").run(spikes(T=2)),
    ValueError, "T=2 steps.*unrolled for T=4")
add("run-onnx-artefact-real-input", lambda _t: compiled("onnx_int").artefact.run(torch.rand(4, 2, 4) * 0.5 + 0.2),
    ValueError, "spike")
add("run-loihi2-artefact-real-input", lambda _t: compiled("loihi2").artefact.run(torch.rand(4, 2, 4) * 0.5 + 0.2),
    ValueError, r"run \(loihi2\).*0/1 spikes")
add("run-loaded-onnx-T0", lambda t: (compiled("onnx_int").save(t / "m.onnx"), hw_targets.load(t / "m.onnx").run(
    spikes(T=0)))[1], ValueError, "T=0")
add("run-loaded-unrolled-steps", lambda t: (compiled("onnx_int", time_loop="unrolled").save(t / "u.onnx"),
                                            hw_targets.load(t / "u.onnx").run(spikes(T=6)))[1], ValueError,
    "unrolled for T=4")

# ---------------------------------------------------------------- cm.save
for tgt, ext in (("onnx_int", "onnx"), ("loihi2", "net"), ("nir", "nir")):
    add(f"save-{tgt}-into-directory", lambda t, g=tgt: compiled(g).save(t), ValueError, r"save: path .* is a folder")
    add(f"save-{tgt}-under-a-file", lambda t, g=tgt, e=ext: (t / "f").write_text("x") and compiled(g).save(
        t / "f" / "sub" / f"m.{e}"), ValueError, rf"cannot write .*m\.{ext}.*/f' is a file")

# ---------------------------------------------------------------- nk.energy
for tgt in ("cmos45", "loihi2", "onnx_int"):
    add(f"energy-{tgt}-eager-features", lambda _t, g=tgt: nk.energy(net(), spikes(F=7), target=g), ValueError,
        r"x of shape \(4, 2, 7\) does not fit the model at '0' \(Linear\)")
    add(f"energy-{tgt}-eager-T0", lambda _t, g=tgt: nk.energy(net(), spikes(T=0), target=g), ValueError, "T=0")
    add(f"energy-{tgt}-eager-B0", lambda _t, g=tgt: nk.energy(net(), spikes(B=0), target=g), ValueError, "B=0")
    add(f"energy-{tgt}-eager-list", lambda _t, g=tgt: nk.energy(net(), [1.0], target=g), ValueError, "x")
    add(f"energy-{tgt}-compiled-features", lambda _t, g=tgt: nk.energy(compiled("onnx_int"), spikes(F=7), target=g),
        ValueError, r"energy.*\[T, B, 4\].*\(4, 2, 7\)")
    add(f"energy-{tgt}-compiled-T0", lambda _t, g=tgt: nk.energy(compiled("loihi2"), spikes(T=0), target=g),
        ValueError, "energy.*T=0")
add("energy-unknown-target", lambda _t: nk.energy(net(), spikes(), target="abacus"), (KeyError, ValueError), "abacus")
add("energy-float-compiled", lambda _t: nk.energy(compiled("gpu"), spikes(), target="loihi2"), ValueError,
    "not quantized")


# ---------------------------------------------------------------- nk.from_nir
def nir_file(t, nodes: dict, edges: list, name="g.nir", metadata=None):
    path = t / name
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {}))
    return path


def lif_graph(t, tau=0.02, v_threshold=1.0, **kw):
    w = np.ones((3, 2), np.float32)
    nodes = {"input": nir.Input(input_type=np.array([2])),
             "fc": nir.Affine(weight=w, bias=np.zeros(3, np.float32)),
             "lif": nir.LIF(tau=np.full(3, tau), r=np.ones(3), v_leak=np.zeros(3),
                            v_threshold=np.full(3, v_threshold), **kw),
             "output": nir.Output(output_type=np.array([3]))}
    return nir_file(t, nodes, [("input", "fc"), ("fc", "lif"), ("lif", "output")])


add("from_nir-type", lambda _t: nk.from_nir(42), TypeError, "NIRGraph")
add("from_nir-missing", lambda t: nk.from_nir(t / "none.nir"), ValueError, "none.nir")
add("from_nir-garbage", lambda t: (t / "bad.nir").write_bytes(b"\x89HDF garbage") and nk.from_nir(t / "bad.nir"),
    ValueError, "bad.nir")
add("from_nir-empty-hdf5", lambda t: h5py.File(t / "e.nir", "w").close() or nk.from_nir(t / "e.nir"), ValueError,
    "e.nir.*node/nodes")
add("from_nir-tau-below-dt", lambda t: nk.from_nir(lif_graph(t, tau=1e-5), dt=1e-4), ValueError,
    r"g.nir: NIR node 'lif' \(LIF\): tau.*steps: tau / dt")
add("from_nir-tau-negative", lambda t: nk.from_nir(lif_graph(t, tau=-0.02)), ValueError, r"g.nir: NIR node 'lif'")
add("from_nir-threshold-nan", lambda t: nk.from_nir(lif_graph(t, v_threshold=math.nan)), ValueError,
    r"g.nir: NIR node 'lif'.*v_threshold")
add("from_nir-dt-negative", lambda t: nk.from_nir(lif_graph(t), dt=-1.0), ValueError, "dt")
add("from_nir-metadata-dt-zero", lambda t: nk.from_nir(nir_file(
    t, {"input": nir.Input(input_type=np.array([2])), "output": nir.Output(output_type=np.array([2]))},
    [("input", "output")], metadata={"dt": 0.0})), ValueError, "g.nir.*dt")
add("from_nir-unsupported-node", lambda t: nk.from_nir(nir_file(
    t, {"input": nir.Input(input_type=np.array([2])), "th": nir.Threshold(threshold=np.ones(2)),
        "output": nir.Output(output_type=np.array([2]))}, [("input", "th"), ("th", "output")])), ValueError,
    "node 'th'.*Threshold")
add("from_nir-bias-shape", lambda t: nk.from_nir(nir_file(
    t, {"input": nir.Input(input_type=np.array([2])),
        "fc": nir.Affine(weight=np.ones((3, 2), np.float32), bias=np.zeros(5, np.float32)),
        "output": nir.Output(output_type=np.array([3]))}, [("input", "fc"), ("fc", "output")])), ValueError,
    "node 'fc'")
add("from_nir-per-neuron-threshold", lambda t: nk.from_nir(nir_file(
    t, {"input": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.ones((2, 2), np.float32)),
        "lif": nir.LIF(tau=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.array([1.0, 2.0])),
        "output": nir.Output(output_type=np.array([2]))}, [("input", "fc"), ("fc", "lif"), ("lif", "output")])),
    ValueError, "node 'lif'.*v_threshold.*differs")


def strip_field(path, node: str, field: str):
    with h5py.File(path, "r+") as f:
        del f[f"node/nodes/{node}/{field}"]
    return path


add("from_nir-missing-field", lambda t: nk.from_nir(strip_field(lif_graph(t), "lif", "tau")), ValueError,
    r"node 'lif' \(LIF\): missing field 'tau'")
add("from_nir-missing-type", lambda t: nk.from_nir(strip_field(lif_graph(t), "fc", "type")), ValueError,
    "node 'fc': field 'type' is missing")


# ---------------------------------------------------------------- load_netx
def netx(t, edit=None):
    path = t / "n.net"
    compiled("loihi2").save(path)
    if edit is not None:
        with h5py.File(path, "r+") as f:
            edit(f)
    return path


def _set(key, value):
    def edit(f):
        del f[key]
        f[key] = value
    return edit


add("load_netx-missing", lambda t: load_netx(t / "none.net"), NetxFormatError, "none.net")
add("load_netx-garbage", lambda t: (t / "g.net").write_bytes(b"not hdf5") and load_netx(t / "g.net"),
    NetxFormatError, "g.net")
add("load_netx-no-layer", lambda t: load_netx(netx(t, lambda f: f.__delitem__("layer"))), NetxFormatError,
    "n.net: missing group 'layer'")
add("load_netx-layer-names", lambda t: load_netx(netx(t, lambda f: f.move("layer/1", "layer/7"))),
    NetxFormatError, "0..n-1")
add("load_netx-block-type", lambda t: load_netx(netx(t, _set("layer/1/type", np.array([b"lstm"])))),
    NetxFormatError, "layer/1.*'lstm'")
add("load_netx-missing-weight", lambda t: load_netx(netx(t, lambda f: f.__delitem__("layer/1/weight"))),
    NetxFormatError, "layer/1.*'weight'")
add("load_netx-missing-vth", lambda t: load_netx(netx(t, lambda f: f.__delitem__("layer/1/neuron/vThMant"))),
    NetxFormatError, "layer/1.*vThMant")
add("load_netx-decay-range", lambda t: load_netx(netx(t, _set("layer/1/neuron/vDecay", np.int64(5000)))),
    NetxFormatError, "layer/1.*vDecay")
add("load_netx-weight-range", lambda t: load_netx(netx(t, _set("layer/1/weight", np.full((6, 4), 1e6, np.float32)))),
    NetxFormatError, "layer/1.*weight")


# ---------------------------------------------------------------- hw_targets.load
def foreign_onnx(t):
    g = helper.make_graph([helper.make_node("Relu", ["a"], ["b"])], "g",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(g), str(t / "foreign.onnx"))
    return t / "foreign.onnx"


def edited_onnx(t, key, value):
    model = compiled("onnx_int").artefact.model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    helper.set_model_props(copy, {**{p.key: p.value for p in model.metadata_props}, key: value})
    onnx.save(copy, str(t / "edited.onnx"))
    return t / "edited.onnx"


add("load-missing", lambda t: hw_targets.load(t / "none.onnx"), ValueError, "none.onnx")
add("load-garbage", lambda t: (t / "g.onnx").write_bytes(b"\x01\x02garbage") and hw_targets.load(t / "g.onnx"),
    ValueError, "g.onnx")
add("load-empty", lambda t: (t / "e.onnx").write_bytes(b"") or hw_targets.load(t / "e.onnx"), ValueError, "e.onnx")
add("load-foreign", lambda t: hw_targets.load(foreign_onnx(t)), ValueError,
    "foreign.onnx.*not an ONNX model written by")
add("load-input-shape-not-json", lambda t: hw_targets.load(edited_onnx(t, "neurokit.input_shape", "[4")), ValueError,
    "edited.onnx.*input_shape")
add("load-input-shape-negative", lambda t: hw_targets.load(edited_onnx(t, "neurokit.input_shape", "[-4]")), ValueError,
    "edited.onnx.*input_shape")
add("load-directory", lambda t: hw_targets.load(t / "d.onnx" if (t / "d.onnx").mkdir() is None else t), ValueError,
    "no file at .*d.onnx")


# ---------------------------------------------------------------- SHD / SSC HDF5 files
def shd_file(t, times=((0.1, 0.5), (0.2,)), units=((1, 2), (3,)), labels=(0, 1), drop=None):
    path = t / "s.h5"
    with h5py.File(path, "w") as f:
        tt = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(np.float64))
        uu = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.asarray(units[0]).dtype
                                                                                      if len(units) else np.int64))
        for i, v in enumerate(times):
            tt[i] = np.asarray(v, np.float64)
        for i, v in enumerate(units):
            uu[i] = np.asarray(v)
        f["labels"] = np.asarray(labels)
        if drop:
            del f[drop]
    return path


for field in ("spikes/times", "spikes/units", "labels"):
    add(f"shd-missing-{field}", lambda t, d=field: nk.data.shd(shd_file(t, drop=d)), ValueError,
        f"s.h5: missing field '{field}'")
add("shd-lengths", lambda t: nk.data.shd(shd_file(t, labels=(0, 1, 1))), ValueError, "s.h5: field 'spikes/times'")
add("shd-float-labels", lambda t: nk.data.shd(shd_file(t, labels=(0.0, 1.0))), ValueError, "'labels' has dtype")
add("shd-labels-range", lambda t: nk.data.shd(shd_file(t, labels=(0, 20))), ValueError, r"'labels'.*\[0, 20\)")
add("shd-labels-negative", lambda t: nk.data.shd(shd_file(t, labels=(-1, 0))), ValueError, "'labels'")
add("ssc-labels-range", lambda t: nk.data.ssc(shd_file(t, labels=(0, 35))), ValueError, r"\[0, 35\)")
add("shd-units-range", lambda t: nk.data.shd(shd_file(t, units=((1, 700), (3,)))), ValueError,
    "sample 0.*'spikes/units'.*700")
add("shd-units-negative", lambda t: nk.data.shd(shd_file(t, units=((1, -2), (3,)))), ValueError, "'spikes/units'")
add("shd-units-float", lambda t: nk.data.shd(shd_file(t, units=((1.0, 2.0), (3.0,)))), ValueError,
    "'spikes/units' has dtype")
add("shd-units-length", lambda t: nk.data.shd(shd_file(t, units=((1,), (3,)))), ValueError, "'spikes/units'.*shape")
add("shd-times-negative", lambda t: nk.data.shd(shd_file(t, times=((-0.1, 0.5), (0.2,)))), ValueError,
    "sample 0.*'spikes/times'")
add("shd-times-nan", lambda t: nk.data.shd(shd_file(t, times=((math.nan, 0.5), (0.2,)))), ValueError,
    "'spikes/times'.*finite")
add("shd-times-milliseconds", lambda t: nk.data.shd(shd_file(t, times=((100.0, 850.0), (0.2,)))), ValueError,
    "sample 0.*'spikes/times'.*milliseconds")
add("shd-times-milliseconds-later-sample", lambda t: nk.data.shd(shd_file(t, times=((0.1, 0.5), (700.0,))))[1],
    ValueError, "sample 1.*milliseconds")
add("shd-index", lambda t: nk.data.shd(shd_file(t))[5], IndexError, "index")
add("shd-not-hdf5", lambda t: (t / "x.h5").write_bytes(b"\x00" * 64) and SpikeHDF5Dataset(t / "x.h5"), ValueError,
    "x.h5")


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_naming_the_culprit(c: Case, tmp_path):
    with pytest.raises(c.error) as info:
        c.call(tmp_path)
    assert info.match(c.pattern), f"{c.id}: message {str(info.value)!r} does not name the culprit ({c.pattern!r})"


def test_refused_save_writes_nothing(tmp_path):
    """Validate before writing: a refused compile leaves the output folder as it was."""
    with pytest.raises(ValueError):
        nk.compile(poisoned("0.weight", math.nan), target="onnx_int", example_input=spikes())
    assert list(tmp_path.iterdir()) == []
