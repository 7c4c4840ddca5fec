"""nk.train: schedule, losses, metrics, determinism, checkpoints (atomic) and exact mid-epoch resume."""
import math
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import neurokit as nk
from neurokit.training import (cosine_lr, evaluate, get_loss, load_checkpoint, read_checkpoint_meta,
                               save_checkpoint, step_seed)
from neurokit.training.checkpoint import CHECKPOINT_NAME


def mlp_snn(in_features=2, hidden=16, classes=4, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(in_features, hidden), nk.LIF(tau=2.0), nn.Dropout(dropout),
                         nn.Linear(hidden, classes))


@pytest.fixture(scope="module")
def delay_data():
    return nk.data.delay_task(n_train=48, n_test=16, T=16, n_classes=4, min_gap=1, gap_step=3, seed=0)


def params_of(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- pieces

def test_cosine_lr_formula():
    assert cosine_lr(0.1, 0, 10) == pytest.approx(0.1)
    assert cosine_lr(0.1, 5, 10) == pytest.approx(0.05)
    for step in range(10):
        assert cosine_lr(2e-3, step, 10) == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * step / 10)))


def test_losses_match_manual_reference():
    torch.manual_seed(0)
    out, y = torch.randn(5, 3, 4), torch.tensor([0, 3, 1])
    logits = out.mean(0)
    manual_rate = -(logits.log_softmax(-1)[torch.arange(3), y]).mean()
    torch.testing.assert_close(get_loss("ce_rate")(out, y), manual_rate, rtol=1e-6, atol=1e-6)
    manual_step = torch.stack([-(out[t].log_softmax(-1)[torch.arange(3), y]).mean() for t in range(5)]).mean()
    torch.testing.assert_close(get_loss("ce_per_step")(out, y), manual_step, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(get_loss("ce_rate")(logits, y), manual_rate, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"model output: expected \[T, B, C\] or \[B, C\] with B=3"):
        get_loss("ce_rate")(torch.randn(5, 2, 4), y)
    with pytest.raises(ValueError, match="loss: expected one of"):
        get_loss("mse")


def test_step_seed_distinct():
    seeds = {step_seed(0, s, r) for s in range(20) for r in range(3)}
    assert len(seeds) == 60 and all(0 <= s < 2 ** 63 for s in seeds)


def test_evaluate_matches_manual_computation(delay_data):
    _, test = delay_data
    model = mlp_snn()
    scores = evaluate(model, test, batch_size=5)
    x, y = nk.data.collate_time_major([test[i] for i in range(len(test))])
    with torch.no_grad():
        spikes = model[1](model[0](x))
        out = model[3](spikes)
    assert scores["loss"] == pytest.approx(float(F.cross_entropy(out.mean(0), y)), rel=1e-5)
    assert scores["acc"] == pytest.approx(float((out.mean(0).argmax(-1) == y).float().mean()))
    assert scores["spike_rate"] == pytest.approx(float(spikes.mean()), rel=1e-6)


# ---------------------------------------------------------------- the loop

def test_train_learns_digits_and_reports_metrics(capsys):
    train, test = nk.data.digits(T=4, encoding="direct", seed=0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nk.LIF(tau=2.0, v_threshold=0.5), nn.Linear(64, 10))
    history = nk.train(model, train, 3, test_data=test, lr=5e-3, batch_size=64, progress=True)
    assert [r["epoch"] for r in history] == [0, 1, 2]
    assert history[-1]["test_acc"] > 0.8
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert 0.0 < history[-1]["train_spike_rate"] < 1.0
    steps = len(train) // 64
    assert len(history[0]["step_losses"]) == steps
    assert history[0]["train_loss"] == pytest.approx(sum(history[0]["step_losses"]) / steps)
    assert history[-1]["lr"] == pytest.approx(cosine_lr(5e-3, 3 * steps - 1, 3 * steps))
    assert "epoch 3/3  train loss" in capsys.readouterr().out


def test_train_is_reproducible_and_seed_sensitive(delay_data):
    train, _ = delay_data
    runs = []
    for seed in (1, 1, 2):
        model = mlp_snn(dropout=0.3)
        hist = nk.train(model, train, 2, batch_size=8, seed=seed, progress=False)
        runs.append((hist, params_of(model)))
    assert runs[0][0][-1]["step_losses"] == runs[1][0][-1]["step_losses"]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    assert runs[0][0][0]["step_losses"] != runs[2][0][0]["step_losses"]


def test_anneal_hooks_and_epoch_callbacks(delay_data):
    train, _ = delay_data
    calls, epochs_seen = [], []

    class Annealed(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp_snn()

        def anneal(self, epoch, epochs):
            calls.append((epoch, epochs))

        def forward(self, x):
            return self.net(x)

    nk.train(Annealed(), train, 3, batch_size=16, progress=False,
             on_epoch_end=lambda epoch, record: epochs_seen.append((epoch, record["train_loss"])))
    assert calls == [(0, 3), (1, 3), (2, 3)]
    assert [e for e, _ in epochs_seen] == [0, 1, 2]


def test_lr_scale_and_no_decay_groups(delay_data):
    train, _ = delay_data
    model = mlp_snn()
    seen = {}

    def grab(_epoch, _step, _loss):
        seen["groups"] = [(g["base_lr"], g["weight_decay"], len(g["params"])) for g in opt_ref]

    from neurokit.training import loop
    original = loop.torch.optim.AdamW

    def spy(groups, **kw):
        opt = original(groups, **kw)
        opt_ref.extend(opt.param_groups)
        return opt

    opt_ref = []
    loop.torch.optim.AdamW = spy
    try:
        nk.train(model, train, 1, batch_size=48, lr=1e-3, weight_decay=0.1, lr_scale={"3.": 10.0},
                 no_decay=("3.weight",), progress=False, on_step_end=grab)
    finally:
        loop.torch.optim.AdamW = original
    assert sorted(seen["groups"]) == sorted([(1e-3, 0.1, 1), (1e-3, 0.0, 1), (1e-2, 0.0, 2)])


def test_amp_bf16_on_cpu_trains(delay_data):
    train, _ = delay_data
    model = mlp_snn()
    history = nk.train(model, train, 1, batch_size=16, amp=True, progress=False)
    assert all(math.isfinite(v) for v in history[0]["step_losses"])
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_train_bad_input_errors(delay_data):
    train, _ = delay_data
    model = mlp_snn()
    with pytest.raises(ValueError, match="epochs: expected an integer >= 1, got 0"):
        nk.train(model, train, 0)
    with pytest.raises(ValueError, match="batch_size: the global batch 64 is larger than train_data"):
        nk.train(model, train, 1, batch_size=64, progress=False)
    with pytest.raises(ValueError, match="lr: expected"):
        nk.train(model, train, 1, lr=-1.0)
    with pytest.raises(ValueError, match="resume: resume=True needs checkpoint_dir"):
        nk.train(model, train, 1, resume=True)
    with pytest.raises(ValueError, match="loss: expected one of"):
        nk.train(model, train, 1, loss="hinge")
    with pytest.raises(TypeError, match="train_data: expected a map-style dataset"):
        nk.train(model, 5, 1)
    bad = nn.Sequential(nn.Linear(2, 4), nn.Flatten(0, 1))
    with pytest.raises(ValueError, match="model output: expected"):
        nk.train(bad, train, 1, batch_size=8, progress=False)


# ---------------------------------------------------------------- checkpoints

def test_checkpoint_roundtrip_and_errors(tmp_path):
    model = mlp_snn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.rand(4, 3, 2)).sum().backward()
    opt.step()
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, model, opt, meta={"epoch": 2, "note": "x"})
    assert os.listdir(tmp_path) == ["c.safetensors"]
    other = mlp_snn(seed=5)
    other_opt = torch.optim.AdamW(other.parameters(), lr=1e-3)
    meta = load_checkpoint(path, other, other_opt)
    assert meta == {"epoch": 2, "note": "x"} and read_checkpoint_meta(path)["epoch"] == 2
    for k, v in model.state_dict().items():
        assert torch.equal(other.state_dict()[k], v)
    for a, b in zip(opt.state_dict()["state"].values(), other_opt.state_dict()["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in a)
    wrong = mlp_snn(hidden=8)
    with pytest.raises(ValueError, match=r"tensor 'model.0.weight' has shape \(16, 2\), the model expects \(8, 2\)"):
        load_checkpoint(path, wrong)
    with pytest.raises(ValueError, match="model keys do not match"):
        load_checkpoint(path, nn.Linear(2, 2))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "none.safetensors", model)
    (tmp_path / "junk.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{junk")
    with pytest.raises(ValueError, match="not a readable safetensors checkpoint"):
        load_checkpoint(tmp_path / "junk.safetensors", model)
    with pytest.raises(ValueError, match="meta: checkpoint metadata must be JSON-serialisable"):
        save_checkpoint(path, model, meta={"bad": object()})


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    model = mlp_snn()
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, meta={"epoch": 1})
    before = path.read_bytes()
    import safetensors.torch

    def crash(_tensors, filename, metadata=None):  # noqa: ARG001 (safetensors' save_file signature)
        with open(filename, "wb") as f:
            f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, meta={"epoch": 2})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["last.safetensors"]
    assert read_checkpoint_meta(path)["epoch"] == 1


class Crash(Exception):
    pass


def test_resume_mid_epoch_gives_identical_losses_and_parameters(tmp_path, delay_data):
    train, test = delay_data
    reference = mlp_snn(dropout=0.2)
    ref_hist = nk.train(reference, train, 3, test_data=test, batch_size=8, seed=3, progress=False)

    def crash_at(epoch, step, _loss):
        if (epoch, step) == (1, 4):
            raise Crash()

    killed = mlp_snn(dropout=0.2)
    with pytest.raises(Crash):
        nk.train(killed, train, 3, test_data=test, batch_size=8, seed=3, progress=False,
                 checkpoint_dir=tmp_path, checkpoint_every=2, on_step_end=crash_at)
    meta = read_checkpoint_meta(tmp_path / CHECKPOINT_NAME)
    assert (meta["epoch"], meta["step_in_epoch"]) == (1, 4)          # step index 4 was lost with the crash
    resumed = mlp_snn(dropout=0.2, seed=99)                          # different init: everything comes from the file
    hist = nk.train(resumed, train, 3, test_data=test, batch_size=8, seed=3, progress=False,
                    checkpoint_dir=tmp_path, checkpoint_every=2, resume=True)
    assert [r["step_losses"] for r in hist] == [r["step_losses"] for r in ref_hist]
    assert [r["test_loss"] for r in hist] == [r["test_loss"] for r in ref_hist]
    assert [r["train_acc"] for r in hist] == [r["train_acc"] for r in ref_hist]
    for k, v in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k
    # a finished run resumes to its stored history without training further
    again = nk.train(mlp_snn(dropout=0.2), train, 3, batch_size=8, seed=3, progress=False, checkpoint_dir=tmp_path,
                     resume=True)
    assert [r["train_loss"] for r in again] == [r["train_loss"] for r in ref_hist]
    with pytest.raises(ValueError, match="resume: checkpoint .* was written with batch_size=8, this run has "
                                         "batch_size=16"):
        nk.train(mlp_snn(dropout=0.2), train, 3, batch_size=16, seed=3, checkpoint_dir=tmp_path, resume=True)
