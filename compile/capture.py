"""Capture: a model built from neurokit layers -> the typed IR (:mod:`compile.ir`).

The model is traced with ``torch.fx`` (neurokit neurons, time-major wrappers, ``nn.Linear``, ``DelayedLinear``
... are leaves), then run once on ``example_input`` to infer every tensor's shape. Each fx node becomes an IR
node through a *converter* looked up by module type (walking the MRO, so a subclass may register its own).
Anything else raises :class:`CompileError` naming the module path and the op.

Example::

    model = nn.Sequential(nn.Linear(4, 3), nk.LIF(tau=2.0))
    g = capture(model, torch.rand(5, 2, 4))      # [T, B, F]
    [n.op for n in g]                            # ['input', 'dense', 'neuron']
"""
from __future__ import annotations

import copy
import operator
from collections.abc import Callable

import numpy as np
import torch
from torch import fx, nn

from compile import ir
from compile.ir import CompileError

Converter = Callable[[nn.Module, str, tuple, tuple, tuple], "ir.Node | None"]
CONVERTERS: dict[type, Converter] = {}


def register_converter(cls: type):
    """Decorator: ``fn(module, path, inputs, in_shape, out_shape) -> ir.Node`` (a list: a chain of nodes; None:
    identity) for ``cls``.

    Shapes are per step (no ``[T, B]``). Example::

        @register_converter(MyLayer)
        def _my(m, path, inputs, in_shape, out_shape): return ir.Dense(path, inputs, out_shape, weight=...)
    """

    def deco(fn: Converter) -> Converter:
        CONVERTERS[cls] = fn
        return fn

    return deco


def converter_for(module: nn.Module) -> Converter | None:
    """The converter registered for ``type(module)`` or its nearest base class, else None."""
    for cls in type(module).__mro__:
        if cls in CONVERTERS:
            return CONVERTERS[cls]
    return None


def _np(t) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().double().numpy()


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


@register_converter(nn.Linear)
def _linear(m, path, inputs, in_shape, out_shape):
    return ir.Dense(path, inputs, out_shape, weight=_np(m.weight), bias=_np(m.bias))


@register_converter(nn.Conv2d)
def _conv(m, path, inputs, in_shape, out_shape):
    if m.padding_mode != "zeros" or isinstance(m.padding, str) and m.padding != "valid":
        raise CompileError(f"module {path!r} (Conv2d): padding {m.padding!r}/{m.padding_mode!r} is not supported; "
                           f"use integer zero padding")
    pad = (0, 0) if m.padding == "valid" else _pair(m.padding)
    return ir.Conv(path, inputs, out_shape, weight=_np(m.weight), bias=_np(m.bias), stride=_pair(m.stride),
                   padding=pad, dilation=_pair(m.dilation), groups=int(m.groups))


@register_converter(nn.modules.batchnorm._BatchNorm)
def _bn(m, path, inputs, in_shape, out_shape):
    if m.running_mean is None:
        raise CompileError(f"module {path!r} ({type(m).__name__}): batch norm without running statistics "
                           f"(track_running_stats=False) cannot be folded")
    c = m.num_features
    gamma = _np(m.weight) if m.affine else np.ones(c)
    beta = _np(m.bias) if m.affine else np.zeros(c)
    return ir.BatchNorm(path, inputs, out_shape, mean=_np(m.running_mean), var=_np(m.running_var), gamma=gamma,
                        beta=beta, eps=float(m.eps))


def _pool(kind):
    def conv(m, path, inputs, in_shape, out_shape):
        if m.ceil_mode or (kind == "max" and _pair(m.dilation) != (1, 1)) or \
                (kind == "avg" and (not m.count_include_pad or m.divisor_override is not None)):
            raise CompileError(f"module {path!r} ({type(m).__name__}): only ceil_mode=False, dilation=1 and "
                               f"(avg) count_include_pad=True without divisor_override are supported")
        stride = m.stride if m.stride is not None else m.kernel_size
        return ir.Pool(path, inputs, out_shape, kind=kind, kernel=_pair(m.kernel_size), stride=_pair(stride),
                       padding=_pair(m.padding))

    return conv


register_converter(nn.MaxPool2d)(_pool("max"))
register_converter(nn.AvgPool2d)(_pool("avg"))


@register_converter(nn.Flatten)
def _flatten(m, path, inputs, in_shape, out_shape):
    if len(out_shape) != 1:
        raise CompileError(f"module {path!r} (Flatten): must flatten every dim after [T, B] "
                           f"(start_dim=2, end_dim=-1); got output per-step shape {out_shape}")
    return ir.Flatten(path, inputs, out_shape)


@register_converter(nn.Identity)
@register_converter(nn.Dropout)
def _identity(m, path, inputs, in_shape, out_shape):
    return None


def _neuron_converters() -> None:
    import neurokit as nk

    def lif(m, path, inputs, in_shape, out_shape):
        kind = "if" if isinstance(m, nk.IF) else "lif"
        return ir.Neuron(path, inputs, out_shape, kind=kind, tau=float(m.tau), v_threshold=float(m.v_threshold),
                         v_reset=m.v_reset, decay_input=bool(m.decay_input) and kind == "lif",
                         reset_after_decay=bool(m.reset_after_decay))

    def cuba(m, path, inputs, in_shape, out_shape):
        return ir.Neuron(path, inputs, out_shape, kind="cuba", tau=float(m.tau_mem), tau_syn=float(m.tau_syn),
                         v_threshold=float(m.v_threshold), v_reset=m.v_reset,
                         reset_after_decay=bool(m.reset_after_decay))

    def alif(m, path, inputs, in_shape, out_shape):
        raise CompileError(f"module {path!r} (ALIF): the adaptive threshold has no IR node (supported neurons: "
                           f"LIF, PLIF, IF, CubaLIF)")

    def attention(m, path, inputs, in_shape, out_shape):
        raise CompileError(f"module {path!r} ({type(m).__name__}): attention multiplies two activation tensors "
                           f"(spike x spike products); the IR has no activation-activation product node and integer "
                           f"ONNX would need a per-product requantization of the spike counts, so it is not supported")

    from neurokit.layers import attention as att

    register_converter(att.SpikeMatMul)(attention)
    register_converter(att.SpikeMask)(attention)
    register_converter(nk.LIF)(lif)  # IF and PLIF subclass LIF
    register_converter(nk.CubaLIF)(cuba)
    register_converter(nk.ALIF)(alif)

    from neurokit.layers.delays import DelayedLinear

    @register_converter(DelayedLinear)
    def _delayed(m, path, inputs, in_shape, out_shape):
        delay = (m.delay.detach().cpu().numpy().astype(np.int64) if m.is_rounded
                 else np.clip(_np(m.position), 0, m.max_delay))
        return ir.Dense(path, inputs, out_shape, weight=_np(m.weight), bias=_np(m.bias), delay=delay)


_neuron_converters()


def _lowbit_converters() -> None:
    """Binary (``{-1, +1}`` x alpha) and quantized (Brevitas k-bit) synapses, and ``IntegerSpikingLayer``."""
    from neurokit.layers import binary, quant

    def synapse(m, path, inputs, in_shape, out_shape):
        if getattr(m, "binarize_input", False):
            raise CompileError(f"module {path!r} ({type(m).__name__}): binarize_input=True maps spikes to +-1, "
                               f"which integer spike targets cannot express; use binarize_input=False")
        w = _np(m.int_weight().double() * m.weight_scale().double().reshape(-1, *[1] * (m.int_weight().dim() - 1)))
        inner = getattr(m, "layer", m)
        bias = getattr(inner, "bias", None)
        bits = getattr(m, "weight_bits", 1)
        levels = None if getattr(m, "input_bits", None) is None else 2 ** m.input_bits - 1
        if levels is not None and inputs != ("input",):
            raise CompileError(f"module {path!r} ({type(m).__name__}): input_bits is only supported on the first "
                               f"layer (it quantizes the graph input)")
        if w.ndim == 2:
            return ir.Dense(path, inputs, out_shape, weight=w, bias=_np(bias), weight_bits=bits, input_levels=levels)
        return ir.Conv(path, inputs, out_shape, weight=w, bias=_np(bias), stride=_pair(inner.stride),
                       padding=_pair(inner.padding), weight_bits=bits, input_levels=levels)

    def qlif(m, path, inputs, in_shape, out_shape, unit=None):
        """``unit``: the input unit eager passes to ``m.forward`` (None: a bare QuantLIF, unit 1)."""
        kind = "if" if m.tau == float("inf") else "lif"
        return ir.Neuron(path, inputs, out_shape, kind=kind, tau=1.0 if kind == "if" else float(m.tau),
                         v_threshold=float(m.v_threshold), v_reset=0.0, decay_input=False,
                         act_shift=int(m.input_shift), uv_bits=int(m.membrane_bits),
                         unit=np.ones(()) if unit is None else _np(unit))

    def layer(m, path, inputs, in_shape, out_shape):
        syn = synapse(m.synapse, f"{path}.synapse", inputs, in_shape, out_shape)
        return [syn, qlif(m.neuron, f"{path}.neuron", (syn.name,), out_shape, out_shape, m.synapse.output_unit())]

    for cls in (binary.BinaryLinear, binary.BinaryConv2d, quant.QuantLinear, quant.QuantConv2d):
        register_converter(cls)(synapse)
    register_converter(quant.QuantLIF)(qlif)
    register_converter(quant.IntegerSpikingLayer)(layer)


_lowbit_converters()


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return converter_for(m) is not None or super().is_leaf_module(m, qualname)


class _ShapeRun(fx.Interpreter):
    """Runs the traced graph once, recording each node's output shape; errors name the module path."""

    def run_node(self, n: fx.Node):
        try:
            out = super().run_node(n)
        except Exception as err:  # re-raised with the module path and op
            where = n.target if n.op == "call_module" else f"{n.name} ({_op_name(n)})"
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"example_input of shape {tuple(self.args_shape)} does not fit the model at "
                             f"{where!r}: {msg}") from err
        if isinstance(out, torch.Tensor):
            n.meta["nk_shape"] = tuple(out.shape)
        return out


def _op_name(n: fx.Node) -> str:
    t = n.target
    return t if isinstance(t, str) else getattr(t, "__name__", repr(t))


def _check_example(x) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"example_input must be a torch.Tensor [T, B, ...], got {type(x).__name__}")
    if x.dim() < 3:
        raise ValueError(f"example_input must be time-major [T, B, features...] (rank >= 3), got shape "
                         f"{tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"example_input must be a float tensor, got dtype {x.dtype}")


def capture(model: nn.Module, example_input: torch.Tensor) -> ir.Graph:
    """Trace ``model`` on ``example_input [T, B, ...]`` into an :class:`ir.Graph` (float parameters, eval mode).

    Raises :class:`CompileError` for unsupported modules/ops (naming the module path) and ``ValueError`` when
    ``example_input`` has the wrong type/rank or does not fit the model. The model itself is not modified.
    Example in the module docstring.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_example(example_input)
    model = copy.deepcopy(model).eval()
    try:
        graph = _Tracer().trace(model)
    except Exception as err:
        raise CompileError(f"torch.fx could not trace {type(model).__name__}: {err}") from err
    gm = fx.GraphModule(model, graph)
    runner = _ShapeRun(gm)
    runner.args_shape = example_input.shape
    with torch.no_grad():
        out = runner.run(example_input.detach().cpu().float())
    if not isinstance(out, torch.Tensor):
        raise CompileError(f"model output must be one tensor [T, B, ...], got {type(out).__name__}")
    return _to_ir(gm, example_input)


def _to_ir(gm: fx.GraphModule, x: torch.Tensor) -> ir.Graph:
    modules = dict(gm.named_modules())
    spikes = bool(((x == 0) | (x == 1)).all())
    nodes: list[ir.Node] = []
    alias: dict[str, str] = {}  # fx node name -> IR node name
    out_name = None
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            if nodes:
                raise CompileError(f"model forward takes more than one input ({n.name!r}); only one is supported")
            nodes.append(ir.Input("input", (), tuple(x.shape[2:]), spikes=spikes))
            alias[n.name] = "input"
            continue
        if n.op == "output":
            out_name = alias[n.args[0].name] if isinstance(n.args[0], fx.Node) else None
            continue
        shape = n.meta.get("nk_shape")
        if shape is None or tuple(shape[:2]) != tuple(x.shape[:2]):
            raise CompileError(f"{n.name!r} ({_op_name(n)}): output {shape} is not time-major "
                               f"[T={x.shape[0]}, B={x.shape[1]}, ...]")
        srcs = tuple(alias[a.name] for a in n.args if isinstance(a, fx.Node))
        node = _convert(n, modules, srcs, tuple(shape[2:]), {m.name: m.shape for m in nodes})
        if node is None:  # identity
            alias[n.name] = srcs[0]
        else:
            chain = node if isinstance(node, list) else [node]
            nodes.extend(chain)
            alias[n.name] = chain[-1].name
    return ir.Graph(nodes, output=out_name)


def _convert(n: fx.Node, modules, srcs, shape, shapes) -> ir.Node | None:
    if n.op == "call_module":
        m = modules[n.target]
        fn = converter_for(m)
        if fn is None:
            raise CompileError(f"module {n.target!r} ({type(m).__name__}): unsupported op; supported modules: "
                               f"{sorted(c.__name__ for c in CONVERTERS)}")
        return fn(m, n.target, srcs, shapes[srcs[0]], shape)
    name = _op_name(n)
    if n.target in (operator.add, torch.add) or name in ("add", "__add__"):
        if len(srcs) != 2 or len(n.args) != 2 or shapes[srcs[0]] != shapes[srcs[1]]:
            raise CompileError(f"{n.name!r} (add): only the sum of two tensors of equal shape is supported")
        return ir.Add(n.name, srcs, shape)
    if name == "flatten" and len(shape) == 1:
        return ir.Flatten(n.name, srcs, shape)
    raise CompileError(f"{n.name!r} ({name}): unsupported op {n.op} {name!r}; write it as a neurokit layer")
