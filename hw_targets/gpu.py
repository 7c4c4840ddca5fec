"""Target ``gpu``: the float IR run as a torch program with neurokit's fused neuron kernels.

Each IR node becomes the torch op the eager layer runs (``F.linear`` / ``F.conv2d`` on ``[T*B, ...]`` / batch norm
in eval / pooling), and each neuron population a neurokit neuron module with ``backend="auto"`` (the Triton kernel
on CUDA, the fastest CPU path otherwise). Runs on CUDA when present, CPU otherwise. ``cm.run(x)`` equals the eager
model in eval mode (float tolerance; tested in tests/test_compile_capture.py).

Example::

    cm = nk.compile(model, target="gpu", example_input=x)
    y = cm.run(x)          # == model.eval()(x)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compile import ir
from compile.passes import Limits, check_limits, round_delays
from neurokit.layers.delays import delayed_linear_reference

SUPPORTS = Limits(integer=False, max_delay=None)


def _neuron_module(n: ir.Neuron) -> nn.Module:
    import neurokit as nk

    common = {"v_threshold": n.v_threshold, "v_reset": n.v_reset, "backend": "auto",
              "reset_after_decay": n.reset_after_decay}
    if n.kind == "if":
        return nk.IF(**common)
    if n.kind == "cuba":
        return nk.CubaLIF(tau_syn=n.tau_syn, tau_mem=n.tau, **common)
    return nk.LIF(tau=n.tau, decay_input=n.decay_input, **common)


def _fold(fn, x: torch.Tensor) -> torch.Tensor:
    T, B = x.shape[:2]
    y = fn(x.reshape(T * B, *x.shape[2:]))
    return y.reshape(T, B, *y.shape[1:])


class TorchProgram(nn.Module):
    """Executes a float :class:`ir.Graph` node by node. ``forward(x [T, B, ...]) -> [T, B, ...]``."""

    def __init__(self, graph: ir.Graph, device: torch.device):
        super().__init__()
        self.graph, self.device = graph, device
        self.neurons = nn.ModuleDict({n.name.replace(".", "_"): _neuron_module(n) for n in graph if n.op == "neuron"})
        self.tensors = {n.name: {k: torch.as_tensor(getattr(n, k), dtype=torch.float32, device=device)
                                 for k in ("weight", "bias", "mean", "var", "gamma", "beta")
                                 if getattr(n, k, None) is not None} for n in graph}

    def _node(self, n: ir.Node, a: torch.Tensor, vals: dict) -> torch.Tensor:
        p = self.tensors[n.name]
        levels = getattr(n, "input_levels", None)
        if levels:  # the QAT layer's input quantization (round half to even, as torch.round)
            a = torch.clamp(torch.round(a * levels), 0, levels) / levels
        if n.op == "dense" and n.delay is not None:
            return delayed_linear_reference(a, p["weight"], torch.as_tensor(n.delay, device=a.device), p.get("bias"))
        if n.op == "dense":
            return F.linear(a, p["weight"], p.get("bias"))
        if n.op == "conv":
            return _fold(lambda z: F.conv2d(z, p["weight"], p.get("bias"), n.stride, n.padding, n.dilation,
                                            n.groups), a)
        if n.op == "batchnorm":
            fn = lambda z: F.batch_norm(z, p["mean"], p["var"], p["gamma"], p["beta"], False, 0.0, n.eps)
            return _fold(fn, a)
        if n.op == "pool":
            pool = F.max_pool2d if n.kind == "max" else F.avg_pool2d
            return _fold(lambda z: pool(z, n.kernel, n.stride, n.padding), a)
        if n.op == "flatten":
            return a.reshape(a.shape[0], a.shape[1], -1)
        if n.op == "add":
            return sum(vals[s] for s in n.inputs)
        return self.neurons[n.name.replace(".", "_")](a)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vals = {"input": x.to(self.device, torch.float32)}
        for n in self.graph.nodes[1:]:
            vals[n.name] = self._node(n, vals[n.inputs[0]], vals)
        return vals[self.graph.output]


class GPUArtefact:
    """``run(x)`` -> float outputs on the CPU; ``save(path)`` writes the program's IR state (torch.save)."""

    def __init__(self, program: TorchProgram):
        self.program = program

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x).cpu()

    def save(self, path: str) -> None:
        from compile.compiled import atomic_write

        atomic_write(path, lambda f: torch.save({"graph": self.program.graph}, f))

    def report(self) -> dict:
        return {"device": str(self.program.device)}


class GPUTarget:
    """Float simulation target (see module docstring). Passes: round delays, check limits."""

    name = "gpu"
    supports = SUPPORTS

    def prepare(self, graph: ir.Graph, example_input: torch.Tensor, **options) -> ir.Graph:
        if options:
            raise ValueError(f"target 'gpu' takes no options, got {sorted(options)}")
        return check_limits(round_delays(graph), self.supports)

    def lower(self, graph: ir.Graph) -> GPUArtefact:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return GPUArtefact(TorchProgram(graph, device))
