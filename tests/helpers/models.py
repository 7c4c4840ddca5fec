"""Model set-up shared by tests."""
import torch

from torch import nn

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
