"""Continual learning: Hebbian subspace vs SVD, exact projection with any optimizer, EWC, harness and a short run."""
import numpy as np
import pytest
import torch
from torch import nn

from neurokit.continual import (EWC, ContinualResult, HebbianSubspace, Task, permuted_digits, projected_step,
                                split_digits, train_tasks)
from neurokit.models.hlop import hlop_mlp


def _low_rank_data(n, basis, scales, noise, gen):
    k = basis.shape[1]
    return (torch.randn(n, k, generator=gen) * torch.tensor(scales)) @ basis.T + noise * torch.randn(
        n, basis.shape[0], generator=gen)


def test_hebbian_subspace_converges_to_principal_subspace():
    """Oja's subspace rule vs the SVD reference: projection matrices agree, rows orthonormal, old rows frozen."""
    gen = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(20, 3, generator=gen))[0]
    sub = HebbianSubspace(20, lr=0.05)
    sub.add_subspace(3, gen)
    for _ in range(200):
        sub.hebbian_update(_low_rank_data(64, basis, [3.0, 2.0, 1.5], 0.1, gen))
    assert torch.linalg.norm(sub.projection_matrix() if sub.n_frozen else sub.weight.T @ sub.weight
                             - basis @ basis.T) < 0.08
    torch.testing.assert_close(sub.weight @ sub.weight.T, torch.eye(3), atol=5e-3, rtol=0)
    sub.merge()
    frozen = sub.weight.clone()
    basis2 = torch.linalg.qr(torch.randn(20, 2, generator=gen))[0]
    sub.add_subspace(2, gen)
    for _ in range(200):
        sub.hebbian_update(_low_rank_data(64, basis2, [2.0, 2.0], 0.05, gen))
    assert torch.equal(sub.weight[:3], frozen)
    both = torch.linalg.qr(torch.cat([basis, basis2], 1))[0]
    assert torch.linalg.norm(sub.weight.T @ sub.weight - both @ both.T) < 0.1


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_projected_step_leaves_old_subspace_outputs_unchanged(opt_name):
    """With a merged orthonormal subspace, W x is unchanged for x in it, whatever the optimizer does.

    Everything is drawn from one seeded generator (the layer's initial weights too: an unseeded ``nn.Linear`` made the
    result depend on the test order), and the loss is a mean, so SGD with momentum stays stable: with a summed loss
    the weights grew ~100x in 5 steps and float32 rounding in the projection (~1e-7 of |W|) crossed the tolerance."""
    gen = torch.Generator().manual_seed(1)
    sub = HebbianSubspace(10)
    sub.add_subspace(4, gen)
    sub.merge()
    layer = nn.Linear(10, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_((torch.rand(3, 10, generator=gen) * 2 - 1) / 10 ** 0.5)   # nn.Linear's init range
    opt = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9) if opt_name == "sgd" else \
        torch.optim.Adam(layer.parameters(), lr=0.1)
    x_old = torch.randn(7, 4, generator=gen) @ sub.weight            # lies in the old subspace
    before = layer(x_old).detach()
    for _ in range(5):
        loss = layer(torch.randn(16, 10, generator=gen)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        projected_step(opt, [(layer.weight, sub)])
    torch.testing.assert_close(layer(x_old).detach(), before, atol=1e-5, rtol=0)
    assert not torch.allclose(layer(torch.randn(3, 10, generator=gen)), torch.zeros(3, 3))


def test_ewc_penalty_formula():
    torch.manual_seed(2)
    model = nn.Linear(3, 2)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    loss_fn = nn.functional.cross_entropy
    ewc = EWC(lam=10.0)
    ewc.consolidate(model, [(x[:4], y[:4]), (x[4:], y[4:])], loss_fn)
    grads = []
    for xb, yb in ((x[:4], y[:4]), (x[4:], y[4:])):
        model.zero_grad()
        loss_fn(model(xb), yb).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    fisher = {n: (grads[0][n] ** 2 * 4 + grads[1][n] ** 2 * 4) / 8 for n in grads[0]}
    anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3)
    expected = 0.5 * 10.0 * sum((fisher[n] * (p - anchor[n]) ** 2).sum() for n, p in model.named_parameters())
    torch.testing.assert_close(ewc.penalty(model), expected)


def test_result_metrics_and_table(tmp_path):
    r = ContinualResult("hlop", ["a", "b", "c"], np.array([[0.9, 0, 0], [0.8, 0.95, 0], [0.7, 0.9, 0.99]]))
    assert np.isclose(r.acc, (0.7 + 0.9 + 0.99) / 3)
    assert np.isclose(r.bwt, ((0.7 - 0.9) + (0.9 - 0.95)) / 2)
    text = r.table()
    assert "ACC = 86.33" in text and "BWT = -12.50" in text
    path = r.plot(str(tmp_path / "acc.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_task_builders():
    perm = permuted_digits(3, multi_head=True)
    assert [t.classes[0] for t in perm] == [0, 10, 20]
    assert torch.equal(perm[1].x_train.sort(1).values, perm[0].x_train.sort(1).values)   # same pixels, permuted
    split = split_digits(5, shared_head=True)
    assert all(t.classes == (0, 1) and set(t.y_train.tolist()) == {0, 1} for t in split)
    assert split_digits(5)[3].classes == (6, 7)


def test_bad_tasks_and_arguments_are_clear_errors():
    tasks = split_digits(5)
    bad = Task("odd", torch.rand(5, 63), torch.zeros(5, dtype=torch.long), torch.rand(2, 63),
               torch.zeros(2, dtype=torch.long), (0, 1))
    model = hlop_mlp(64, (16,), 10)
    with pytest.raises(ValueError, match=r"tasks\[2\] \('odd'\).x_train: sample shape \(63,\) differs .*\(64,\)"):
        train_tasks(model, [tasks[0], tasks[1], bad], method="finetune", epochs=1)
    mislabeled = Task("lab", torch.rand(5, 64), torch.zeros(4, dtype=torch.long), torch.rand(2, 64),
                      torch.zeros(2, dtype=torch.long), (0, 1))
    with pytest.raises(ValueError, match=r"y_train: shape \(4,\); expected \[5\]"):
        train_tasks(model, [mislabeled], method="finetune", epochs=1)
    with pytest.raises(ValueError, match="only 10 outputs"):
        train_tasks(model, permuted_digits(2, multi_head=True), method="finetune", epochs=1)
    with pytest.raises(ValueError, match="method='gem'"):
        train_tasks(model, tasks, method="gem")
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):
        train_tasks(model, tasks, optimizer="rmsprop")
    with pytest.raises(TypeError, match="method='hlop' needs"):
        train_tasks(nn.Linear(64, 10), tasks, method="hlop")
    with pytest.raises(ValueError, match="subspace_first"):
        hlop_mlp(64, (16,), 10, subspace_first=(4,))
    with pytest.raises(ValueError, match=r"x: expected presynaptic activity \[S, 8\]"):
        HebbianSubspace(8).hebbian_update(torch.rand(3, 7))


def test_short_run_hlop_forgets_less_than_finetuning():
    """Split digits, shared 2-way head, 3 tasks, short training: HLOP's BWT beats fine-tuning's."""
    tasks = split_digits(5, shared_head=True)[:3]
    results = {}
    for method in ("finetune", "hlop"):
        torch.manual_seed(0)
        model = hlop_mlp(64, (128,), 2, subspace_first=(40, 40), subspace_next=(6, 10), hebbian_lr=0.2)
        results[method] = train_tasks(model, tasks, method=method, epochs=3, hebbian_epochs=8, seed=0)
    print(results["finetune"].table(), results["hlop"].table(), sep="\n")
    assert results["hlop"].bwt > results["finetune"].bwt + 0.05
    assert results["hlop"].bwt > -0.05
    assert results["hlop"].acc_matrix[0, 0] > 0.9
