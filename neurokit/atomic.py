"""Atomic file output: every artefact neurokit writes goes to a temporary file in the target folder and is renamed
onto the final path (``os.replace``), so a reader never sees a half-written file, even if the writer is killed.

Example::

    >>> with atomic_path("out/model.onnx") as tmp:
    ...     onnx.save(model, tmp)                 # written to out/.model.onnx.<random>.tmp, then renamed
    >>> atomic_write_text("out/report.md", "# report\\n")
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Callable, Iterator

__all__ = ["atomic_path", "atomic_savefig", "atomic_write", "atomic_write_text"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: "str | os.PathLike") -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success fsync it, give it the usual file mode (``0o666 & ~umask``)
    and rename it onto ``path``; on any error (or interrupt) remove it and re-raise. Creates missing folders."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: "str | os.PathLike", write: Callable) -> None:
    """Call ``write(binary_file_object)`` on a temporary file, then rename it onto ``path`` (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


def atomic_write_text(path: "str | os.PathLike", text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_savefig(fig, path: str, **kwargs) -> str:
    """Save a matplotlib figure to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    fmt = kwargs.pop("format", os.path.splitext(os.fspath(path))[1].lstrip(".") or "png")
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, **kwargs))
    return os.fspath(path)
