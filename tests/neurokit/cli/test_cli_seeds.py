"""One seed makes a training run reproducible bit for bit on CPU: model init, synthetic data and rate code, data
order, dropout and random transforms. Checked for every preset (small configs), through the CLI process, and for
``nk.train`` directly (including a mid-epoch resume with a random transform and dropout)."""
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import neurokit as nk
from neurokit.cli.presets import PRESETS
from neurokit.cli.train_plan import resolve_train, run_train

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

# Small, fast versions of each preset (dropout switched on where the model has it, to cover it).
SMALL = {
    "delay_snn": ('[model]\nhidden = 16\ndropout = 0.3\n[data_args]\nn_train = 128\nn_test = 32\n', 32),
    "binary_mlp": ('[model]\nhidden = [32]\n', 64),
    "quant_snn": ('[model]\nhidden = [32]\n', 64),
    "rsnn": ('[model]\nhidden = [16]\n[data_args]\nn_train = 64\nn_test = 32\nT = 24\n', 32),
    "spikformer_tiny": ('[data_args]\ntest_fraction = 0.9\n', 60),
}


def test_every_preset_has_a_small_config():
    assert set(SMALL) == set(PRESETS)


def _train(tmp_path, preset, seed, name):
    text, batch = SMALL[preset]
    cfg = tmp_path / f"{preset}.toml"
    cfg.write_text(f'preset = "{preset}"\nepochs = 1\nbatch_size = {batch}\n{text}')
    out = tmp_path / name
    plan = resolve_train(None, str(cfg), None, None, None, None, seed, str(out), False, None)
    last = run_train(plan, progress=False)
    return (out / "last.safetensors").read_bytes(), last


@pytest.mark.parametrize("preset", sorted(SMALL))
def test_same_seed_gives_bit_identical_checkpoints(tmp_path, preset):
    torch.manual_seed(123)                                   # the global RNG state before a run must not matter
    first, last_a = _train(tmp_path, preset, 0, "a")
    torch.manual_seed(456)
    torch.rand(1000)
    second, last_b = _train(tmp_path, preset, 0, "b")
    assert first == second
    assert last_a["step_losses"] == last_b["step_losses"] and last_a["test_acc"] == last_b["test_acc"]
    other, _ = _train(tmp_path, preset, 1, "c")
    assert other != first


def test_cli_train_twice_with_the_same_seed_gives_identical_files(tmp_path):
    """The issue's command, as two separate processes: identical checkpoint bytes and identical printed metrics."""
    runs = []
    for name in ("a", "b"):
        r = subprocess.run([sys.executable, "-m", "neurokit.cli", "train", "binary_mlp", "--epochs", "1", "--seed",
                            "0", "--out", str(tmp_path / name), "--no-progress"], capture_output=True, text=True,
                           env=ENV)
        assert r.returncode == 0, r.stderr
        runs.append(((tmp_path / name / "last.safetensors").read_bytes(),
                     [ln for ln in r.stdout.splitlines() if ln.startswith("trained ")]))
    assert runs[0] == runs[1] and runs[0][1]


class _Augmented(torch.utils.data.Dataset):
    """Random time shift + random noise drawn from torch's global RNG in ``__getitem__`` (a typical augmentation)."""

    def __init__(self, n=96, T=6, F=5):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.rand(n, T, F, generator=gen)
        self.y = torch.arange(n) % 3

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        x = torch.roll(self.x[i], int(torch.randint(0, 3, ())), dims=0)
        return x + 0.1 * torch.randn_like(x), self.y[i]


def _model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nk.LIF(), nn.Dropout(0.3), nn.Linear(16, 3))


def _params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_nk_train_seed_covers_dropout_and_random_transforms_also_across_a_resume(tmp_path):
    data = _Augmented()
    kwargs = dict(batch_size=16, seed=3, progress=False, device="cpu", lr=1e-2)
    ref_model = _model(0)
    ref = nk.train(ref_model, data, 2, **kwargs)
    torch.rand(100)                                          # a different global RNG state
    again_model = _model(0)
    again = nk.train(again_model, data, 2, **kwargs)
    assert [h["step_losses"] for h in ref] == [h["step_losses"] for h in again]
    assert all(torch.equal(a, b) for a, b in zip(_params(ref_model).values(), _params(again_model).values()))

    class Stop(Exception):
        pass

    def stop_at(epoch, step, _loss):
        if (epoch, step) == (1, 2):                          # right after the checkpoint at (epoch 1, step 3)
            raise Stop

    with pytest.raises(Stop):
        nk.train(_model(0), data, 2, checkpoint_dir=tmp_path, checkpoint_every=3, on_step_end=stop_at, **kwargs)
    assert nk.training.read_checkpoint_meta(tmp_path / "last.safetensors")["step_in_epoch"] == 3
    resumed_model = _model(99)                               # init is overwritten by the checkpoint
    resumed = nk.train(resumed_model, data, 2, checkpoint_dir=tmp_path, checkpoint_every=3, resume=True, **kwargs)
    assert [h["step_losses"] for h in resumed] == [h["step_losses"] for h in ref]
    assert all(torch.equal(a, b) for a, b in zip(_params(ref_model).values(), _params(resumed_model).values()))
