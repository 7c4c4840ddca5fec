"""Tiny training jobs for tests/neurokit/training/test_distributed.py, run in one process, under torch.multiprocessing,
or under
torchrun (``python ddp_job.py --kind delay_snn --epochs 3 --checkpoint-dir D [--kill-epoch E --kill-step S]``).

Everything is float64 so that the sum-order differences between one process and several stay ~1e-16.
"""
import argparse
import os

import torch
import torch.distributed as dist
from torch.utils.data import Subset

import neurokit as nk
from neurokit.layers.time_major import BATCH_NORMS
from neurokit.models.spikformer import spikformer

T, N_TEST, CLASSES = 12, 8, 3


def make_data(n_train: int, kind: str = "delay_snn"):
    if kind == "spikformer":                      # 8x8 digit images, time-major [2, 1, 8, 8] per sample
        train, test = nk.data.digits(T=2, encoding="direct", flatten=False, seed=0)
        return Subset(train, range(n_train)), Subset(test, range(N_TEST))
    return nk.data.delay_task(n_train=n_train, n_test=N_TEST, T=T, n_classes=CLASSES, min_gap=1, gap_step=3, seed=0)


def make_model(kind: str) -> torch.nn.Module:
    """Deterministic float64 models: the delay SNN with or without BatchNorm, and a tiny spikformer."""
    torch.manual_seed(0)
    if kind in ("delay_snn", "delay_snn_bn"):
        model = nk.models.delay_snn(in_features=2, num_classes=CLASSES, hidden=12, layers=1, max_delay=6,
                                    dropout=0.0, batchnorm=kind == "delay_snn_bn", seed=0)
        with torch.no_grad():                   # stronger synapses: the sparse delay-task input makes the net spike
            model.hidden[0][0].weight.mul_(15.0)
    elif kind == "spikformer":
        model = spikformer("tiny", num_classes=10, dim=16, heads=2, T=2)
        for module in model.modules():          # frozen BN statistics that scale activations up: the net spikes
            if isinstance(module, BATCH_NORMS):
                module.running_var.fill_(0.002)
    else:
        raise ValueError(f"kind: unknown model {kind!r}")
    return model.double()


def run(kind: str, n_train: int, epochs: int, batch_size: int = 8, distributed: bool = False, kill_at=None,
        **train_kw):
    """Train ``kind`` on the delay task; ``kill_at=(epoch, step)`` ends the process abruptly after that step."""
    train, test = make_data(n_train, kind)
    model = make_model(kind)

    def kill(epoch, step, _loss):
        if kill_at is not None and (epoch, step) == tuple(kill_at):
            os._exit(3)

    history = nk.train(model, train, epochs, test_data=test, batch_size=batch_size, lr=1e-2, seed=5,
                       distributed=distributed, progress=False, on_step_end=kill,
                       freeze_batchnorm=kind != "delay_snn", lr_scale={"position": 10.0}, **train_kw)
    return history, {k: v.detach().clone() for k, v in model.state_dict().items()}


def spawn_worker(rank: int, world_size: int, init_file: str, out_path: str, kinds, n_train: int):
    """torch.multiprocessing entry: join a gloo group via ``init_file`` and train every kind for one epoch."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        results = {kind: run(kind, n_train, 1, distributed=True) for kind in kinds}
        if rank == 0:
            torch.save(results, out_path)
    finally:
        dist.destroy_process_group()
    # The work is done and saved: leave without the interpreter's teardown. Once, in a full run under load, a rank
    # aborted there ("terminate called without an active exception": a C++ thread destroyed at exit) after its
    # training, which mp.spawn reports as a failure. A failure during training still raises above.
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", default="delay_snn")
    parser.add_argument("--n-train", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--kill-epoch", type=int)
    parser.add_argument("--kill-step", type=int)
    args = parser.parse_args()
    kill_at = (args.kill_epoch, args.kill_step) if args.kill_epoch is not None else None
    run(args.kind, args.n_train, args.epochs, distributed=True, kill_at=kill_at, checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=2, resume=True)


if __name__ == "__main__":
    main()
