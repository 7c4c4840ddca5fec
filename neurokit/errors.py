"""Errors neurokit raises that callers may want to catch by type.

Example::

    >>> try:
    ...     nk.compile(model, target="loihi2", example_input=x)
    ... except nk.CompileError as err:
    ...     print(err)          # names the module path, the op and why
"""


class CompileError(Exception):
    """The model (or IR) cannot be compiled; the message names the module path and the op."""


class IntegerOverflowError(OverflowError):
    """An integer run left a declared width (a graded sigma-delta payload, Lava's int32 state); the message names the
    node, the step and the neuron index."""
