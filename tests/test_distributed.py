"""Data-parallel training on 2 CPU processes (gloo): equivalence with one process, kill + resume on a different
world size, torchrun launcher and its input checks. Models run in float64; tolerance atol=1e-10, rtol=1e-8."""
import os
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

import ddp_job
import neurokit as nk
from neurokit.training import build_torchrun_command, check_global_batch, launch_distributed, read_checkpoint_meta
from neurokit.training.distributed import ResumableDistributedSampler

ATOL, RTOL = 1e-10, 1e-8
JOB = str(Path(ddp_job.__file__).resolve())


def assert_same_params(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=ATOL, rtol=RTOL, msg=lambda m: f"{k}: {m}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_global_batches_do_not_depend_on_world_size():
    n, G = 50, 8
    for epoch in (0, 3):
        single = list(ResumableDistributedSampler(n, 0, 1, seed=7, epoch=epoch))
        for world in (2, 4):
            b = G // world
            shards = [list(ResumableDistributedSampler(n, r, world, seed=7, epoch=epoch)) for r in range(world)]
            steps = n // G
            for k in range(steps):
                merged = sorted(i for shard in shards for i in shard[k * b:(k + 1) * b])
                assert merged == sorted(single[k * G:(k + 1) * G])
        skipped = list(ResumableDistributedSampler(n, 1, 2, seed=7, epoch=epoch, skip=8))
        assert skipped == list(ResumableDistributedSampler(n, 1, 2, seed=7, epoch=epoch))[8:]


def test_ddp_step_equals_single_process_step(tmp_path):
    kinds = ["delay_snn", "delay_snn_bn", "spikformer"]
    out = tmp_path / "ddp.pt"
    mp.spawn(ddp_job.spawn_worker, args=(2, str(tmp_path / "init"), str(out), kinds, 8), nprocs=2, join=True)
    ddp_results = torch.load(out)
    for kind in kinds:
        ddp_hist, ddp_params = ddp_results[kind]
        hist, params = ddp_job.run(kind, 8, 1)             # one step on the whole global batch of 8
        init = ddp_job.make_model(kind).state_dict()
        assert any(not torch.equal(init[k], params[k]) for k in params)     # the step changed the parameters
        assert_same_params(ddp_params, params)
        assert len(ddp_hist[0]["step_losses"]) == 1
        for key in ("train_loss", "train_acc", "train_spike_rate", "test_loss", "test_acc", "test_spike_rate"):
            assert ddp_hist[0][key] == pytest.approx(hist[0][key], rel=1e-9, abs=1e-12), key


class Crash(Exception):
    pass


def test_kill_and_resume_with_other_world_sizes(tmp_path, monkeypatch):
    n_train, epochs = 32, 3                                  # 4 global steps of 8 per epoch
    _, reference = ddp_job.run("delay_snn", n_train, epochs)
    ckpt = tmp_path / "ckpt"

    def crash(epoch, step, loss):
        if (epoch, step) == (0, 2):
            raise Crash()

    # 1) one process, crashes mid-epoch 0 (checkpoint after 2 steps)
    train, test = ddp_job.make_data(n_train)
    with pytest.raises(Crash):
        nk.train(ddp_job.make_model("delay_snn"), train, epochs, test_data=test, batch_size=8, lr=1e-2, seed=5,
                 progress=False, lr_scale={"position": 10.0}, checkpoint_dir=ckpt, checkpoint_every=2,
                 on_step_end=crash)
    assert read_checkpoint_meta(ckpt / "last.safetensors")["step_in_epoch"] == 2
    # 2) resumed by 2 torchrun processes, killed (os._exit) mid-epoch 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    argv = ["--n-train", n_train, "--epochs", epochs, "--checkpoint-dir", ckpt, "--kill-epoch", 1, "--kill-step", 2]
    returncode = launch_distributed(2, argv, master_port=free_port(), script=JOB, batch_size=8)
    assert returncode != 0                                   # the job was killed
    meta = read_checkpoint_meta(ckpt / "last.safetensors")
    assert (meta["epoch"], meta["step_in_epoch"], meta["world_size"]) == (1, 2, 2)
    assert sorted(os.listdir(ckpt)) == ["last.safetensors"]
    # 3) finished by one process
    model = ddp_job.make_model("delay_snn")
    history = nk.train(model, train, epochs, test_data=test, batch_size=8, lr=1e-2, seed=5, progress=False,
                       lr_scale={"position": 10.0}, checkpoint_dir=ckpt, checkpoint_every=2, resume=True)
    assert len(history) == epochs and all(len(r["step_losses"]) == 4 for r in history)
    assert_same_params({k: v for k, v in model.state_dict().items()}, reference)


def test_launcher_command_and_input_errors():
    cmd = build_torchrun_command(4, ["train", "--epochs", 2], nnodes=2, node_rank=1, master_addr="node0",
                                 master_port=1234, batch_size=64)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert cmd[3:] == ["--nproc_per_node", "4", "--nnodes", "2", "--node_rank", "1", "--master_addr", "node0",
                       "--master_port", "1234", "-m", "neurokit.cli", "train", "--epochs", "2"]
    with pytest.raises(ValueError, match="nproc: expected an integer >= 1, got 0"):
        launch_distributed(0, ["train"])
    with pytest.raises(ValueError, match=r"node_rank: expected an integer in \[0, nnodes=2\), got 2"):
        build_torchrun_command(1, [], nnodes=2, node_rank=2)
    with pytest.raises(ValueError, match="batch_size: the global batch 10 is not divisible by the world size 4"):
        launch_distributed(2, ["train"], nnodes=2, batch_size=10)
    assert check_global_batch(12, 3) == 4
    with pytest.raises(ValueError, match="not divisible by the world size 5"):
        check_global_batch(12, 5)


def test_distributed_true_without_launcher_is_a_clear_error(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(var, raising=False)
    train, _ = ddp_job.make_data(8)
    with pytest.raises(RuntimeError, match=r"distributed=True: environment variables \['RANK', 'WORLD_SIZE'"):
        nk.train(ddp_job.make_model("delay_snn"), train, 1, batch_size=8, distributed=True, progress=False)


def test_sync_batchnorm_conversion_keeps_layout_and_reverts():
    from torch import nn

    from neurokit.training.distributed import convert_sync_batchnorm, revert_sync_batchnorm

    model = ddp_job.make_model("spikformer").eval()
    x = torch.rand(2, 3, 1, 8, 8, dtype=torch.float64)
    before_out, before_keys = model(x), list(model.state_dict())
    originals = {name: type(m) for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}
    assert len(originals) >= 3
    convert_sync_batchnorm(model)
    for name, module in model.named_modules():
        if name in originals:
            mro = type(module).__mro__
            assert isinstance(module, originals[name]) and isinstance(module, nn.SyncBatchNorm)
            # the layer's own forward (time folding / token layout) runs first, its super() is SyncBatchNorm's
            assert mro[1] is originals[name]
            assert mro.index(nn.SyncBatchNorm) < mro.index(nn.modules.batchnorm._BatchNorm)
    assert list(model.state_dict()) == before_keys
    revert_sync_batchnorm(model)
    assert {name: type(m) for name, m in model.named_modules() if name in originals} == originals
    torch.testing.assert_close(model(x), before_out, rtol=0, atol=0)
