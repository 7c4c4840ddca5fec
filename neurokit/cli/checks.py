"""Argument checks of the command line: every refusal names the option (``--epochs``) or the config key and file
(``config file 'train.toml': key 'epochs'``) and what was expected, and raises :class:`UsageError` (exit code 2).

Example::

    >>> check_int(3, "--epochs", minimum=1)
    3
    >>> check_int("ten", "config file 'a.toml': key 'epochs'", minimum=1)
    Traceback (most recent call last):
    UsageError: config file 'a.toml': key 'epochs': expected an integer >= 1, got 'ten'
"""
from __future__ import annotations

import math
import sys

__all__ = ["UsageError", "check_device", "check_int", "check_number", "check_str", "warn"]


class UsageError(Exception):
    """Bad usage or bad input: exit code 2 with a one-line message."""


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int ``>= minimum`` (bools and floats refused); ``UsageError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def check_number(value, name: str, minimum: float, inclusive: bool) -> float:
    """``value`` as a finite float ``> minimum`` (``>=`` when ``inclusive``); ``UsageError`` naming ``name``."""
    bound = ">=" if inclusive else ">"
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value >= minimum if inclusive else value > minimum))
    if not ok:
        raise UsageError(f"{name}: expected a finite number {bound} {minimum:g}, got {value!r}")
    return float(value)


def check_str(value, name: str, choices, what: str) -> str:
    """``value`` as one of ``choices``; ``UsageError`` naming ``name``, the unknown ``what`` and the choices."""
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"{name}: unknown {what} {value!r}; expected one of {sorted(choices)}")
    return value


def check_device(value, name: str) -> str:
    """``value`` as a device string this machine has (``auto``, ``cpu``, ``cuda:N``, ...); ``UsageError`` naming
    ``name``, the value and the available devices otherwise (:func:`neurokit.devices.resolve_device`)."""
    from ..devices import resolve_device

    if not isinstance(value, str):
        raise UsageError(f"{name}: expected a device string such as 'auto', 'cpu' or 'cuda:0', got {value!r}")
    try:
        resolve_device(value, name=name)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return value


def warn(message: str) -> None:
    """One ``neurokit: warning: ...`` line on stderr (the command goes on)."""
    print(f"neurokit: warning: {message}", file=sys.stderr, flush=True)
