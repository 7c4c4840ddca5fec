"""Fuzzing of every file reader with hypothesis-generated corruptions of small valid files written by the test.

Each reader gets 500 examples per CI run (``derandomize=True``: the same examples every run, so the suite cannot
flake; ``deadline=None``: no timing dependence). A corruption is a truncation, bit flips, overwritten or inserted
bytes, or a structured edit (a field deleted, or replaced by a value of the wrong dtype / shape / range). The only
outcomes allowed are a valid load or the reader's documented error:

=================================================  ===========================  ================================
reader                                             file                         documented error
=================================================  ===========================  ================================
``hw_targets.load``                                   ``.onnx`` (integer ONNX)     ``ValueError``
``hw_targets.loihi2.netx.load_netx``               ``.net`` (netx HDF5)         ``NetxFormatError(ValueError)``
``nk.from_nir``                                    ``.nir`` (NIR HDF5)          ``ValueError``
``neurokit.training.load_checkpoint``              ``.safetensors``             ``ValueError``
``neurokit.cli.presets.load_run``                  ``run.json``                 ``ValueError``
``neurokit.cli.train_plan.read_config``   ``.toml`` / ``.yaml``        ``ValueError``, ``UsageError``
``nk.data.shd`` (+ reading every sample)           SHD HDF5                     ``ValueError``
``NMNISTDataset`` / ``read_events``                N-MNIST ``.bin``             ``ValueError``
=================================================  ===========================  ================================

Counts: 8 readers x 500 examples = 4000 fuzz examples per run (``FUZZ_EXAMPLES``). A valid load must also give a
usable result (a model that runs, a dataset whose samples have the promised shape), so "no exception" is not
enough to pass.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import hw_targets
import neurokit as nk
from hw_targets.loihi2.netx import NetxFormatError, load_netx
from neurokit.data.nmnist import NMNISTDataset, write_events
from neurokit.training.checkpoint import load_checkpoint, save_checkpoint
from tests.helpers.shd_files import write_small_shd

FUZZ_EXAMPLES = 500
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- corruption strategies
@st.composite
def byte_corruption(draw, size: int):
    """(kind, args) applied by :func:`corrupt` to a file of ``size`` bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "zero_tail"]))
    if kind == "truncate":
        return kind, draw(st.integers(0, max(size - 1, 0)))
    if kind == "flip":
        return kind, draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 7)), min_size=1, max_size=8))
    if kind == "overwrite":
        return kind, (draw(st.integers(0, size - 1)), draw(st.binary(min_size=1, max_size=16)))
    if kind == "insert":
        return kind, (draw(st.integers(0, size)), draw(st.binary(min_size=1, max_size=16)))
    return kind, draw(st.integers(0, max(size - 1, 0)))


def corrupt(data: bytes, corruption) -> bytes:
    kind, arg = corruption
    buf = bytearray(data)
    if kind == "truncate":
        return bytes(buf[:arg])
    if kind == "flip":
        for pos, bit in arg:
            buf[pos] ^= 1 << bit
        return bytes(buf)
    if kind == "overwrite":
        pos, chunk = arg
        buf[pos:pos + len(chunk)] = chunk
        return bytes(buf[:len(data)])
    if kind == "insert":
        pos, chunk = arg
        return bytes(buf[:pos] + chunk + buf[pos:])
    return bytes(buf[:arg] + b"\x00" * (len(buf) - arg))


ODD_ARRAYS = st.one_of(
    st.sampled_from([np.array(np.nan), np.array([np.inf, -np.inf]), np.array([]), np.array(-1),
                     np.array([2 ** 62], np.int64), np.array([-(2 ** 31)], np.int64), np.array([True, False]),
                     np.zeros((2, 3, 4), np.float32), np.array([b"abc"]), np.array(1e30), np.array([0.5, -7.25]),
                     np.zeros((0, 3)), np.arange(7, dtype=np.int8), np.array([255], np.uint8)]),
    st.builds(lambda v, dt, n: np.full(n, v).astype(dt), st.integers(-70000, 70000),
              st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.float32, np.float64, np.uint8]),
              st.integers(0, 6)),
)


def hdf5_datasets(path) -> list[str]:
    names: list[str] = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(names)


@st.composite
def hdf5_edit(draw, names: list[str]):
    """Delete a dataset or replace it with an odd array (wrong dtype / shape / out-of-range values)."""
    return draw(st.sampled_from(names)), draw(st.one_of(st.none(), ODD_ARRAYS))


def apply_hdf5_edit(path, edit) -> None:
    name, value = edit
    with h5py.File(path, "r+") as f:
        del f[name]
        if value is not None:
            f[name] = value


def file_mutation(valid: bytes, path_for_names=None):
    """Byte corruptions of ``valid`` or, for HDF5 files, structured dataset edits too."""
    strategies = [st.tuples(st.just("bytes"), byte_corruption(len(valid)))]
    if path_for_names is not None:
        strategies.append(st.tuples(st.just("hdf5"), hdf5_edit(hdf5_datasets(path_for_names))))
    return st.one_of(*strategies)


def write_mutated(folder: str, name: str, valid: bytes, mutation) -> str:
    path = os.path.join(folder, name)
    kind, arg = mutation
    with open(path, "wb") as f:
        f.write(valid if kind == "hdf5" else corrupt(valid, arg))
    if kind == "hdf5":
        apply_hdf5_edit(path, arg)
    return path


def expect_valid_or(errors, load, check=None):
    """Run ``load()``; a documented error passes, anything else fails; a valid load must pass ``check``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = load()
        except errors:
            return
    if check is not None:
        check(result)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield d


def spikes(T=3, B=1, F=4):
    return (torch.arange(T * B * F).reshape(T, B, F) % 3 == 0).float()


def tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nk.IF(), nn.Linear(3, 2), nk.IF())


# ---------------------------------------------------------------- .onnx via hw_targets.load
@pytest.fixture(scope="module")
def valid_onnx(folder):
    path = os.path.join(folder, "valid.onnx")
    nk.compile(tiny_net(), target="onnx_int", example_input=spikes()).save(path)
    with open(path, "rb") as f:
        return f.read()


def test_fuzz_onnx_load(valid_onnx, folder):
    @FUZZ
    @given(mutation=file_mutation(valid_onnx))
    def run(mutation):
        path = write_mutated(folder, "m.onnx", valid_onnx, mutation)
        expect_valid_or(ValueError, lambda: hw_targets.load(path), lambda prog: prog.run(spikes()))

    run()


# ---------------------------------------------------------------- .net via load_netx
@pytest.fixture(scope="module")
def valid_net(folder):
    path = os.path.join(folder, "valid.net")
    nk.compile(tiny_net(), target="loihi2", example_input=spikes()).save(path)
    with open(path, "rb") as f:
        return f.read(), path


def test_fuzz_netx_load(valid_net, folder):
    data, names_from = valid_net

    def check(net):
        from hw_targets.loihi2.simulator import simulate
        simulate(net, np.ones((2, 1, net.sizes[0])))

    @FUZZ
    @given(mutation=file_mutation(data, names_from))
    def run(mutation):
        path = write_mutated(folder, "m.net", data, mutation)
        expect_valid_or(NetxFormatError, lambda: load_netx(path), check)

    run()


# ---------------------------------------------------------------- .nir via nk.from_nir
@pytest.fixture(scope="module")
def valid_nir(folder):
    path = os.path.join(folder, "valid.nir")
    nk.compile(tiny_net(), target="nir", example_input=spikes()).save(path)
    with open(path, "rb") as f:
        return f.read(), path


def test_fuzz_nir_load(valid_nir, folder):
    data, names_from = valid_nir

    def check(model):
        with torch.no_grad():
            model(spikes())

    @FUZZ
    @given(mutation=file_mutation(data, names_from))
    def run(mutation):
        path = write_mutated(folder, "m.nir", data, mutation)
        expect_valid_or(ValueError, lambda: nk.from_nir(path), check)

    run()


# ---------------------------------------------------------------- safetensors checkpoints
@pytest.fixture(scope="module")
def valid_ckpt(folder):
    path = os.path.join(folder, "valid.safetensors")
    model = tiny_net()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(spikes()).sum().backward()
    opt.step()
    save_checkpoint(path, model, opt, meta={"epoch": 1, "history": [{"loss": 0.5}]})
    with open(path, "rb") as f:
        return f.read()


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 40, 2 ** 40) | st.floats()
                           | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3), max_leaves=6)


def test_fuzz_checkpoint_load(valid_ckpt, folder):
    header_len = int.from_bytes(valid_ckpt[:8], "little")
    header = json.loads(valid_ckpt[8:8 + header_len])
    meta = json.loads(header["__metadata__"]["neurokit"])

    def with_header(field_path, value) -> bytes:
        new = json.loads(json.dumps(meta))
        target = new
        for key in field_path[:-1]:
            target = target[key]
        target[field_path[-1]] = value
        h = dict(header, __metadata__={"neurokit": json.dumps(new)})
        raw = json.dumps(h).encode()
        return len(raw).to_bytes(8, "little") + raw + valid_ckpt[8 + header_len:]

    fields = st.sampled_from([("version",), ("meta",), ("optimizer",), ("scaler",), ("optimizer", "param_groups"),
                              ("optimizer", "scalars"), ("meta", "epoch")])
    mutation = st.one_of(st.tuples(st.just("bytes"), byte_corruption(len(valid_ckpt))),
                         st.tuples(st.just("json"), st.tuples(fields, JSON_VALUES)))

    @FUZZ
    @given(mutation=mutation)
    def run(mutation):
        kind, arg = mutation
        data = corrupt(valid_ckpt, arg) if kind == "bytes" else with_header(*arg)
        path = os.path.join(folder, "m.safetensors")
        with open(path, "wb") as f:
            f.write(data)
        model = tiny_net()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        expect_valid_or(ValueError, lambda: load_checkpoint(path, model, opt))

    run()


# ---------------------------------------------------------------- run.json via load_run
@pytest.fixture(scope="module")
def valid_run(folder):
    from neurokit.cli.presets import build_model, write_run
    run_dir = os.path.join(folder, "run")
    record = {"preset": "binary_mlp", "model": {"in_features": 4, "hidden": [3], "num_classes": 2}, "data": "digits",
              "epochs": 1, "seed": 0}
    model = build_model(record["preset"], record["model"])
    save_checkpoint(os.path.join(run_dir, "last.safetensors"), model, meta={"epoch": 0})
    write_run(run_dir, record)
    with open(os.path.join(run_dir, "run.json"), "rb") as f:
        return run_dir, f.read(), record


SMALL_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 64) | st.floats(-1e3, 1e3) | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=5)


def test_fuzz_run_json_load(valid_run):
    from neurokit.cli.presets import load_run
    run_dir, valid, record = valid_run
    keys = st.sampled_from([("preset",), ("model",), ("model", "in_features"), ("model", "hidden"),
                            ("model", "num_classes"), ("model", "spiking"), ("model", "bogus"), ("seed",)])
    mutation = st.one_of(st.tuples(st.just("bytes"), byte_corruption(len(valid))),
                         st.tuples(st.just("json"), st.tuples(keys, SMALL_JSON)),
                         st.tuples(st.just("whole"), SMALL_JSON))

    @FUZZ
    @given(mutation=mutation)
    def run(mutation):
        kind, arg = mutation
        if kind == "bytes":
            data = corrupt(valid, arg)
        elif kind == "whole":
            data = json.dumps(arg).encode()
        else:
            new = json.loads(json.dumps(record))
            target = new
            for key in arg[0][:-1]:
                target = target[key]
            target[arg[0][-1]] = arg[1]
            data = json.dumps(new).encode()
        with open(os.path.join(run_dir, "run.json"), "wb") as f:
            f.write(data)
        expect_valid_or(ValueError, lambda: load_run(run_dir), lambda out: out[0](spikes()))

    run()


# ---------------------------------------------------------------- configs via read_config
CONFIG = ('preset = "binary_mlp"\ndata = "digits"\nepochs = 2\nbatch_size = 16\nlr = 0.001\nseed = 0\n'
          '[model]\nhidden = [8]\n')


def test_fuzz_config_read(folder):
    from neurokit.cli.checks import UsageError
    from neurokit.cli.train_plan import read_config
    valid = CONFIG.encode()
    yaml_valid = b"preset: binary_mlp\nepochs: 2\nlr: 0.001\nmodel:\n  hidden: [8]\n"
    mutation = st.tuples(st.sampled_from([".toml", ".yaml"]), byte_corruption(len(valid)),
                         st.one_of(st.none(), st.tuples(st.sampled_from(["epochs", "lr", "model", "seed", "oops"]),
                                                        SMALL_JSON)))

    @FUZZ
    @given(mutation=mutation)
    def run(mutation):
        ext, corruption, edit = mutation
        base = valid if ext == ".toml" else yaml_valid
        data = corrupt(base, (corruption[0], corruption[1])) if corruption[0] != "flip" or \
            max(p for p, _ in corruption[1]) < len(base) else base
        if edit is not None:
            data += f"\n{edit[0]}: {json.dumps(edit[1])}\n".encode() if ext == ".yaml" else \
                f"\n{edit[0]} = {json.dumps(edit[1])}\n".encode()
        path = os.path.join(folder, "cfg" + ext)
        with open(path, "wb") as f:
            f.write(data)
        expect_valid_or((ValueError, UsageError), lambda: read_config(path),
                        lambda cfg: isinstance(cfg, dict) or pytest.fail(cfg))

    run()


# ---------------------------------------------------------------- SHD HDF5
@pytest.fixture(scope="module")
def valid_shd(folder):
    path = os.path.join(folder, "valid.h5")
    write_small_shd(path)
    with open(path, "rb") as f:
        return f.read(), path


def test_fuzz_shd_read(valid_shd, folder):
    data, names_from = valid_shd

    def load(path):
        ds = nk.data.shd(path, T=10, dt=0.1, pool=70)
        return [ds[i] for i in range(len(ds))]

    def check(samples):
        assert all(x.shape == (10, 10) and 0 <= y < 20 for x, y in samples)

    # Byte damage anywhere (the vlen heap included: libhdf5's own vlen read loops forever on a free-space block
    # of size 0, so the reader reads the per-sample arrays itself, neurokit/data/hdf5_vlen.py) and structured edits.
    @FUZZ
    @given(mutation=file_mutation(data, names_from))
    def run(mutation):
        path = write_mutated(folder, "m.h5", data, mutation)
        expect_valid_or(ValueError, lambda: load(path), check)

    run()


# ---------------------------------------------------------------- N-MNIST binary events
def test_fuzz_nmnist_read(folder):
    valid_path = os.path.join(folder, "valid.bin")
    write_events(valid_path, x=[0, 33, 5, 12], y=[0, 33, 7, 1], p=[0, 1, 1, 0], t=[0, 1000, 250_000, 299_999])
    with open(valid_path, "rb") as f:
        valid = f.read()

    @FUZZ
    @given(mutation=st.tuples(st.just("bytes"), byte_corruption(len(valid))), label=st.integers(-3, 12))
    def run(mutation, label):
        path = write_mutated(folder, "m.bin", valid, mutation)

        def load():
            ds = NMNISTDataset(files=[(path, label)], T=6, dt_us=50_000)
            return ds[0], ds.num_classes

        def check(out):
            (x, y), classes = out
            assert x.shape == (6, 2, 34, 34) and 0 <= y < classes

        expect_valid_or(ValueError, load, check)

    run()
