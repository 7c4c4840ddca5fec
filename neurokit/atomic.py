"""Atomic file output: every artefact neurokit writes goes to a temporary file in the target folder and is renamed
onto the final path (``os.replace``), so a reader never sees a half-written file, even if the writer is killed.

A writer that is killed leaves its temporary file ``.<name>.<host>-<pid>.<random>.tmp`` behind; the next write to
the same destination removes such leftovers: those written on this host by a process that no longer exists (never
the file of a live writer, nor one from another host sharing the folder). Errors name the destination the caller
asked for, never the temporary file.

Example::

    >>> with atomic_path("out/model.onnx") as tmp:
    ...     onnx.save(model, tmp)                 # written to out/.model.onnx.<random>.tmp, then renamed
    >>> atomic_write_text("out/report.md", "# report\\n")
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from typing import Callable, Iterator

def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # exists, owned by another user
        return True
    return True


def stale_temporaries(path: "str | os.PathLike") -> list:
    """Temporary files next to ``path`` left by killed writes to ``path`` (their writer, on this host, is gone).

    Example::

        >>> stale_temporaries("out/model.onnx")      # e.g. ['out/.model.onnx.node1-4242.k2j4l1x9.tmp'] after kill -9
        []
    """
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    pattern = re.compile(rf"^\.{re.escape(name)}\.{re.escape(_host())}-(\d+)\.[A-Za-z0-9_]+\.tmp$")
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return []
    matches = [(entry, pattern.match(entry)) for entry in entries]
    return [os.path.join(folder, entry) for entry, m in matches if m and not _owner_alive(int(m.group(1)))]


def _remove_stale(path: str) -> None:
    for candidate in stale_temporaries(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(candidate)


def _named(err: OSError, path: str) -> OSError:
    """The same kind of OSError, naming the caller's ``path`` instead of the temporary file."""
    if err.errno is None:
        return type(err)(f"{path}: {err}")
    return type(err)(err.errno, err.strerror or str(err), path)


@contextlib.contextmanager
def atomic_path(path: "str | os.PathLike") -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success fsync it, give it the usual file mode (``0o666 & ~umask``)
    and rename it onto ``path``; on any error (or interrupt) remove it and re-raise. Creates missing folders and
    removes stale temporaries of earlier killed writes to ``path``. An ``OSError`` (unwritable folder, ``path`` is a
    directory, ...) names ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a directory; expected a file path", path)
        try:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:
            raise NotADirectoryError(20, "a parent of this path is a file, not a folder", path) from None
        _remove_stale(path)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.{_host()}-{os.getpid()}.",
                                   suffix=".tmp")
        os.close(fd)
    except OSError as err:
        raise _named(err, path) from None
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise _named(err, path) from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: "str | os.PathLike", write: Callable) -> None:
    """Call ``write(binary_file_object)`` on a temporary file, then rename it onto ``path`` (see
    :func:`atomic_path`)."""
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
