"""The target protocol: declared passes, options parsed once into a dataclass, node types, limits, no state."""
import dataclasses
import importlib.util

import pytest
import torch
from torch import nn

import neurokit as nk
from compile import ir
from compile.capture import capture
from compile.target import PassContext, parse_options, run_passes
from hw_targets import registry
from tests.helpers.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "support_matrix.py"
NAMES = ("gpu", "onnx_int", "loihi2", "nir")


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nk.LIF(), nn.Linear(5, 3), nk.LIF()).eval()


@pytest.mark.parametrize("name", NAMES)
def test_each_target_declares_passes_options_node_types_and_limits(name):
    tgt = registry.get_target(name)
    assert tgt.name == name and dataclasses.is_dataclass(tgt.Options)
    assert tgt.passes and all(callable(p) for p in tgt.passes)
    assert tgt.node_types <= set(ir.NODE_TYPES) and ir.Input in tgt.node_types
    assert tgt.supports.ops == {t.op for t in tgt.node_types}          # limits and node types are one table
    for t in set(ir.NODE_TYPES) - tgt.node_types:                     # every refused type has its reason
        assert len(tgt.refusals[t.op]) > 20, (name, t.op)
    assert vars(tgt) == {}                                            # no state on the target object


@pytest.mark.parametrize("name, options, error, match", [
    ("gpu", {"weight_bits": 4}, ValueError,
     r"target 'gpu': unknown option\(s\) \['weight_bits'\]; its options: device"),
    ("onnx_int", {"weight_bit": 4}, ValueError, r"target 'onnx_int': unknown option\(s\) \['weight_bit'\]; "
                                                r"its options: weight_bits, per_channel, time_loop, steps"),
    ("onnx_int", {"weight_bits": 9}, ValueError, r"onnx_int: weight_bits must be in \[1, 8\], got 9"),
    ("onnx_int", {"per_channel": "yes"}, TypeError, r"onnx_int: per_channel must be a bool"),
    ("onnx_int", {"steps": 0}, ValueError, r"onnx_int: steps must be an int >= 1"),
    ("loihi2", {"weight_bits": 16}, ValueError, r"target 'loihi2': weight_bits must be in 1\.\.8"),
    ("loihi2", {"core_limits": 5}, TypeError, r"target 'loihi2': core_limits must be a CoreLimits, got int"),
    ("loihi2", {"dt": 1.0}, ValueError, r"target 'loihi2': unknown option\(s\) \['dt'\]"),
    ("nir", {"dt": -1.0}, ValueError, r"target 'nir': dt must be > 0 seconds, got -1\.0"),
])
def test_bad_options_name_the_option_and_the_target(name, options, error, match):
    with pytest.raises(error, match=match):
        parse_options(registry.get_target(name), options)
    with pytest.raises(error, match=match):
        nk.compile(_mlp(), target=name, example_input=(torch.rand(4, 2, 6) > 0.5).float(), **options)


def test_compile_runs_the_declared_passes_then_lower_with_the_parsed_options():
    model, x = _mlp(), (torch.rand(5, 2, 6) > 0.5).float()
    tgt = registry.get_target("onnx_int")
    opts = parse_options(tgt, {"weight_bits": 4, "time_loop": "unrolled"}, x)
    assert opts.steps == 5                                             # resolved from the example's T
    graph = run_passes(tgt, capture(model, x), PassContext(x, opts))
    assert graph.quantized and max(n.quant.bits for n in graph if n.op == "dense") == 4
    by_hand = tgt.lower(graph, opts)
    cm = nk.compile(model, target="onnx_int", example_input=x, weight_bits=4, time_loop="unrolled")
    assert torch.equal(by_hand.run(x), cm.run(x)) and cm.report()["time_loop"] == "unrolled"


def test_one_target_object_compiles_twice_with_different_options_without_state():
    model, x = _mlp(), (torch.rand(4, 2, 6) > 0.5).float()
    tgt = registry.get_target("onnx_int")
    registry.register("onnx_int_probe", tgt)
    try:
        a = nk.compile(model, target="onnx_int_probe", example_input=x, time_loop="unrolled")
        b = nk.compile(model, target="onnx_int_probe", example_input=x)
    finally:
        del registry.TARGETS["onnx_int_probe"]
    assert vars(tgt) == {}
    assert a.report()["time_loop"] == "unrolled" and b.report()["time_loop"] == "loop"
    assert torch.equal(a.run(x), b.run(x))


def test_support_matrix_script_reads_the_declared_node_types():
    spec = importlib.util.spec_from_file_location("support_matrix_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = dict(mod.node_type_matrix())
    assert list(rows) == [t.op for t in ir.NODE_TYPES]
    for i, name in enumerate(mod.TARGETS):
        tgt = registry.get_target(name)
        for t in ir.NODE_TYPES:
            cell = rows[t.op][i]
            assert cell == ("yes" if t in tgt.node_types else f"no: {tgt.refusals[t.op]}"), (name, t.op)
    assert rows["pool"][2].startswith("no: lava-dl netx does not implement pool")
    assert rows["matmul"][:2] == ["yes", "yes"] and rows["matmul"][3].startswith("no: NIR")
