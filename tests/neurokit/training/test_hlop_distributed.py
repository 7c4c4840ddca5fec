"""HLOP under data parallelism on 2 CPU processes (gloo, torch.multiprocessing): Hebbian subspace updates on a split
batch equal one update on the whole batch, and a 2-task ``train_tasks(distributed=True)`` run equals the
single-process run. Everything is float64; tolerance atol=1e-9, rtol=1e-7 (the only differences are float sum order).
"""
import dataclasses

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from neurokit.continual import HebbianSubspace, split_digits, train_tasks
from neurokit.models.hlop import hlop_mlp

ATOL, RTOL = 1e-9, 1e-7
WORLD = 2
SPLIT = (40, 24)                                        # uneven per-rank shares of each 64-sample Hebbian batch
N_HEBB = sum(SPLIT)


def hebbian_batches(n_batches=3, n=N_HEBB, features=12):
    gen = torch.Generator().manual_seed(3)
    basis = torch.linalg.qr(torch.randn(features, 4, generator=gen, dtype=torch.float64))[0]
    return [torch.randn(n, 4, generator=gen, dtype=torch.float64) @ basis.T * 2
            + 0.1 * torch.randn(n, features, generator=gen, dtype=torch.float64) for _ in range(n_batches)]


def hebbian_run(shard=lambda x: x, init_seed=0):
    """3 neurons learn from 3 batches, are merged, then 2 more learn from the same batches (frozen rows kept)."""
    sub = HebbianSubspace(12, lr=0.1).double()
    gen = torch.Generator().manual_seed(init_seed)
    for k in (3, 2):
        sub.add_subspace(k, gen)
        for x in hebbian_batches():
            sub.hebbian_update(shard(x))
        sub.merge()
    return sub.weight.clone()


def make_tasks():
    tasks = split_digits(5, shared_head=True)[:2]
    return [dataclasses.replace(t, x_train=t.x_train.double(), x_test=t.x_test.double()) for t in tasks]


def continual_run(distributed=False):
    torch.manual_seed(0)
    model = hlop_mlp(64, (24,), 2, subspace_first=(8, 8), subspace_next=(4, 4), hebbian_lr=0.2).double()
    result = train_tasks(model, make_tasks(), method="hlop", epochs=1, batch_size=64, hebbian_epochs=2, seed=0,
                         distributed=distributed)
    subspaces = [s.weight.clone() for s in model.subspaces]
    return torch.from_numpy(result.acc_matrix), subspaces, {k: v.clone() for k, v in model.state_dict().items()}


def worker(rank, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        start = sum(SPLIT[:rank])
        # a different generator per rank: add_subspace must broadcast rank 0's initial rows
        hebbian = hebbian_run(lambda x: x[start:start + SPLIT[rank]], init_seed=rank)
        try:
            train_tasks(hlop_mlp(64, (8,), 2).double(), make_tasks(), epochs=1, batch_size=63, distributed=True)
            batch_error = None
        except ValueError as err:
            batch_error = str(err)
        torch.save({"hebbian": hebbian, "continual": continual_run(distributed=True), "batch_error": batch_error},
                   f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("hlop_ddp")
    mp.spawn(worker, args=(str(out / "init"), str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


def test_split_hebbian_update_equals_whole_batch_update(ranks):
    single = hebbian_run()
    assert not torch.allclose(single[:3], hebbian_run(init_seed=1)[:3])     # the init seed matters...
    for r in ranks:                                                          # ...but rank 1 got rank 0's rows
        torch.testing.assert_close(r["hebbian"], ranks[0]["hebbian"], atol=0, rtol=0)
        torch.testing.assert_close(r["hebbian"], single, atol=ATOL, rtol=RTOL)
    untrained = HebbianSubspace(12).double()
    untrained.add_subspace(3, torch.Generator().manual_seed(0))
    assert (single[:3] - untrained.weight).abs().max() > 0.05                # the updates did move H


def test_distributed_train_tasks_equals_single_process(ranks):
    acc, subspaces, state = continual_run()
    for r in ranks:
        r_acc, r_subspaces, r_state = r["continual"]
        assert (r_acc == acc).all()
        for a, b, ref in zip(r_subspaces, ranks[0]["continual"][1], subspaces):
            assert a.shape == ref.shape and a.shape[0] > 0
            torch.testing.assert_close(a, b, atol=0, rtol=0)                 # identical on every rank
            torch.testing.assert_close(a, ref, atol=ATOL, rtol=RTOL)         # and equal to one process
        for k in state:
            torch.testing.assert_close(r_state[k], state[k], atol=ATOL, rtol=RTOL, msg=f"state_dict[{k!r}] differs")
    assert acc[1, 1] > 0.6


def test_global_batch_not_divisible_by_world_size_is_a_clear_error(ranks):
    assert ranks[0]["batch_error"] == ranks[1]["batch_error"]
    assert "global batch 63 is not divisible by the world size 2" in ranks[0]["batch_error"]
