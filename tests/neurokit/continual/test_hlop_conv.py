"""HLOP on convolutional layers: unfolded patches as presynaptic activity, projection orthogonal to the frozen
subspace of a conv weight, and a short split-digits run where conv HLOP forgets less than fine-tuning (EWC through
the same harness)."""
import copy

import pytest
import torch
import torch.nn.functional as F

import neurokit as nk
from neurokit.continual import projected_step, split_digits, train_tasks
from neurokit.models.hlop_cnn import unfold_patches


def _digits_images(task, n=64):
    return nk.encode.direct(task.x_train[:n], 4)                      # [T, n, 64]


def test_unfolded_patches_are_the_conv_presynaptic_vectors():
    """conv2d(x, W) at every position is W.reshape(C_out, -1) @ patch: the layout the projection relies on."""
    gen = torch.Generator().manual_seed(0)
    x, w = torch.rand(2, 3, 4, 8, 8, generator=gen), torch.randn(5, 4, 3, 3, generator=gen)
    patches = unfold_patches(x, 3, 1)                                 # [2*3*64, 36]
    reference = F.conv2d(x.reshape(-1, 4, 8, 8), w, padding=1)        # [6, 5, 8, 8]
    ours = (patches @ w.reshape(5, -1).T).reshape(6, 64, 5).transpose(1, 2).reshape(6, 5, 8, 8)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)


def test_conv_projection_is_orthogonal_to_the_old_patch_subspace():
    """After learning task 0's subspaces and merging: the Adam updates of the conv weights, flattened to
    [C_out, C_in*9], are orthogonal to the frozen rows (up to the rows' own orthonormality); the first conv's
    response to task 0's images moves much less than with unprojected updates."""
    tasks = split_digits(5, shared_head=True)
    torch.manual_seed(0)
    model = nk.models.hlop_cnn(1, 8, (16, 32), 2, subspace_first=(5, 72, 64), subspace_next=(1, 18, 16),
                               hebbian_lr=0.2, v_threshold=0.3)
    gen = torch.Generator().manual_seed(0)
    model.add_subspaces(0, gen)
    model.recording = True
    with torch.no_grad():
        for _ in range(30):
            model(_digits_images(tasks[0]))
            model.hebbian_update()
    model.recording = False
    model.merge_subspaces()
    for sub in model.subspaces:                                       # orthonormal rows
        torch.testing.assert_close(sub.weight @ sub.weight.T, torch.eye(sub.size), atol=0.05, rtol=0)
    old_images = _digits_images(tasks[0])
    with torch.no_grad():                                             # presynaptic patches of both convs
        images = old_images.reshape(4, -1, 1, 8, 8)
        spikes = model.pools[0](model.neurons[0](model.convs[0](images)))
    for sub, x in zip(model.subspaces[:2], (images, spikes)):         # the subspaces hold the old patches
        patches = unfold_patches(x, 3, 1)
        kept = (patches @ sub.weight.T).pow(2).sum() / patches.pow(2).sum()
        assert kept > 0.9, float(kept)

    def conv_response(m):
        with torch.no_grad():
            return m.convs[0](old_images.reshape(4, -1, 1, 8, 8))

    changes = {}
    for projected in (True, False):
        net = copy.deepcopy(model)
        before = [w.detach().clone() for w in net.synapse_weights()]
        response = conv_response(net)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        x, y = _digits_images(tasks[1]), torch.searchsorted(torch.tensor(tasks[1].classes), tasks[1].y_train[:64])
        for _ in range(5):
            loss = F.cross_entropy(net(x).mean(0), y)
            opt.zero_grad()
            loss.backward()
            projected_step(opt, net.hlop_pairs()) if projected else opt.step()
        inside = []                          # share of each update that lies in the old subspace
        for w, old, sub in zip(net.synapse_weights(), before, net.subspaces):
            delta = (w.detach() - old).reshape(w.shape[0], -1)
            assert delta.abs().max() > 1e-4                                       # it did learn
            inside.append(float((delta @ sub.weight.T).norm() / delta.norm()))
        changes[projected] = (inside, float((conv_response(net) - response).abs().mean()))
    print("share of the update in the old subspace, mean |conv response change|:", changes)
    # Oja rows are orthonormal to ~1e-2, so the projection removes the old-subspace part up to that
    assert all(r < 0.05 for r in changes[True][0]) and all(r > 0.3 for r in changes[False][0]), changes
    assert changes[True][1] < 0.3 * changes[False][1], changes


def test_short_run_conv_hlop_beats_finetuning_on_bwt():
    """Split digits, shared 2-way head, 3 tasks; the same conv net and harness for every method."""
    tasks = split_digits(5, shared_head=True)[:3]
    results = {}
    for method in ("finetune", "ewc", "hlop"):
        torch.manual_seed(0)
        model = nk.models.hlop_cnn(1, 8, (16, 32), 2, subspace_first=(5, 72, 64), subspace_next=(1, 18, 16),
                                   hebbian_lr=0.2, v_threshold=0.3)
        results[method] = train_tasks(model, tasks, method=method, epochs=3, hebbian_epochs=5, seed=0)
    print(*(r.table() for r in results.values()), sep="\n")
    assert results["hlop"].bwt > results["finetune"].bwt + 0.1
    assert results["hlop"].acc_matrix[0, 0] > 0.9 and results["finetune"].acc_matrix[0, 0] > 0.9
    assert results["ewc"].acc_matrix.shape == (3, 3)


def test_hlop_cnn_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"image_size=10 must be divisible by 2\*\*2"):
        nk.models.hlop_cnn(1, 10, (4, 8))
    with pytest.raises(ValueError, match=r"subspace_first=\(1, 2\): expected one size per synaptic layer \(3"):
        nk.models.hlop_cnn(1, 8, (4, 8), subspace_first=(1, 2))
    with pytest.raises(ValueError, match=r"HLOPCNN input x: expected \[T, B, 64\] or \[T, B, 1, 8, 8\], got"):
        nk.models.hlop_cnn(1, 8, (4,))(torch.rand(2, 3, 63))
