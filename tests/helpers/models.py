"""Model set-up shared by tests."""
import torch

from torch import nn

import neurokit as nk
from neurokit.layers.time_major import BATCH_NORMS


def randomize_batchnorm(model: nn.Module, seed: int, gamma=(0.5, 2.0), beta=(-0.3, 0.3)) -> nn.Module:
    """Trained-looking batch norm statistics (positive gamma), so neurons fire and folding is exercised."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, BATCH_NORMS):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) * (gamma[1] - gamma[0]) + gamma[0])
            m.bias.data.copy_(torch.rand(c, generator=g) * (beta[1] - beta[0]) + beta[0])
    return model.eval()


def two_layer_if_net():
    """Linear(3->2) with zero weights, IF(0.9), Linear(2->1), IF(0.5); one sample, T=3, known spikes."""
    fc1, fc2 = nn.Linear(3, 2, bias=False), nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        fc1.weight.copy_(torch.tensor([[1.0, 0.0, 1.0], [0.5, 0.5, 0.0]]))
        fc2.weight.copy_(torch.tensor([[1.0, 1.0]]))
    net = nn.Sequential(fc1, nk.IF(v_threshold=0.9, backend="torch"), fc2, nk.IF(v_threshold=0.5, backend="torch"))
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]).reshape(3, 1, 3)
    return net, x
