"""Bad input to the `neurokit` command line, one table row per (command, bad option / value / file).

Every row runs ``neurokit.cli.main(argv)`` in-process and asserts: exit code 2; exactly one ``neurokit: error:``
line on stderr that names the culprit (the option, config key + file, or path); no traceback; and no state changed:
the files under the test's folder (names and bytes) are the same after the refused command as before it.
A few rows that must go through a real process (exit code of ``python -m neurokit.cli``, torchrun workers, a
benchmark script's own code) are separate tests at the end.
"""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from neurokit.cli import main

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
RECORD = {"preset": "binary_mlp", "model": {}, "data": "digits", "data_args": {"T": 8, "encoding": "rate"},
          "epochs": 1, "seed": 0}


def _n_train() -> int:
    import neurokit as nk

    return len(nk.data.digits(T=8, encoding="rate")[0])


def _run_folder(d: Path, name="run", record=None, meta=None, preset="binary_mlp", model_args=None) -> Path:
    """A run folder as `neurokit train binary_mlp --epochs 1 --seed 0` (batch 64) leaves it (untrained weights)."""
    from neurokit.cli.presets import build_model
    from neurokit.training import save_checkpoint

    folder = d / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(RECORD if record is None else record))
    meta = {"seed": 0, "batch_size": 64, "epochs": 1, "n_train": _n_train(), "epoch": 0, "step_in_epoch": 5,
            "history": [], "partial": None, "world_size": 1, **(meta or {})}
    save_checkpoint(folder / "last.safetensors", build_model(preset, model_args or {}), meta=meta)
    return folder


def _file(d: Path, name: str, text: str) -> Path:
    (d / name).write_text(text)
    return d / name


def _toml(text):
    return lambda d: _file(d, "train.toml", text)


def _yaml(text):
    return lambda d: _file(d, "train.yaml", text)


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple                                  # "{d}" is the test's folder
    needles: tuple                               # all must appear in the error line ("{d}" substituted)
    setup: Optional[Callable[[Path], object]] = None


def _c(id, argv, needles, setup=None):
    return Case(id, tuple(argv.split()), (needles,) if isinstance(needles, str) else tuple(needles), setup)


CFG = "train --config {d}/train.toml --out {d}/out"
CASES = [
    # --- global usage -------------------------------------------------------------------------------------------
    _c("global-unknown-option", "--no-such-global", "No such option"),
    _c("global-unknown-command", "frobnicate", "No such command"),
    _c("global-debug-without-command", "--debug", "Missing command"),
    # --- train: preset and options ------------------------------------------------------------------------------
    _c("train-unknown-preset", "train no_such_preset --out {d}/out", ("PRESET", "'no_such_preset'", "binary_mlp")),
    _c("train-no-preset", "train --out {d}/out", "no preset given"),
    _c("train-epochs-zero", "train binary_mlp --epochs 0 --out {d}/out", ("--epochs", "got 0")),
    _c("train-epochs-negative", "train binary_mlp --epochs -3 --out {d}/out", ("--epochs", "-3")),
    _c("train-epochs-word", "train binary_mlp --epochs ten --out {d}/out", ("--epochs", "valid integer")),
    _c("train-epochs-float", "train binary_mlp --epochs 1.5 --out {d}/out", ("--epochs", "integer")),
    _c("train-batch-zero", "train binary_mlp --batch-size 0 --out {d}/out", ("--batch-size", "got 0")),
    _c("train-batch-word", "train binary_mlp --batch-size abc --out {d}/out", ("--batch-size", "valid integer")),
    _c("train-batch-larger-than-data", "train binary_mlp --batch-size 100000 --out {d}/out",
       ("--batch-size", "100000", "larger than the training set")),
    _c("train-lr-zero", "train binary_mlp --lr 0 --out {d}/out", ("--lr", "> 0")),
    _c("train-lr-negative", "train binary_mlp --lr -0.1 --out {d}/out", ("--lr", "-0.1")),
    _c("train-lr-nan", "train binary_mlp --lr nan --out {d}/out", ("--lr", "nan")),
    _c("train-lr-inf", "train binary_mlp --lr inf --out {d}/out", ("--lr", "inf")),
    _c("train-lr-word", "train binary_mlp --lr fast --out {d}/out", ("--lr", "valid number")),
    _c("train-seed-negative", "train binary_mlp --seed -1 --out {d}/out", ("--seed", "-1")),
    _c("train-seed-word", "train binary_mlp --seed x --out {d}/out", ("--seed", "valid integer")),
    _c("train-checkpoint-every-zero", "train binary_mlp --checkpoint-every 0 --out {d}/out",
       ("--checkpoint-every", "got 0")),
    _c("train-unknown-data", "train binary_mlp --data nope --out {d}/out", ("--data", "'nope'", "digits")),
    _c("train-data-shd-without-path", "train binary_mlp --data shd --out {d}/out", ("data set 'shd'", "path")),
    _c("train-extra-argument", "train binary_mlp extra --out {d}/out", ("unexpected extra argument", "extra")),
    _c("train-unknown-option", "train binary_mlp --no-such-opt", ("No such option", "--no-such-opt")),
    _c("train-device-cuda-99", "train binary_mlp --device cuda:99 --out {d}/out",
       ("--device: 'cuda:99' is not available here", "available: 'auto', 'cpu'")),
    _c("train-device-unknown-name", "train binary_mlp --device tpu --out {d}/out", ("--device: 'tpu'", "'auto'")),
    _c("train-out-is-a-file", "train binary_mlp --out {d}/afile", ("--out", "{d}/afile", "is a file"),
       lambda d: _file(d, "afile", "x")),
    _c("train-out-under-a-file", "train binary_mlp --epochs 1 --out {d}/afile/run", ("{d}/afile/run",),
       lambda d: _file(d, "afile", "x")),
    _c("train-out-unwritable", "train binary_mlp --epochs 1 --out /proc/neurokit-no-such/run",
       "/proc/neurokit-no-such/run"),
    # --- train: distributed options -----------------------------------------------------------------------------
    _c("train-nnodes-without-nproc", "train binary_mlp --nnodes 2 --out {d}/out", ("--nnodes", "--nproc")),
    _c("train-node-rank-without-nproc", "train binary_mlp --node-rank 1 --out {d}/out", ("--node-rank", "--nproc")),
    _c("train-master-addr-without-nproc", "train binary_mlp --master-addr h0 --out {d}/out",
       ("--master-addr", "--nproc")),
    _c("train-master-port-without-nproc", "train binary_mlp --master-port 1234 --out {d}/out",
       ("--master-port", "--nproc")),
    _c("train-nproc-zero", "train binary_mlp --nproc 0 --out {d}/out", ("nproc", "got 0")),
    _c("train-nproc-word", "train binary_mlp --nproc two --out {d}/out", ("--nproc", "valid integer")),
    _c("train-nproc-nnodes-zero", "train binary_mlp --nproc 2 --nnodes 0 --out {d}/out", ("nnodes", "got 0")),
    _c("train-nproc-node-rank-out-of-range", "train binary_mlp --nproc 2 --node-rank 5 --out {d}/out",
       ("node_rank", "5")),
    _c("train-nproc-bad-port", "train binary_mlp --nproc 2 --master-port 70000 --out {d}/out",
       ("master_port", "70000")),
    _c("train-nproc-batch-not-divisible", "train binary_mlp --nproc 3 --batch-size 64 --out {d}/out",
       ("batch_size", "64", "not divisible", "3")),
    _c("train-nproc-epochs-zero", "train binary_mlp --epochs 0 --nproc 2 --out {d}/out", ("--epochs", "got 0")),
    # --- train: config file -------------------------------------------------------------------------------------
    _c("config-missing", "train binary_mlp --config {d}/missing.toml", ("--config", "{d}/missing.toml",
                                                                        "does not exist")),
    _c("config-is-a-folder", "train binary_mlp --config {d}/cfgdir", ("--config", "{d}/cfgdir", "not a file"),
       lambda d: (d / "cfgdir").mkdir()),
    _c("config-wrong-extension", "train binary_mlp --config {d}/train.json", ("{d}/train.json", ".toml"),
       lambda d: _file(d, "train.json", "{}")),
    _c("config-broken-toml", CFG, ("{d}/train.toml", "cannot be parsed"), _toml("epochs = = 3\n")),
    _c("config-broken-yaml", "train --config {d}/train.yaml --out {d}/out", ("{d}/train.yaml", "cannot be parsed"),
       _yaml("epochs: [1, 2\n")),
    _c("config-yaml-list", "train --config {d}/train.yaml --out {d}/out", ("{d}/train.yaml", "table of keys"),
       _yaml("- 1\n- 2\n")),
    _c("config-binary-garbage", CFG, ("{d}/train.toml", "cannot be parsed", "decode"),
       lambda d: (d / "train.toml").write_bytes(b"\xff\xfe\x00garbage")),
    _c("config-unknown-key", CFG, ("{d}/train.toml", "unknown key(s) ['learning_rate']"),
       _toml('preset = "binary_mlp"\nlearning_rate = 0.1\n')),
    _c("config-epochs-word", CFG, ("{d}/train.toml", "key 'epochs'", "'ten'"), _toml('preset = "binary_mlp"\n'
                                                                                       'epochs = "ten"\n')),
    _c("config-epochs-zero", CFG, ("{d}/train.toml", "key 'epochs'", "got 0"), _toml('preset = "binary_mlp"\n'
                                                                                       'epochs = 0\n')),
    _c("config-epochs-float", CFG, ("{d}/train.toml", "key 'epochs'", "2.5"), _toml('preset = "binary_mlp"\n'
                                                                                      'epochs = 2.5\n')),
    _c("config-epochs-bool", CFG, ("{d}/train.toml", "key 'epochs'", "True"), _toml('preset = "binary_mlp"\n'
                                                                                      'epochs = true\n')),
    _c("config-lr-word", CFG, ("{d}/train.toml", "key 'lr'", "'fast'"), _toml('preset = "binary_mlp"\nlr = "fast"\n')),
    _c("config-lr-negative", CFG, ("{d}/train.toml", "key 'lr'", "-0.1"), _toml('preset = "binary_mlp"\nlr = -0.1\n')),
    _c("config-lr-nan", CFG, ("{d}/train.toml", "key 'lr'", "nan"), _toml('preset = "binary_mlp"\nlr = nan\n')),
    _c("config-batch-size-string", CFG, ("{d}/train.toml", "key 'batch_size'", "'64'"),
       _toml('preset = "binary_mlp"\nbatch_size = "64"\n')),
    _c("config-seed-negative", CFG, ("{d}/train.toml", "key 'seed'", "-5"), _toml('preset = "binary_mlp"\n'
                                                                                    'seed = -5\n')),
    _c("config-weight-decay-negative", CFG, ("{d}/train.toml", "key 'weight_decay'", "-1"),
       _toml('preset = "binary_mlp"\nweight_decay = -1\n')),
    _c("config-checkpoint-every-zero", CFG, ("{d}/train.toml", "key 'checkpoint_every'", "got 0"),
       _toml('preset = "binary_mlp"\ncheckpoint_every = 0\n')),
    _c("config-unknown-preset", CFG, ("{d}/train.toml", "key 'preset'", "'nope'"), _toml('preset = "nope"\n')),
    _c("config-preset-number", CFG, ("{d}/train.toml", "key 'preset'", "3"), _toml("preset = 3\n")),
    _c("config-unknown-data", CFG, ("{d}/train.toml", "key 'data'", "'nope'"), _toml('preset = "binary_mlp"\n'
                                                                                       'data = "nope"\n')),
    _c("config-model-not-a-table", CFG, ("{d}/train.toml", "key 'model'", "table"),
       _toml('preset = "binary_mlp"\nmodel = "big"\n')),
    _c("config-data-args-not-a-table", CFG, ("{d}/train.toml", "key 'data_args'", "table"),
       _toml('preset = "binary_mlp"\ndata_args = [1, 2]\n')),
    _c("config-unknown-model-argument", CFG, ("binary_mlp", "no_such_arg"),
       _toml('preset = "binary_mlp"\n[model]\nno_such_arg = 1\n')),
    _c("config-unknown-data-argument", CFG, ("data set 'digits'", "no_such"),
       _toml('preset = "binary_mlp"\n[data_args]\nno_such = 1\n')),
    _c("config-yaml-epochs-word", "train --config {d}/train.yaml --out {d}/out",
       ("{d}/train.yaml", "key 'epochs'", "'ten'"), _yaml("preset: binary_mlp\nepochs: ten\n")),
    _c("config-yaml-lr-list", "train --config {d}/train.yaml --out {d}/out", ("{d}/train.yaml", "key 'lr'"),
       _yaml("preset: binary_mlp\nlr: [1]\n")),
    # --- train --resume: refused before run.json is touched ------------------------------------------------------
    _c("resume-run-json-other-preset", "train quant_snn --epochs 1 --batch-size 64 --out {d}/run --resume",
       ("--resume", "{d}/run/run.json", "preset='binary_mlp'", "quant_snn"), lambda d: _run_folder(d)),
    _c("resume-run-json-other-seed", "train binary_mlp --epochs 1 --batch-size 64 --seed 1 --out {d}/run --resume",
       ("--resume", "seed=0", "seed=1"), lambda d: _run_folder(d)),
    _c("resume-run-json-other-epochs", "train binary_mlp --epochs 3 --batch-size 64 --out {d}/run --resume",
       ("--resume", "epochs=1", "epochs=3"), lambda d: _run_folder(d)),
    _c("resume-run-json-invalid", "train binary_mlp --epochs 1 --out {d}/run --resume",
       ("--resume", "{d}/run/run.json", "cannot be read"),
       lambda d: (_run_folder(d) / "run.json").write_text("{not json")),
    _c("resume-checkpoint-other-batch", "train binary_mlp --epochs 1 --batch-size 32 --out {d}/run --resume",
       ("--resume", "batch_size=64", "batch_size=32"), lambda d: _run_folder(d)),
    _c("resume-checkpoint-other-seed", "train binary_mlp --epochs 1 --batch-size 64 --out {d}/run --resume",
       ("--resume", "{d}/run/last.safetensors", "seed=7"), lambda d: _run_folder(d, meta={"seed": 7})),
    _c("resume-checkpoint-other-data-size", "train binary_mlp --epochs 1 --batch-size 64 --out {d}/run --resume",
       ("--resume", "n_train=5", "n_train"), lambda d: _run_folder(d, meta={"n_train": 5})),
    _c("resume-checkpoint-corrupt", "train binary_mlp --epochs 1 --batch-size 64 --out {d}/run --resume",
       ("--resume", "{d}/run/last.safetensors"),
       lambda d: (_run_folder(d) / "last.safetensors").write_bytes(b"\x00garbage" * 8)),
    _c("resume-checkpoint-other-model", "train binary_mlp --epochs 1 --batch-size 64 --out {d}/run --resume",
       ("--resume", "{d}/run/last.safetensors", "shape"),
       lambda d: _run_folder(d, model_args={"hidden": (16,)})),
    # --- compile ------------------------------------------------------------------------------------------------
    _c("compile-missing-run", "compile", "Missing argument 'run'"),
    _c("compile-run-does-not-exist", "compile {d}/nope", ("{d}/nope", "does not exist")),
    _c("compile-run-is-a-file", "compile {d}/afile", ("{d}/afile", "is a file"), lambda d: _file(d, "afile", "x")),
    _c("compile-run-without-run-json", "compile {d}/empty", ("{d}/empty/run.json", "missing"),
       lambda d: (d / "empty").mkdir()),
    _c("compile-run-without-checkpoint", "compile {d}/run", ("{d}/run/last.safetensors", "missing"),
       lambda d: (_run_folder(d) / "last.safetensors").unlink()),
    _c("compile-run-json-invalid", "compile {d}/run", ("{d}/run/run.json", "not valid JSON"),
       lambda d: (_run_folder(d) / "run.json").write_text("{oops")),
    _c("compile-run-json-no-preset", "compile {d}/run", ("{d}/run/run.json", "'preset'"),
       lambda d: _run_folder(d, record={"model": {}})),
    _c("compile-run-json-unknown-preset", "compile {d}/run", ("unknown preset", "'nope'"),
       lambda d: _run_folder(d, record={**RECORD, "preset": "nope"})),
    _c("compile-run-json-bad-model-args", "compile {d}/run", ("binary_mlp", "no_such_arg"),
       lambda d: _run_folder(d, record={**RECORD, "model": {"no_such_arg": 1}})),
    _c("compile-run-json-unknown-data", "compile {d}/run", ("data set", "'nope'"),
       lambda d: _run_folder(d, record={**RECORD, "data": "nope"})),
    _c("compile-checkpoint-corrupt", "compile {d}/run", ("{d}/run/last.safetensors", "cannot be loaded"),
       lambda d: (_run_folder(d) / "last.safetensors").write_bytes(b"\x00garbage" * 8)),
    _c("compile-checkpoint-other-model", "compile {d}/run", ("{d}/run/last.safetensors", "cannot be loaded", "shape"),
       lambda d: _run_folder(d, model_args={"hidden": (16,)})),
    _c("compile-unknown-target", "compile {d}/run --target fpga", ("--target", "'fpga'", "onnx_int"),
       lambda d: _run_folder(d)),
    _c("compile-gpu-with-out", "compile {d}/run --target gpu --out {d}/m.pt", ("--out", "gpu", "no file artefact"),
       lambda d: _run_folder(d)),
    _c("compile-out-is-a-folder", "compile {d}/run --out {d}/outdir", ("--out", "{d}/outdir", "folder"),
       lambda d: (_run_folder(d), (d / "outdir").mkdir())),
    _c("compile-out-unwritable", "compile {d}/run --target nir --out /proc/neurokit-no-such/m.nir",
       "/proc/neurokit-no-such/m.nir", lambda d: _run_folder(d)),
    _c("compile-unknown-option", "compile {d}/run --bogus", ("No such option", "--bogus")),
    _c("compile-gpu-device-cuda-99", "compile {d}/run --target gpu --device cuda:99",
       ("--device: 'cuda:99' is not available here", "'auto', 'cpu'"), lambda d: _run_folder(d)),
    _c("compile-device-with-file-target", "compile {d}/run --target nir --device cpu",
       ("--device", "only target 'gpu'"),
       lambda d: _run_folder(d)),
    _c("compile-extra-argument", "compile {d}/run extra", ("unexpected extra argument", "extra")),
    # --- energy -------------------------------------------------------------------------------------------------
    _c("energy-missing-model", "energy", "Missing argument 'model'"),
    _c("energy-run-does-not-exist", "energy {d}/nope", ("{d}/nope", "does not exist")),
    _c("energy-run-is-a-file", "energy {d}/afile", ("{d}/afile", "is a file"), lambda d: _file(d, "afile", "x")),
    _c("energy-run-without-run-json", "energy {d}/empty", ("{d}/empty/run.json", "missing"),
       lambda d: (d / "empty").mkdir()),
    _c("energy-checkpoint-corrupt", "energy {d}/run", ("{d}/run/last.safetensors", "cannot be loaded"),
       lambda d: (_run_folder(d) / "last.safetensors").write_bytes(b"\x00garbage" * 8)),
    _c("energy-unknown-target", "energy {d}/run --target tpu", ("--target", "'tpu'", "loihi2"),
       lambda d: _run_folder(d)),
    _c("energy-one-unknown-target-of-two", "energy {d}/run --target loihi2 --target tpu", ("--target", "'tpu'"),
       lambda d: _run_folder(d)),
    _c("energy-plot-is-a-file", "energy {d}/run --plot {d}/afile", ("--plot", "{d}/afile", "folder"),
       lambda d: (_run_folder(d), _file(d, "afile", "x"))),
    _c("energy-unknown-option", "energy demo --bogus", ("No such option", "--bogus")),
    # --- bench / demo -------------------------------------------------------------------------------------------
    _c("bench-unknown-name", "bench nope", ("unknown benchmark", "'nope'", "time_loop")),
    _c("bench-unknown-second-name", "bench time_loop nope", ("unknown benchmark", "'nope'")),
    _c("demo-out-under-a-file", "demo --quick --out {d}/afile/demo", ("{d}/afile",),
       lambda d: _file(d, "afile", "x")),
    _c("demo-seed-word", "demo --seed x", ("--seed", "valid integer")),
    _c("demo-unknown-option", "demo --bogus", ("No such option", "--bogus")),
]


def _snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() else None) for p in sorted(d.rglob("*"))}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_bad_input(case, tmp_path, capfd):
    if case.setup is not None:
        case.setup(tmp_path)
    before = _snapshot(tmp_path)
    capfd.readouterr()
    code = main([a.replace("{d}", str(tmp_path)) for a in case.argv])
    out, err = capfd.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("neurokit: error: "), err
    for needle in case.needles:
        assert needle.replace("{d}", str(tmp_path)) in lines[0], (needle, lines[0])
    assert "Traceback" not in err + out
    assert _snapshot(tmp_path) == before, "a refused command changed files"


def test_case_ids_are_distinct():
    assert len({c.id for c in CASES}) == len(CASES) >= 60
    assert len({(c.argv, c.needles) for c in CASES}) == len(CASES)       # no row repeats another


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "neurokit.cli", *args], capture_output=True, text=True, env=ENV)


def test_no_arguments_prints_the_help_and_exits_2():
    r = _cli()
    assert r.returncode == 2
    assert "Usage" in r.stdout + r.stderr and "train" in r.stdout + r.stderr and "Exit codes" in r.stdout + r.stderr
    assert "error" not in r.stderr


def test_process_exit_code_for_epochs_0_with_nproc_is_2_with_one_line():
    r = _cli("train", "binary_mlp", "--epochs", "0", "--nproc", "2")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "--epochs" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_worker_error_under_torchrun_exits_2_with_one_line_and_no_torchrun_traceback(tmp_path, free_port):
    """An error only the workers see (the shd data set needs `path`): the launcher reports it once, exit 2."""
    r = _cli("train", "binary_mlp", "--data", "shd", "--epochs", "1", "--nproc", "2", "--out", str(tmp_path / "r"),
             "--master-port", str(free_port))
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and "data set 'shd'" in lines[0] and "path" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "ChildFailedError" not in r.stderr
    assert not (tmp_path / "r").exists()


def test_bench_exits_with_the_scripts_exit_code():
    r = _cli("bench", "time_loop", "--", "--no-such-arg")
    assert r.returncode == 2 and "unrecognized arguments: --no-such-arg" in r.stderr, r.stderr


def test_resume_without_checkpoint_warns_and_trains_from_scratch(tmp_path, capfd):
    out = tmp_path / "run"
    code = main(["train", "binary_mlp", "--epochs", "1", "--out", str(out), "--resume", "--no-progress"])
    _, err = capfd.readouterr()
    assert code == 0, err
    assert f"neurokit: warning: --resume: no checkpoint '{out / 'last.safetensors'}' yet; training from scratch" \
        in err
    assert (out / "last.safetensors").is_file()
