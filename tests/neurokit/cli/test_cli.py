"""The `neurokit` command line: help, exit codes, one-line errors, train/resume after a kill, atomic checkpoints."""
import json
import os
import signal
import subprocess
import sys

import pytest
from tests.helpers.paths import REPO_ROOT

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "neurokit.cli", *args], capture_output=True, text=True, env=ENV)


def test_help_lists_every_subcommand_and_each_has_examples():
    r = _cli("--help")
    assert r.returncode == 0
    for sub in ("demo", "train", "compile", "energy", "bench"):
        assert sub in r.stdout
        h = _cli(sub, "--help")
        assert h.returncode == 0 and "Example" in h.stdout, sub


@pytest.mark.parametrize("args,needle", [
    (("train", "no_such_preset"), "unknown preset 'no_such_preset'"),
    (("train", "binary_mlp", "--config", "/nonexistent.toml"), "config file '/nonexistent.toml' does not exist"),
    (("compile", "/nonexistent-run"), "run folder '/nonexistent-run' does not exist"),
    (("energy", "/nonexistent-run"), "run folder '/nonexistent-run' does not exist"),
    (("bench", "nope"), "unknown benchmark 'nope'"),
    (("energy", str(REPO_ROOT / "pyproject.toml")),
     "is a file; expected a run folder"),
    (("demo", "--quick", "--out", "/dev/null/demo"), "Not a directory"),
    (("train", "binary_mlp", "--nproc", "0"), "nproc"),
    (("compile", "--bogus-option"), "No such option"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    r = _cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_bad_config_key_and_corrupt_checkpoint(tmp_path):
    cfg = tmp_path / "train.toml"
    cfg.write_text('preset = "binary_mlp"\nepochs = 1\nlearning_rate = 0.1\n')
    r = _cli("train", "--config", str(cfg), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "unknown key(s) ['learning_rate']" in r.stderr
    run = tmp_path / "bad"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"preset": "binary_mlp", "model": {}, "data": "digits",
                                              "data_args": {"T": 4}}))
    (run / "last.safetensors").write_bytes(b"\x00garbage" * 10)
    r = _cli("compile", str(run), "--target", "onnx_int")
    assert r.returncode == 2 and "cannot be loaded" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_debug_flag_shows_traceback():
    r = _cli("--debug", "train", "no_such_preset")
    assert r.returncode == 2 and "Traceback" in r.stderr


TRAIN = ("train", "binary_mlp", "--epochs", "2", "--checkpoint-every", "5", "--batch-size", "32", "--no-progress")


def _steps_per_epoch():
    import neurokit as nk

    return len(nk.data.digits(T=8, encoding="rate")[0]) // 32


def _read_until(stream, needle):
    """Read ``stream`` line by line until a line contains ``needle`` (blocking reads: no sleeps, no polling)."""
    seen = []
    for line in stream:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared; output: {''.join(seen)[-2000:]}")


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def uninterrupted_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    r = _cli(*TRAIN, "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_train_resumes_from_last_checkpoint(tmp_path, sig, uninterrupted_run):
    """The run pauses (test hook) right after global step spe+10 -- the step that writes checkpoint (epoch 1, step
    10) -- and says so on stdout; only then is it signalled. The resumed run's checkpoint is byte-identical to an
    uninterrupted run's."""
    from neurokit.cli.train_plan import PAUSE_STEP_ENV
    from neurokit.training import read_checkpoint_meta

    out = tmp_path / "run"
    spe = _steps_per_epoch()
    # The child gets the default SIGINT disposition whatever this process inherited: a test run started in the
    # background by a non-interactive shell ignores SIGINT, and an ignored SIGINT would leave the child paused.
    proc = subprocess.Popen([sys.executable, "-m", "neurokit.cli", *TRAIN, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**ENV, PAUSE_STEP_ENV: str(spe + 10)},
                            preexec_fn=_default_sigint)
    try:
        _read_until(proc.stdout, f"test pause after step {spe + 10}")
        proc.send_signal(sig)
        _, err = proc.communicate()
    finally:
        proc.kill()
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), err
    if sig == signal.SIGINT:
        assert "interrupted" in err and "Traceback" not in err, err
    ckpt = out / "last.safetensors"
    meta = read_checkpoint_meta(str(ckpt))                  # never half-written: always readable
    assert (meta["epoch"], meta["step_in_epoch"]) == (1, 10)
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
    r = _cli(*TRAIN, "--out", str(out), "--resume")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert read_checkpoint_meta(str(ckpt))["epoch"] == 2
    assert ckpt.read_bytes() == (uninterrupted_run / "last.safetensors").read_bytes()


SAVE_LOOP = """
import os, sys
import safetensors.torch
import neurokit as nk
from neurokit.training import save_checkpoint

path, stage, pause_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
real_save, real_fsync, i = safetensors.torch.save_file, os.fsync, 0


def pause(where):  # announce the point on stdout and block: the parent kills the process exactly here
    if (where, i) == (stage, pause_at):
        print("pause", where, i, flush=True)
        sys.stdin.readline()


def save_file(tensors, tmp, metadata=None):
    pause("before-data")                              # the temporary file exists, still empty
    real_save(tensors, tmp, metadata=metadata)
    if (stage, i) == ("half-data", pause_at):
        os.truncate(tmp, os.path.getsize(tmp) // 2)   # what a kill in the middle of writing leaves on disk
    pause("half-data")


def fsync(fd):
    pause("before-rename")                            # the temporary file is complete, not yet renamed
    real_fsync(fd)


safetensors.torch.save_file, os.fsync = save_file, fsync
m = nk.models.binary_mlp(64, (8,), 10)
while True:
    i += 1
    save_checkpoint(path, m, meta={"epoch": i})
    print("saved", i, flush=True)
"""


@pytest.mark.parametrize("stage", ["before-data", "half-data", "before-rename"])
def test_checkpoint_never_half_written_when_killed_during_a_save(tmp_path, stage):
    """A child process saves checkpoints in a loop; during its 4th save it stops at a known point of the atomic
    write (``stage``), says so on stdout and waits; only then is it SIGKILLed. The destination still holds the 3rd
    checkpoint, complete; the temporary file the kill left behind is stale and the next save removes it."""
    import neurokit as nk
    from neurokit.atomic import stale_temporaries
    from neurokit.training import read_checkpoint_meta, save_checkpoint

    path = tmp_path / "ck" / "last.safetensors"
    proc = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(path), stage, "4"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        _read_until(proc.stdout, f"pause {stage} 4")
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert read_checkpoint_meta(str(path))["epoch"] == 3
    (leftover,) = stale_temporaries(path)
    assert os.path.basename(leftover).startswith(".last.safetensors.")
    save_checkpoint(str(path), nk.models.binary_mlp(64, (8,), 10), meta={"epoch": 0})
    assert os.listdir(path.parent) == ["last.safetensors"]


def test_train_compile_energy_roundtrip(tmp_path):
    out = tmp_path / "run"
    r = _cli("train", "binary_mlp", "--epochs", "1", "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "test loss" in r.stdout and "spike rate" in r.stdout
    r = _cli("compile", str(out), "--target", "loihi2", "--out", str(tmp_path / "m.net"), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (tmp_path / "m.net").exists() and report["cores"] >= 2 and report["artefact"] == str(tmp_path / "m.net")
    assert report["check"]["check"] == "bit-exact" and report["check"]["samples"] == 359
    r = _cli("compile", str(out), "--target", "onnx_int", "--samples", "64")
    assert r.returncode == 0, r.stderr
    assert "test set (64 samples): onnx_int accuracy" in r.stdout and "integer reference: bit-exact" in r.stdout
    assert f"artefact: {out / 'model.onnx'}" in r.stdout and "┃ layer" in r.stdout and "1-bit" in r.stdout
    r = _cli("energy", str(out), "--target", "loihi2", "--target", "cmos45", "--plot", str(tmp_path / "e"))
    assert r.returncode == 0, r.stderr
    assert "│ loihi2 " in r.stdout and "│ cmos45 " in r.stdout and "**" not in r.stdout and "|---" not in r.stdout
    for name in ("energy_loihi2.png", "energy_cmos45.png", "energy_targets.png"):
        assert f"wrote {tmp_path / 'e' / name}" in r.stdout and (tmp_path / "e" / name).is_file()


def test_demo_quick_end_to_end(tmp_path):
    out = tmp_path / "demo"
    r = _cli("demo", "--quick", "--out", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert str(out) in r.stdout.replace("\n", "")
    assert "bit-exact" in r.stdout
    for model in ("delay_snn", "binary_mlp"):
        folder = out / model
        for name in ("last.safetensors", "run.json", "model.onnx", "model.net", "model.nir", "training.png",
                     "energy/energy_loihi2.png"):
            assert (folder / name).is_file(), f"{model}/{name} missing"
    report = (out / "report.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    for model, res in summary["models"].items():
        checks = {row["target"]: row["check"] for row in res["targets"]}
        assert checks["onnx_int"] == "bit-exact" and checks["loihi2"] == "bit-exact", (model, checks)
        assert f"## {model}" in report
    assert "| loihi2 |" in report and "µJ / inference" in report


def test_bench_runs_the_kernel_benchmark_with_script_arguments():
    r = _cli("bench", "time_loop", "--", "--T", "4", "--neurons", "1024", "--repeats", "1")
    assert r.returncode == 0, r.stderr
    assert "snntorch" in r.stdout and "spikingjelly" in r.stdout and "T=   4" in r.stdout
