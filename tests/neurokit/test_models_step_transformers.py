"""Meta-SpikeFormer and QKFormer: published parameter counts, shapes, gradients, input checks."""
import pytest
import torch

import neurokit as nk
from neurokit.models.spikformer import count_parameters

# (builder, preset, exact count of our build, published count in millions, decimals of the publication)
# Meta-SpikeFormer: Yao et al., ICLR 2024 (arXiv 2404.03663), 15.1M / 31.3M / 55.4M on ImageNet-1K.
# QKFormer: Zhou et al., NeurIPS 2024 (arXiv 2403.16552), HST-10-384/512/768 16.47M / 29.08M / 64.96M on
# ImageNet-1K and HST-4-384 6.74M on CIFAR (the 100-class head; the 10-class head is 6,706,234).
PUBLISHED = [
    (nk.models.metaspikeformer, "imagenet-15m", 15_112_208, 15.1, 1),
    (nk.models.metaspikeformer, "imagenet-31m", 31_333_864, 31.3, 1),
    (nk.models.metaspikeformer, "imagenet-55m", 55_350_248, 55.4, 1),
    (nk.models.qkformer, "imagenet-10-384", 16_473_688, 16.47, 2),
    (nk.models.qkformer, "imagenet-10-512", 29_079_336, 29.08, 2),
    (nk.models.qkformer, "imagenet-10-768", 64_962_760, 64.96, 2),
    (nk.models.qkformer, "cifar100-4-384", 6_740_884, 6.74, 2),
    (nk.models.qkformer, "cifar10-4-384", 6_706_234, 6.71, 2),
]


@pytest.mark.parametrize("build,preset,count,published,decimals", PUBLISHED, ids=[p[1] + "-" + p[0].__name__
                                                                                    for p in PUBLISHED])
def test_preset_parameter_count_is_the_published_one(build, preset, count, published, decimals):
    with torch.device("meta"):                    # shapes only: no memory, no initialisation time
        n = count_parameters(build(preset))
    assert n == count
    assert round(n / 1e6, decimals) == published


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
