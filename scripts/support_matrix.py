"""Print the model-family x target support matrix by compiling each family and verifying the result (Markdown),
then the IR node type x target table that the targets declare (``node_types`` / ``refusals``, the same table
``compile_model`` checks).

    .venv/bin/python scripts/support_matrix.py
"""
from __future__ import annotations

import torch
from torch import nn

import neurokit as nk


def _families():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(16, 32), nk.LIF(tau=2.0, decay_input=False), nn.Linear(32, 4))
    cnn = nn.Sequential(nk.layers.Conv2d(1, 4, 3, padding=1), nk.LIF(), nk.layers.Flatten(), nn.Linear(256, 4))
    cuba = nn.Sequential(nn.Linear(16, 32), nk.CubaLIF(tau_syn=2.0, tau_mem=4.0), nn.Linear(32, 4))
    alif = nn.Sequential(nn.Linear(16, 32), nk.ALIF(), nn.Linear(32, 4))
    delay = nk.models.round_delays(nk.models.delay_snn(in_features=16, num_classes=4, hidden=32, layers=1,
                                                       max_delay=8, dropout=0.0, seed=0))
    recurrent = {name: nk.models.rsnn(in_features=16, hidden=(32,), num_classes=4, neuron=name, v_threshold=0.3,
                                      seed=0).eval() for name in ("lif", "cuba", "alif")}
    import snntorch as snn

    leaky = nk.from_snntorch(nn.Sequential(nn.Linear(16, 32), snn.Leaky(beta=0.8, init_hidden=True),
                                           nn.Linear(32, 4), snn.Leaky(beta=0.8, init_hidden=True))).eval()
    x16 = (torch.rand(8, 2, 16) > 0.7).float()
    img = (torch.rand(4, 2, 1, 8, 8) > 0.5).float()          # spike frames (Loihi takes spikes only)
    return [
        ("LIF MLP", mlp, x16), ("LIF CNN", cnn, img), ("CUBA-LIF MLP", cuba, x16), ("ALIF MLP", alif, x16),
        ("snnTorch Leaky MLP (`nk.from_snntorch`, default reset)", leaky, x16),
        ("delay SNN (rounded)", delay.eval(), x16),
        ("recurrent LIF (rsnn)", recurrent["lif"], x16), ("recurrent CUBA-LIF (rsnn)", recurrent["cuba"], x16),
        ("recurrent ALIF (rsnn)", recurrent["alif"], x16),
        ("binary MLP", nk.models.binary_mlp(16, (32,), 4).eval(), x16),
        ("binary CNN", nk.models.binary_cnn(preset="tiny").eval(), img),
        ("binary ResNet-18 (width 8)", nk.models.binary_resnet18(in_channels=1, width=8, image_size=8,
                                                                 num_classes=4).eval(), img),
        ("quantized SNN", nk.models.quant_snn(16, (32,), 4).eval(), torch.rand(8, 2, 16)),
        ("HLOP MLP", nk.models.hlop_mlp(16, (32,), 4).eval(), x16),
        ("HLOP CNN", nk.models.hlop_cnn(1, 8, (4, 8), 4).eval(), img),
        ("Spikformer (tiny)", nk.models.spikformer("tiny").eval(), img),
        ("Spikformer SDSA (tiny)", nk.models.spikformer("tiny", attention="sdsa").eval(), img),
        ("Max-Former (tiny)", nk.models.maxformer("tiny").eval(), img),
        ("Meta-SpikeFormer (tiny)", nk.models.metaspikeformer("tiny").eval(), img),
        ("QKFormer (tiny)", nk.models.qkformer("tiny").eval(), img),
        ("sigma-delta CNN (`sdnn_cnn`, scale 64)", nk.models.sdnn_cnn(n_out=4, threshold=4 / 64, scale=64),
         torch.rand(4, 2, 1, 8, 8)),
    ]


TARGETS = ("gpu", "onnx_int", "loihi2", "nir")


def verify(model, cm, target: str, x: torch.Tensor) -> bool:
    """The target's contract on ``x``: gpu and nir equal eager (rtol 1e-5), onnx_int and loihi2 equal the integer
    reference bit for bit (loihi2 with its one-step synaptic latency per layer)."""
    import numpy as np

    from compile import integer_sim

    out = cm.run(x)
    if target in ("onnx_int", "loihi2"):
        ref = np.asarray(integer_sim.run(cm.graph, x, latency=1 if target == "loihi2" else 0))
        return bool(np.array_equal(np.asarray(out, dtype=np.int64), ref.astype(np.int64)))
    with torch.no_grad():
        eager = model(x)
    return bool(torch.allclose(out.float(), eager.float(), rtol=1e-5, atol=1e-5))


def support_matrix() -> list[tuple[str, list[str]]]:
    """Compile every family to every target and verify it; rows of ``(family, cells)`` with ``"yes"``,
    ``"MISMATCH"`` (compiled but broke its contract) or ``"no: <CompileError reason>"``."""
    rows = []
    for name, model, x in _families():
        cells = []
        for t in TARGETS:
            try:
                cm = nk.compile(model, target=t, example_input=x)
            except nk.CompileError as e:
                msg = str(e).split("\n")[0].replace("|", "/")
                cells.append(f"no: {msg[:90]}..." if len(msg) > 90 else f"no: {msg}")
                continue
            cells.append("yes" if verify(model, cm, t, x) else "MISMATCH")
        rows.append((name, cells))
    return rows


def node_type_matrix() -> list[tuple[str, list[str]]]:
    """Rows ``(op, cells)`` per IR node class (``compile.ir.NODE_TYPES``): ``"yes"`` where the target's
    ``node_types`` has it, else ``"no: <the target's stated reason>"``."""
    from compile import ir
    from hw_targets.registry import get_target

    targets = [get_target(t) for t in TARGETS]
    rows = []
    for node_type in ir.NODE_TYPES:
        cells = ["yes" if node_type in t.node_types else
                 f"no: {t.refusals.get(node_type.op, 'not declared by the target')}".replace("|", "/")
                 for t in targets]
        rows.append((node_type.op, cells))
    return rows


def main() -> None:
    print("| model family | " + " | ".join(f"`{t}`" for t in TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for name, cells in support_matrix():
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| IR node type | " + " | ".join(f"`{t}`" for t in TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for op, cells in node_type_matrix():
        print(f"| `{op}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
