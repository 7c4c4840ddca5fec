"""Every model family at its paper's size through every target: compile time, peak memory, artefact size, run
time per sample, the target's contract on a few samples, and Loihi 2 cores / chips (Markdown table).

    .venv/bin/python scripts/scale_matrix.py                      # T=4, batch 2, ImageNet families at 224x224
    .venv/bin/python scripts/scale_matrix.py --T 1 --batch 1 --imagenet-size 32 --families spikformer,qkformer

Families and the source of each configuration (parameter counts are those of `neurokit.models`' presets, tested
against the published ones):

* Spikformer 4-384, CIFAR-10 (Zhou et al., ICLR 2023; ``cifar10/cifar10.yml`` of ``ZK-Zhou/spikformer``), 9.32M;
* Max-Former, CIFAR-10 (Fang et al., NeurIPS 2025; ``cifar10-100/max_former.py`` of ``bic-L/MaxFormer``);
* QKFormer HST-4-384, CIFAR-10 (Zhou et al., NeurIPS 2024; ``cifar10/cifar10.yml`` of ``zhouchenlin2096/QKFormer``);
* Meta-SpikeFormer 15.1M, ImageNet (Yao et al., ICLR 2024; ``classification/models.py`` of
  ``BICLab/Spike-Driven-Transformer-V2``), run at ``--imagenet-size`` (its parameters do not depend on the
  resolution: no position embedding);
* delay SNN, SHD (Hammouamri et al., ICLR 2024; ``config.py`` of ``Thvnvtos/SNN-delays``: 700 channels binned by 5 to
  140, 2 x 256, 20 classes, max delay 25), delays rounded;
* binary VGG-small CNN, CIFAR-10 shape (``nk.models.binary_cnn(preset="vgg_small")``, 128-256-512 channels);
* binary ResNet-18, CIFAR-10 (``resnet18_1w1a`` of ReSTE, Wu et al., ICCV 2023, ``model/models_cifar/resnet18.py``
  of ``DravenALG/ReSTE``, the setting BiPer, Vargas et al., CVPR 2024, also reports; full-precision stem and
  classifier, ``BatchNorm1d`` before the classifier, per-layer ``mean|W|`` scale), 11,174,986 parameters, ReSTE
  estimator (every estimator deploys the same {-1, +1} kernels);
* HLOP MLP, PMNIST (Xiao et al., ICLR 2024; ``spiking_train_pmnist.py`` of ``pkuxmq/HLOP-SNN``: 784-800-800-10).

Measurements: compile time is wall-clock ``time.perf_counter`` around ``nk.compile``; peak memory is the Python +
NumPy heap peak during compile measured by ``tracemalloc`` (torch's own C++ allocations are not counted); artefact
size is the bytes ``cm.save`` writes (``gpu`` has no file: "-"); run time per sample is ``cm.run`` on the batch
divided by the batch size. Check: gpu and nir equal eager (rtol 1e-5), onnx_int and loihi2 bit-exact to the integer
reference (`support_matrix.verify`); a refusal prints the compiler's reason, with each list of refused nodes
shortened to its count and op (``Cell.reason`` keeps the whole message). Loihi 2: cores from the core map and
chips = ceil(cores / 128).
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import re
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import torch

import neurokit as nk

TARGETS = ("gpu", "onnx_int", "loihi2", "nir")
CORES_PER_CHIP = 128


def _support_matrix():
    spec = importlib.util.spec_from_file_location("support_matrix", Path(__file__).with_name("support_matrix.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass
class Family:
    """A model family at its paper's size: ``build(T)`` -> eval model, ``sample(T, batch)`` -> input."""

    name: str
    key: str
    build: object
    sample: object


def _image(channels: int, size: int, spikes: bool = False):
    def sample(T: int, batch: int) -> torch.Tensor:
        x = torch.rand(T, batch, channels, size, size)
        return (x > 0.5).float() if spikes else x
    return sample


def _vector(features: int, p: float = 0.8):
    return lambda T, batch: (torch.rand(T, batch, features) > p).float()


def families(imagenet_size: int = 224) -> list[Family]:
    """The families of the module docstring, each at its paper's configuration."""
    m = nk.models
    return [
        Family("Spikformer 4-384 (CIFAR-10, 9.32M)", "spikformer",
               lambda T: m.spikformer("cifar10-4-384", T=T), _image(3, 32)),
        Family("Max-Former (CIFAR-10)", "maxformer", lambda T: m.maxformer("cifar10", T=T), _image(3, 32)),
        Family("QKFormer HST-4-384 (CIFAR-10, 6.71M)", "qkformer",
               lambda T: m.qkformer("cifar10-4-384", T=T), _image(3, 32)),
        Family(f"Meta-SpikeFormer 15.1M (ImageNet, at {imagenet_size}px)", "metaspikeformer",
               lambda T: m.metaspikeformer("imagenet-15m", T=T, img_size=imagenet_size), _image(3, imagenet_size)),
        Family("delay SNN 140-256-256-20 (SHD, rounded delays)", "delay_snn",
               lambda _T: m.round_delays(m.delay_snn(seed=0)), _vector(140)),
        Family("binary VGG-small (CIFAR-10 shape)", "binary_cnn",
               lambda _T: m.binary_cnn(3, 10, 32, preset="vgg_small"), _image(3, 32, spikes=True)),
        Family("binary ResNet-18 (CIFAR-10, 11.17M, ReSTE)", "binary_resnet18",
               lambda _T: m.binary_resnet18("reste"), _image(3, 32)),
        Family("HLOP MLP 784-800-800-10 (PMNIST)", "hlop_mlp", lambda _T: m.hlop_mlp(784, (800, 800), 10),
               _vector(784)),
    ]


#: A list of refused nodes in a compile error, ``node 'a' (pool), node 'b' (pool): <reason>``.
_NODE_LIST = re.compile(r"(?:node '[^']*' \((\w+)\)(?:, )?)+: ")


def brief(message: str) -> str:
    """First line of a compile error with each list of two or more refused nodes as its count and op, for a table
    cell.

    Example::

        >>> brief("nir: 2 nodes cannot be exported: node 'a' (pool), node 'b' (pool): max-pool has no NIR node")
        'nir: 2 nodes cannot be exported: 2 x pool: max-pool has no NIR node'
    """
    def count(match: re.Match) -> str:
        ops = re.findall(r"node '[^']*' \((\w+)\)", match.group(0))
        return match.group(0) if len(ops) == 1 else f"{len(ops)} x {'/'.join(dict.fromkeys(ops))}: "

    return _NODE_LIST.sub(count, message.splitlines()[0]).replace("|", "/")


@dataclass
class Cell:
    """One family x target measurement; ``reason``: the whole compile error of a refusal, else None."""

    check: str
    compile_s: float | None = None
    peak_mib: float | None = None
    artefact_kib: float | None = None
    run_ms_per_sample: float | None = None
    cores: int | None = None
    reason: str | None = None

    def markdown(self) -> str:
        if self.compile_s is None:
            return self.check
        parts = [self.check, f"compile {self.compile_s:.1f} s", f"peak {self.peak_mib:.0f} MiB",
                 "no file" if self.artefact_kib is None else f"file {self.artefact_kib / 1024:.1f} MiB",
                 f"run {self.run_ms_per_sample:.0f} ms/sample"]
        if self.cores is not None:
            parts.append(f"{self.cores} cores, {math.ceil(self.cores / CORES_PER_CHIP)} chip(s)")
        return "<br>".join(parts)


def _artefact_kib(cm) -> float | None:
    if cm.target == "gpu":
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model.{'onnx' if cm.target == 'onnx_int' else 'bin'}"
        cm.save(path)
        files = [path] if path.is_file() else [p for p in path.parent.rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in files) / 1024


def measure(model, x: torch.Tensor, target: str, verify) -> Cell:
    """Compile ``model`` for ``target`` on ``x`` and measure it (module docstring)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        cm = nk.compile(model, target=target, example_input=x)
    except nk.CompileError as err:
        tracemalloc.stop()
        return Cell("refused: " + brief(str(err)), reason=str(err))
    compile_s = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    start = time.perf_counter()
    ok = verify(model, cm, target, x)                        # runs cm.run(x) once
    run_ms = (time.perf_counter() - start) * 1000 / x.shape[1]
    cores = cm.report().get("cores") if target == "loihi2" else None
    check = ("bit-exact" if target in ("onnx_int", "loihi2") else "equal") if ok else "MISMATCH"
    return Cell(check, compile_s, peak, _artefact_kib(cm), run_ms, cores)


def scale_matrix(T: int = 4, batch: int = 2, imagenet_size: int = 224, keys: tuple[str, ...] | None = None,
                 targets: tuple[str, ...] = TARGETS) -> list[tuple[str, list[Cell]]]:
    """Rows ``(family, cells)`` for the families whose key is in ``keys`` (all if None), one cell per target."""
    verify = _support_matrix().verify
    rows = []
    for fam in families(imagenet_size):
        if keys is not None and fam.key not in keys:
            continue
        torch.manual_seed(0)
        model = fam.build(T).eval()
        x = fam.sample(T, batch)
        rows.append((fam.name, [measure(model, x, t, verify) for t in targets]))
    return rows


def markdown(rows, targets: tuple[str, ...] = TARGETS) -> str:
    lines = ["| model family (paper size) | " + " | ".join(f"`{t}`" for t in targets) + " |",
             "|---|" + "---|" * len(targets)]
    lines += [f"| {name} | " + " | ".join(c.markdown() for c in cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, default=4)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--imagenet-size", type=int, default=224)
    parser.add_argument("--families", default=None, help="comma-separated keys (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    keys = None if args.families is None else tuple(args.families.split(","))
    rows = scale_matrix(args.T, args.batch, args.imagenet_size, keys)
    print(f"T={args.T}, batch {args.batch}, ImageNet families at {args.imagenet_size}px, 1 thread\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
