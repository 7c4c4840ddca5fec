"""``nk.time_major``: plain torch layers between neurokit neurons act on ``[T, B, ...]`` exactly as the same layer
applied step by step (the definition: the torch layer on each ``[B, ...]`` slice); ``nk.compile`` captures such a
model directly; a layer with no time-major form is refused naming its path and what to use instead."""
import pytest
import torch
from torch import nn

import neurokit as nk
from compile import CompileError


def _plain(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nk.LIF(tau=2.0, v_threshold=0.3),
                         nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1), nk.IF(v_threshold=0.5), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, 8), nn.BatchNorm1d(8), nk.LIF(v_threshold=0.2),
                         nn.Linear(8, 3))


def _stepwise(plain: nn.Sequential, x):
    """The reference: every torch layer applied to each [B, ...] time slice, neurons on the whole sequence."""
    for m in plain:
        if isinstance(m, nk.neurons.Neuron):
            x = m(x)
        else:
            x = torch.stack([m(x[t]) for t in range(x.shape[0])])
    return x


def test_time_major_matches_stepwise_torch_layers_and_compiles():
    plain = _plain(0).eval()
    with torch.no_grad():
        for m in plain:
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    x = (torch.rand(6, 3, 2, 8, 8) < 0.4).float()
    with torch.no_grad():
        ref = _stepwise(plain, x)
    cm = nk.compile(plain, target="gpu", example_input=x)      # captured from the plain model (a converted copy)
    assert type(plain[0]) is nn.Conv2d                        # nk.compile left the model alone
    model = nk.time_major(plain)
    assert model is plain and isinstance(model[0], nk.layers.Conv2d) and isinstance(model[7], nk.layers.Flatten)
    with torch.no_grad():
        out = model(x)
        assert torch.equal(out, ref)
        torch.testing.assert_close(cm.run(x), ref, rtol=1e-5, atol=1e-5)
    assert ref.abs().sum() > 0


@pytest.mark.parametrize("layer,use", [(nn.Dropout2d(0.1), "use nn.Dropout"),
                                       (nn.AdaptiveAvgPool2d(2), "nk.layers.AvgPool2d"),
                                       (nn.Flatten(0, 2), "use nn.Flatten()"),
                                       (nn.Upsample(scale_factor=2), "strided nk.layers.Conv2d")])
def test_unsupported_layer_names_path_and_alternative(layer, use):
    model = nn.Sequential(nn.Conv2d(2, 2, 3), nn.Sequential(nk.LIF(), layer))
    with pytest.raises(ValueError, match=f"time_major: module '1.1' .*{use}"):
        nk.time_major(model)
    with pytest.raises(CompileError, match=f"nk.compile: module '1.1' .*{use}"):
        nk.compile(model, target="gpu", example_input=torch.rand(2, 1, 2, 6, 6))
