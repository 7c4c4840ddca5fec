"""Meta-SpikeFormer and QKFormer: shapes, gradients, input checks (parameter counts:
models/test_published_counts.py)."""
import pytest
import torch

import neurokit as nk


@pytest.mark.parametrize("build", [nk.models.metaspikeformer, nk.models.qkformer])
def test_tiny_forward_backward_and_time_major_input(build):
    torch.manual_seed(0)
    net = build("tiny", T=2)
    static = torch.rand(3, 1, 8, 8)
    y = net(static)
    assert y.shape == (2, 3, 10)
    assert torch.allclose(net(static.unsqueeze(0).expand(2, 3, 1, 8, 8)), y)
    y.mean(0).logsumexp(-1).sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_rep_conv_border_is_the_batch_norm_of_zero():
    from neurokit.models.metaspikeformer import rep_conv
    torch.manual_seed(0)
    rc = rep_conv(3).eval()
    for m in rc.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    x = torch.rand(1, 1, 3, 4, 4)
    conv1, bn1 = rc[0], rc[1]
    inner = bn1(conv1(x))                         # [1, 1, 3, 6, 6], border = BN(0) per channel
    pad_value = bn1.bias - bn1.running_mean * bn1.weight / torch.sqrt(bn1.running_var + bn1.eps)
    assert torch.allclose(inner[0, 0, :, 0, 0], pad_value.detach())
    assert rc(x).shape == x.shape


@pytest.mark.parametrize("call,match", [
    (lambda: nk.models.metaspikeformer("nope"), "preset must be one of"),
    (lambda: nk.models.metaspikeformer("tiny", widths=(8, 16, 32)), "widths"),
    (lambda: nk.models.metaspikeformer("tiny", img_size=12), "img_size"),
    (lambda: nk.models.qkformer("tiny", stem="vit"), "stem must be one of"),
    (lambda: nk.models.qkformer("tiny", heads=3), "divisible by heads"),
    (lambda: nk.models.qkformer("tiny")(torch.rand(2, 3, 8)), "QKFormer input x"),
])
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
