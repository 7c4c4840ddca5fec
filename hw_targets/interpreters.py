"""Every interpreter of the IR and its rule table (:class:`compile.dispatch.Rules`), in one list.

The node-type completeness test walks ``INTERPRETERS`` x :data:`compile.ir.NODE_TYPES`: each pair needs a rule or a
stated refusal. A new interpreter (a target's lowering, a pass that walks the graph node by node) adds its table
here. This module sits at the top layer (``hw_targets``), so it may list the tables of ``compile`` and of every
target.

Example::

    from hw_targets.interpreters import INTERPRETERS
    [r.name for r in INTERPRETERS if r.missing()]          # [] when every node type is covered
"""
from __future__ import annotations

from compile.compiled import OPS_RULES
from compile.dispatch import Rules
from compile.integer_sim import RULES as INTEGER_SIM
from compile.passes.quantize import RULES as QUANTIZE
from hw_targets.energy.compiled import COUNT_RULES
from hw_targets.gpu import RULES as GPU
from hw_targets.loihi2.lowering import RULES as LOIHI2
from hw_targets.nir.export import RULES as NIR_EXPORT
from hw_targets.onnx_lower import RULES as ONNX_INT

INTERPRETERS: tuple[Rules, ...] = (INTEGER_SIM, QUANTIZE, OPS_RULES, GPU, ONNX_INT, LOIHI2, NIR_EXPORT, COUNT_RULES)
