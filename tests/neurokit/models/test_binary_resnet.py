"""Binary ResNet-18 (CIFAR-10 configuration of ReSTE / BiPer): parameter count, training step, and `onnx_int` with
binary weights as integer convolutions, bit-identical to the integer reference simulator."""
import numpy as np
import onnx.numpy_helper
import pytest
import torch

import neurokit as nk
from compile import integer_sim
from hw_targets.onnx_int import all_nodes
from neurokit.models.spikformer import count_parameters
from tests.helpers.models import randomize_batchnorm
from tests.helpers.onnx_checks import float_ops

# ReSTE's resnet18_1w1a (model/models_cifar/resnet18.py of DravenALG/ReSTE): He et al.'s CIFAR ResNet-18,
# 11,173,962 parameters, plus the BatchNorm1d(512) before its classifier (1,024) = 11,174,986; its binary convs scale
# the sign kernel by mean(|W|) computed in forward (model/binary_module/binarized_modules.py), no parameter.
PUBLISHED = 11_174_986


@pytest.mark.parametrize("estimator", ["ste", "reste", "biper"])
def test_parameter_count_is_the_published_one(estimator):
    net = nk.models.binary_resnet18(estimator)
    assert count_parameters(net) == PUBLISHED
    assert sum(p.numel() for p in net.parameters()) == PUBLISHED      # no frozen parameter either
    binary = [m for m in net.modules() if isinstance(m, nk.layers.BinaryConv2d)]
    assert len(binary) == 16 and all(m.alpha is None for m in binary)    # 8 basic blocks x 2 convs, computed scale
    w = binary[3].weight
    assert torch.equal(binary[3].weight_scale(), w.detach().abs().mean().expand(w.shape[0]))
    full = [m for m in net.modules() if type(m) is nk.layers.Conv2d]
    assert [m.kernel_size for m in full] == [(3, 3), (1, 1), (1, 1), (1, 1)]   # stem + 3 down-sampling shortcuts
    assert type(net.head_bn) is nk.layers.BatchNorm1d and net.head_bn.num_features == 512
    # BiPer's learnable per-channel alpha instead (cifar10/modules/binarized_modules.py of edmav4/BiPer): +3,840
    assert count_parameters(nk.models.binary_resnet18(estimator, scale="learned")) == PUBLISHED + 3840


@pytest.mark.parametrize("estimator", ["ste", "reste", "biper"])
def test_binary_resnet18_on_onnx_int_is_bit_identical_to_the_integer_reference(estimator):
    """Reduced width (16) and input (8x8), T=2; every block conv is a {-1, +1} ConvInteger."""
    torch.manual_seed(0)
    model = nk.models.binary_resnet18(estimator, width=16, image_size=8, v_threshold=0.5)
    model = randomize_batchnorm(model, 0, gamma=(1.0, 3.0), beta=(0.2, 1.0))
    x = torch.rand(2, 2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    cm = nk.compile(model, target="onnx_int", example_input=x)
    out, vals = integer_sim.run(cm.graph, x, record=True)
    assert np.array_equal(cm.run(x).numpy(), out)
    rates = [vals[n.name].mean() for n in cm.graph if n.op == "neuron"]
    assert len(rates) == 17 and all(0.05 < r < 0.95 for r in rates)             # every layer is active
    assert "batchnorm" not in {n.op for n in cm.graph}      # the head's BatchNorm1d is folded into the classifier
    binary = [n for n in cm.graph if n.op == "conv" and ".conv" in n.name]
    assert len(binary) == 16 and all(n.quant.bits == 1 for n in binary)
    assert all(set(np.unique(n.quant.weight)) == {-1, 1} for n in binary)
    model_proto = cm.artefact.model
    consts = {t.name: onnx.numpy_helper.to_array(t) for t in model_proto.graph.initializer}
    convs = [n for n in all_nodes(model_proto.graph) if n.op_type == "ConvInteger"]
    binary_kernels = [consts[n.input[1]] for n in convs if n.input[1] in consts
                      and set(np.unique(consts[n.input[1]])) == {-1, 1}]
    assert len(binary_kernels) >= 16 and all(k.dtype == np.int8 for k in binary_kernels)
    assert float_ops(model_proto) == []


def test_binary_resnet18_trains_and_rejects_bad_input():
    torch.manual_seed(0)
    net = nk.models.binary_resnet18("biper", width=8, image_size=8, num_classes=4)
    x, y = torch.rand(2, 4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(net(x).mean(0), y) + nk.layers.binary_regularizer(net, 0.01)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    with pytest.raises(ValueError, match=r"BinaryResNet18 input x: expected \[T, B, 3, 8, 8\], got \(2, 3, 8, 8\)"):
        net(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="estimator='xnor'"):
        nk.models.binary_resnet18("xnor")
    with pytest.raises(ValueError, match="width=0"):
        nk.models.binary_resnet18(width=0)
    with pytest.raises(ValueError, match="image_size=12"):
        nk.models.binary_resnet18(image_size=12)
    with pytest.raises(ValueError, match="scale='alpha'"):
        nk.models.binary_resnet18(scale="alpha")
