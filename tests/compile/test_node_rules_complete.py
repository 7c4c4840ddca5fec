"""Every IR node type has a rule or a stated refusal in every interpreter (dispatch on node type)."""
import inspect
from dataclasses import dataclass

import numpy as np
import pytest

from compile import integer_sim, ir
from compile.dispatch import Rules
from hw_targets.interpreters import INTERPRETERS
from hw_targets.loihi2.lowering import RULES as LOIHI2
from neurokit.errors import CompileError


def incomplete(interpreters) -> list[tuple[str, str]]:
    """(interpreter, node class) pairs with neither a rule nor a stated refusal, over ``ir.NODE_TYPES`` as it is now."""
    return [(r.name, t.__name__) for r in interpreters for t in r.missing()]


def test_every_node_type_has_a_rule_or_a_refusal_in_every_interpreter():
    assert len(INTERPRETERS) >= 8
    assert incomplete(INTERPRETERS) == []
    for r in INTERPRETERS:
        assert set(r.rules) | set(r.refusals) <= set(ir.NODE_TYPES), r.name
        assert all(len(why) > 20 for why in r.refusals.values()), r.name


def test_the_check_fails_for_a_node_type_added_without_rules(monkeypatch):
    @dataclass
    class Dummy(ir.Node):
        op = "dummy"

    monkeypatch.setattr(ir, "NODE_TYPES", (*ir.NODE_TYPES, Dummy))
    assert incomplete(INTERPRETERS) == [(r.name, "Dummy") for r in INTERPRETERS]
    with pytest.raises(CompileError, match=r"integer_sim: node 'd' \(dummy\): no rule for IR node type Dummy"):
        integer_sim.RULES.rule(Dummy("d", ("input",), (2,)))


def test_node_types_lists_every_node_class_of_the_ir():
    defined = {c for _, c in inspect.getmembers(ir, inspect.isclass)
               if issubclass(c, ir.Node) and c is not ir.Node and c.__module__ == ir.__name__}
    assert defined == set(ir.NODE_TYPES)
    assert {t.op: t for t in ir.NODE_TYPES} == ir.NODE_BY_OP and len(ir.NODE_BY_OP) == len(ir.NODE_TYPES)


def test_dispatch_is_by_exact_type_and_refusals_name_node_and_reason():
    class MyDense(ir.Dense):  # a subclass gets no rule until one is written for it
        pass

    node = MyDense("fc", ("input",), (3,), weight=np.ones((3, 4), np.float32))
    with pytest.raises(CompileError, match="no rule for IR node type MyDense"):
        integer_sim.RULES.rule(node)
    pool = ir.Pool("p", ("input",), (1, 2, 2))
    with pytest.raises(CompileError, match=r"loihi2: node 'p' \(pool\): lava-dl netx does not implement pool"):
        LOIHI2.rule(pool)


def test_rules_table_rejects_bad_declarations():
    with pytest.raises(ValueError, match="both a rule and a refusal"):
        Rules("x", {ir.Dense: print}, refusals={ir.Dense: "because it is a test of the table"})
    with pytest.raises(ValueError, match="not an IR node class"):
        Rules("x", {int: print})
    with pytest.raises(ValueError, match="give no reason"):
        Rules("x", {}, refusals={ir.Pool: " "})
