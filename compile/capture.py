"""Capture: a model built from neurokit layers -> the typed IR (:mod:`compile.ir`).

The model is traced by :class:`compile.tracing.ConcreteTracer` (``torch.fx`` with the example input's values
carried alongside, so input checks in ``forward`` run on the example; neurokit neurons, time-major wrappers,
``nn.Linear``, ``DelayedLinear`` ... are leaves), which also records every tensor's shape. Each fx node becomes an
IR node through a *converter* looked up by module type (walking the MRO, so a subclass may register its own).
Anything else raises :class:`CompileError` naming the module path and the op.

Example::

    model = nn.Sequential(nn.Linear(4, 3), nk.LIF(tau=2.0))
    g = capture(model, torch.rand(5, 2, 4))      # [T, B, F]
    [n.op for n in g]                            # ['input', 'dense', 'neuron']
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import fx, nn

from compile import ir
from compile.capture_ops import convert_op
from compile.ir import CompileError
from compile.tracing import ConcreteTracer, op_name
from neurokit.layers.time_major import BATCH_NORMS, convert_module
from neurokit.neurons.sigma_delta import Sigma, SigmaDelta

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


def _bn(m, path, inputs, in_shape, out_shape, axis: int = 0):
    """``axis``: the per-step axis normalised (0: channels; ``TokenBatchNorm``: the last)."""
    if m.running_mean is None:
        raise CompileError(f"module {path!r} ({type(m).__name__}): batch norm without running statistics "
                           f"(track_running_stats=False) cannot be folded")
    c = m.num_features
    gamma = _np(m.weight) if m.affine else np.ones(c)
    beta = _np(m.bias) if m.affine else np.zeros(c)
    return ir.BatchNorm(path, inputs, out_shape, mean=_np(m.running_mean), var=_np(m.running_var), gamma=gamma,
                        beta=beta, eps=float(m.eps), axis=axis)


def _pool(kind):
    def conv(m, path, inputs, in_shape, out_shape):
        if m.ceil_mode or (kind == "max" and _pair(m.dilation) != (1, 1)) or \
                (kind == "avg" and (not m.count_include_pad or m.divisor_override not in (None, 1))):
            raise CompileError(f"module {path!r} ({type(m).__name__}): only ceil_mode=False, dilation=1 and "
                               f"(avg) count_include_pad=True with divisor_override None (average) or 1 (sum) are "
                               f"supported")
        stride = m.stride if m.stride is not None else m.kernel_size
        sums = kind == "avg" and m.divisor_override == 1
        return ir.Pool(path, inputs, out_shape, kind="sum" if sums else kind, kernel=_pair(m.kernel_size),
                       stride=_pair(stride),
                       padding=_pair(m.padding))

    return conv


for _cls in BATCH_NORMS:
    register_converter(_cls)(_bn)
register_converter(nn.MaxPool2d)(_pool("max"))
register_converter(nn.AvgPool2d)(_pool("avg"))


@register_converter(nn.Flatten)
def _flatten(m, path, inputs, in_shape, out_shape):
    if len(out_shape) != 1:
        raise CompileError(f"module {path!r} (Flatten): must flatten every dim after [T, B] "
                           f"(start_dim=2, end_dim=-1); got output per-step shape {out_shape}")
    return ir.Flatten(path, inputs, out_shape)


@register_converter(SigmaDelta)
def _sigma_delta(m, path, inputs, in_shape, out_shape):
    """``nk.SigmaDelta`` -> ``sigma_delta`` (its threshold already on lava-dl's grid when ``scale`` is set)."""
    return ir.SigmaDelta(path, inputs, out_shape, threshold=float(m.threshold), activation=m.activation,
                         cum_error=bool(m.cum_error), sigma=bool(m.sigma), scale=m.scale, bias=_np(m.bias))


@register_converter(Sigma)
def _sigma(m, path, inputs, in_shape, out_shape):
    return ir.Sigma(path, inputs, out_shape, bias=_np(m.bias))


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
        return ir.Neuron(path, inputs, out_shape, kind="alif", tau=float(m.tau), tau_adapt=float(m.tau_adapt),
                         beta=float(m.beta), v_threshold=float(m.v_threshold), v_reset=m.v_reset,
                         decay_input=bool(m.decay_input))

    from neurokit.layers import attention as att

    def product(m, path, inputs, in_shape, out_shape):
        """``SpikeMatMul`` / ``SpikeMask``: a product of two activation tensors (both graph tensors)."""
        if len(inputs) != 2:
            raise CompileError(f"module {path!r} ({type(m).__name__}): needs two activation inputs (graph tensors), "
                               f"got {len(inputs)}")
        if isinstance(m, att.SpikeMatMul):
            return ir.MatMul(path, inputs, out_shape, scale=m.scale)
        return ir.Mask(path, inputs, out_shape, sum_tokens=m.sum_tokens)

    def token_bn(m, path, inputs, in_shape, out_shape):
        return _bn(m, path, inputs, in_shape, out_shape, axis=len(out_shape) - 1)

    register_converter(att.SpikeMatMul)(product)
    register_converter(att.SpikeMask)(product)
    register_converter(att.TokenBatchNorm)(token_bn)
    register_converter(nk.LIF)(lif)  # IF and PLIF subclass LIF
    register_converter(nk.CubaLIF)(cuba)
    register_converter(nk.ALIF)(alif)

    from neurokit.layers.delays import DelayedLinear
    from neurokit.layers.readout import LeakyIntegrator

    @register_converter(LeakyIntegrator)
    def _integrator(m, path, inputs, in_shape, out_shape):
        return ir.Integrator(path, inputs, out_shape, tau=float(m.tau))

    from neurokit.layers.recurrent import Recurrent

    @register_converter(Recurrent)
    def _recurrent(m, path, inputs, in_shape, out_shape):
        """``nk.layers.Recurrent`` -> its feed-forward ``dense`` (``<path>.ff``) + a ``recurrent`` node."""
        ff = ir.Dense(f"{path}.ff", inputs, out_shape, weight=_np(m.weight), bias=_np(m.bias))
        cell = converter_for(m.neuron)(m.neuron, f"{path}.neuron", (), out_shape, out_shape)
        return [ff, ir.Recurrent(path, (ff.name,), out_shape, weight=_np(m.recurrent_weight),
                                 bias=_np(m.recurrent_bias), cell=cell)]

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
        w_int, w_scale = m.int_weight().long(), m.weight_scale().double()
        w = _np(w_int.double() * w_scale.reshape(-1, *[1] * (w_int.dim() - 1)))
        # a negative per-channel scale (a binary layer's learned alpha can cross zero) is a sign of that channel's
        # weights: it goes into the integers and |scale| into weight_scale, as fold_bn does with a BN factor
        sign = torch.where(w_scale < 0, -1, 1).to(w_int.dtype)
        exact = {"int_weight": (w_int * sign.reshape(-1, *[1] * (w_int.dim() - 1))).cpu().numpy(),
                 "weight_scale": w_scale.abs().cpu().numpy()}
        inner = getattr(m, "layer", m)
        bias = getattr(inner, "bias", None)
        bits = getattr(m, "weight_bits", 1)
        levels = None if getattr(m, "input_bits", None) is None else 2 ** m.input_bits - 1
        if levels is not None and inputs != ("input",):
            raise CompileError(f"module {path!r} ({type(m).__name__}): input_bits is only supported on the first "
                               f"layer (it quantizes the graph input)")
        if w.ndim == 2:
            return ir.Dense(path, inputs, out_shape, weight=w, bias=_np(bias), weight_bits=bits, input_levels=levels,
                            **exact)
        return ir.Conv(path, inputs, out_shape, weight=w, bias=_np(bias), stride=_pair(inner.stride),
                       padding=_pair(inner.padding), weight_bits=bits, input_levels=levels, **exact)

    def qlif(m, path, inputs, in_shape, out_shape, unit=None):
        """``unit``: the input unit eager passes to ``m.forward`` (None: a bare QuantLIF, unit 1). The integer
        threshold and accumulator shift are the layer's own (``integer_params()`` inside an IntegerSpikingLayer)."""
        kind = "if" if m.tau == float("inf") else "lif"
        layer_unit = torch.ones((), dtype=torch.float64) if unit is None else unit.detach()
        return ir.Neuron(path, inputs, out_shape, kind=kind, tau=1.0 if kind == "if" else float(m.tau),
                         v_threshold=float(m.v_threshold), v_reset=0.0, decay_input=False,
                         act_shift=int(m.input_shift), uv_bits=int(m.membrane_bits),
                         unit=np.ones(()) if unit is None else _np(unit),
                         layer_integer=m.integer_neuron(m.int_threshold(layer_unit)),
                         acc_shift=int(m.accumulator_shift(layer_unit)))

    def layer(m, path, inputs, in_shape, out_shape):
        syn = synapse(m.synapse, f"{path}.synapse", inputs, in_shape, out_shape)
        return [syn, qlif(m.neuron, f"{path}.neuron", (syn.name,), out_shape, out_shape, m.synapse.output_unit())]

    for cls in (binary.BinaryLinear, binary.BinaryConv2d, quant.QuantLinear, quant.QuantConv2d):
        register_converter(cls)(synapse)
    register_converter(quant.QuantLIF)(qlif)
    register_converter(quant.IntegerSpikingLayer)(layer)


_lowbit_converters()


def _lava_converters() -> None:
    from compile.capture_lava import register

    register(register_converter)


_lava_converters()


def _check_example(x) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"example_input must be a torch.Tensor [T, B, ...], got {type(x).__name__}")
    if x.dim() < 3:
        raise ValueError(f"example_input must be time-major [T, B, features...] (rank >= 3), got shape "
                         f"{tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"example_input must be a float tensor, got dtype {x.dtype}")
    if x.shape[0] == 0 or x.shape[1] == 0 or x.numel() == 0:
        raise ValueError(f"example_input must have T >= 1 steps, B >= 1 samples and no empty dim, got shape "
                         f"{tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"example_input contains NaN or Inf values (shape {tuple(x.shape)}); expected finite inputs")


#: Torch modules with their own recurrent or attention state that capture cannot express, and what to use instead.
UNSUPPORTED_MODULES = {
    nn.RNNBase: "use nk.layers.Recurrent with a spiking neuron (nn.RNN / nn.LSTM / nn.GRU keep float hidden state "
                "that no target lowers)",
    nn.MultiheadAttention: "use nk.layers.SpikingSelfAttention or nk.layers.SpikeDrivenSelfAttention",
    nn.Transformer: "use nk.layers.SpikingSelfAttention blocks (see nk.models.spikformer)",
    nn.TransformerEncoderLayer: "use nk.layers.SpikingSelfAttention blocks (see nk.models.spikformer)",
    nn.TransformerDecoderLayer: "use nk.layers.SpikingSelfAttention blocks (see nk.models.spikformer)",
}


def _check_model(model: nn.Module) -> None:
    """Refuse known-unsupported modules by path and non-finite parameters / buffers by name, before tracing."""
    for path, m in model.named_modules():
        for cls, use in UNSUPPORTED_MODULES.items():
            if isinstance(m, cls):
                raise CompileError(f"unsupported module {path!r} ({type(m).__name__}): {use}")
        why = getattr(type(m), "compile_refusal", None)  # modules of other packages that no target lowers
        if isinstance(why, str):
            raise CompileError(f"unsupported module {path!r} ({type(m).__name__}): {why}")
    for kind, items in (("parameter", model.named_parameters()), ("buffer", model.named_buffers())):
        for name, t in items:
            if t.is_floating_point() and not bool(torch.isfinite(t.detach()).all()):
                n_bad = int((~torch.isfinite(t.detach())).sum())
                raise ValueError(f"model {kind} {name!r} (shape {tuple(t.shape)}) contains {n_bad} NaN or Inf "
                                 "value(s); a trained model must have finite weights (check the checkpoint / "
                                 "training run that produced it)")


def capture(model: nn.Module, example_input: torch.Tensor) -> ir.Graph:
    """Trace ``model`` on ``example_input [T, B, ...]`` into an :class:`ir.Graph` (float parameters, eval mode).

    Plain torch layers are made time-major first (:func:`neurokit.layers.time_major.time_major`, on the copy), so
    ``nn.Conv2d`` / ``nn.BatchNorm2d`` / ``nn.MaxPool2d`` / ``nn.Flatten()`` between neurons fold ``[T, B]`` as
    ``nk.layers``' wrappers do.
    Raises :class:`CompileError` for unsupported modules/ops (naming the module path) and ``ValueError`` when
    ``example_input`` has the wrong type/rank or does not fit the model. The model itself is not modified.
    Example in the module docstring.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_example(example_input)
    _check_model(model)
    try:  # plain torch layers (nn.Conv2d, nn.BatchNorm2d, nn.Flatten(), ...) act on [T, B, ...] as in nk.time_major
        model = convert_module(copy.deepcopy(model).eval(), "", "nk.compile")
    except ValueError as err:
        raise CompileError(str(err)) from err
    x = example_input.detach().cpu().float()
    try:
        graph = ConcreteTracer(lambda m: converter_for(m) is not None, x).trace(model)
    except (ValueError, CompileError):  # the example does not fit (the model's own check, or a failing op)
        raise
    except Exception as err:
        raise CompileError(f"torch.fx could not trace {type(model).__name__}: {err}") from err
    out = next(n for n in graph.nodes if n.op == "output").args[0]
    if not (isinstance(out, fx.Node) and "nk_shape" in out.meta):
        raise CompileError(f"model output must be one tensor [T, B, ...], got {type(out).__name__}")
    return _to_ir(fx.GraphModule(model, graph), example_input)


def _to_ir(gm: fx.GraphModule, x: torch.Tensor) -> ir.Graph:
    """fx graph -> IR. Every op that cannot be converted is reported, all in one :class:`CompileError`."""
    modules = dict(gm.named_modules())
    spikes = bool(((x == 0) | (x == 1)).all())
    nodes: list[ir.Node] = []
    alias: dict[str, str] = {}  # fx node name -> IR node name (or the fx name of a node that failed)
    shapes: dict[str, tuple] = {"input": tuple(x.shape[2:])}  # per-step shapes by alias
    errors: list[str] = []
    out_name = None
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            nodes.append(ir.Input("input", (), tuple(x.shape[2:]), spikes=spikes))
            alias[n.name] = "input"
            continue
        if n.op == "output":
            out_name = alias[n.args[0].name] if isinstance(n.args[0], fx.Node) else None
            continue
        shape = n.meta.get("nk_shape")
        srcs = tuple(alias[a.name] for a in n.args if isinstance(a, fx.Node))
        try:
            if shape is None or tuple(shape[:2]) != tuple(x.shape[:2]):
                raise CompileError(f"{n.name!r} ({op_name(n)}): output {shape} is not time-major "
                                   f"[T={x.shape[0]}, B={x.shape[1]}, ...]")
            node = _convert(n, modules, srcs, tuple(shape[2:]), shapes)
        except CompileError as err:
            errors.append(str(err))
            alias[n.name], shapes[n.name] = n.name, None if shape is None else tuple(shape[2:])
            continue
        if node is None:  # identity
            alias[n.name] = srcs[0]
        else:
            chain = node if isinstance(node, list) else [node]
            nodes.extend(chain)
            shapes.update((m.name, m.shape) for m in chain)
            alias[n.name] = chain[-1].name
    if errors:
        raise CompileError(_grouped(errors))
    return ir.Graph(nodes, output=out_name)


def _grouped(errors: list[str]) -> str:
    """One message for all unconvertible ops: ``"where: why"`` messages grouped by their reason."""
    if len(errors) == 1:
        return errors[0]
    by_why: dict[str, list[str]] = {}
    for msg in errors:
        where, _, why = msg.partition(": ")
        by_why.setdefault(why, []).append(where)
    return f"{len(errors)} ops cannot be compiled: " + "; ".join(f"{', '.join(w)}: {why}" for why, w in by_why.items())


def _convert(n: fx.Node, modules, srcs, shape, shapes) -> ir.Node | None:
    if n.op == "call_module":
        m = modules[n.target]
        fn = converter_for(m)
        if fn is None:
            raise CompileError(f"module {n.target!r} ({type(m).__name__}): unsupported op; supported modules: "
                               f"{sorted(c.__name__ for c in CONVERTERS)}")
        return fn(m, n.target, srcs, shapes[srcs[0]], shape)
    return convert_op(n, srcs, shape, shapes)
