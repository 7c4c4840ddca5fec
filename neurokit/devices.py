"""The one check of a ``device`` argument (``nk.train``, ``nk.compile(target="gpu", device=...)``, the CLI's
``--device``): ``"auto"`` or a torch device that this machine has, else a ``ValueError`` that names the argument,
the value and the devices that are available here.

Devices neurokit runs on: ``cpu``, ``cuda`` / ``cuda:N`` (when ``torch.cuda.is_available()`` and ``N`` is below
``torch.cuda.device_count()``), ``mps`` (when ``torch.backends.mps.is_available()``) and ``xpu`` / ``xpu:N`` (when
``torch.xpu.is_available()``). ``"auto"`` is ``cuda:<local_rank>`` when CUDA is available, else ``cpu``.

Example::

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("cuda")          # on a machine without a GPU
    Traceback (most recent call last):
    ValueError: device: 'cuda' is not available here: torch.cuda.is_available() is False (no GPU or a CPU-only PyTorch
    build); available: 'auto', 'cpu'
"""
from __future__ import annotations

import torch

__all__ = ["available_devices", "resolve_device"]

_TYPES = ("cpu", "cuda", "mps", "xpu")


def _count(kind: str) -> int:
    """Number of usable devices of ``kind`` here (0 when the backend is absent or unavailable)."""
    if kind == "cuda":
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        return int(mps is not None and mps.is_available())
    xpu = getattr(torch, "xpu", None)
    return xpu.device_count() if xpu is not None and xpu.is_available() else 0


def available_devices() -> list[str]:
    """Device strings usable here, e.g. ``['cpu']`` or ``['cpu', 'cuda:0', 'cuda:1']``.

    Example::

        >>> "cpu" in available_devices()
        True
    """
    out = ["cpu"]
    for kind in ("cuda", "xpu"):
        out += [f"{kind}:{i}" for i in range(_count(kind))]
    if _count("mps"):
        out.append("mps")
    return out


def _unavailable(kind: str, index: int) -> str:
    """Why device ``kind:index`` cannot be used here."""
    count = _count(kind)
    if count and index >= count:
        return f"only {count} {kind} device(s) are visible (indices 0..{count - 1})"
    if kind == "cuda":
        return "torch.cuda.is_available() is False (no GPU or a CPU-only PyTorch build)"
    return f"torch reports no {kind} device"


def resolve_device(device="auto", local_rank: int = 0, name: str = "device") -> torch.device:
    """``device`` (``"auto"``, a string or a ``torch.device``) as a ``torch.device`` that exists here.

    ``"cuda"`` without an index is ``cuda:<local_rank>`` (one GPU per process under torchrun). ``name`` is how the
    error message calls the argument (``"device"``, ``"--device"``, a config key).

    Example::

        >>> resolve_device("auto")            # cuda:0 on a GPU machine
        device(type='cpu')
    """
    choices = ", ".join(repr(d) for d in ["auto", *available_devices()])
    if isinstance(device, str) and device == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"{name}: expected 'auto', a device string or a torch.device, got {device!r} "
                         f"({type(device).__name__}); available: {choices}")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name}: {device!r} is not a device name ({err}); available: {choices}") from None
    if resolved.type not in _TYPES:
        raise ValueError(f"{name}: {device!r}: neurokit runs on {', '.join(_TYPES)}; available: {choices}")
    if resolved.type == "cpu":
        return torch.device("cpu")
    index = resolved.index if resolved.index is not None else (local_rank if resolved.type != "mps" else 0)
    if index >= _count(resolved.type):
        raise ValueError(f"{name}: {device!r} is not available here: {_unavailable(resolved.type, index)}; "
                         f"available: {choices}")
    return torch.device(resolved.type, index)
