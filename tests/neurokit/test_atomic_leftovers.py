"""``neurokit.atomic``: a killed write's temporary file is removed by the next write to the same destination (never
a live writer's), and errors name the caller's path, not the temporary file."""
import os
import signal
import subprocess
import sys

import pytest

from neurokit.atomic import atomic_path, atomic_write_text, stale_temporaries

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def test_killed_write_leftover_is_removed_by_the_next_write(tmp_path):
    dest = tmp_path / "out" / "model.onnx"
    script = ("import sys\nfrom neurokit.atomic import atomic_path\n"
              f"with atomic_path({str(dest)!r}) as tmp:\n"
              "    open(tmp, 'wb').write(b'half')\n"
              "    print('inside', tmp, flush=True)\n"
              "    sys.stdin.readline()\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=ENV)
    line = proc.stdout.readline()                 # the child is inside the write, blocked on stdin: no race
    assert line.startswith("inside"), line
    leftover = line.split(" ", 1)[1].strip()
    assert stale_temporaries(dest) == []          # its writer is alive: not stale
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert os.path.exists(leftover) and stale_temporaries(dest) == [leftover]
    atomic_write_text(dest, "complete")
    assert sorted(os.listdir(dest.parent)) == ["model.onnx"] and dest.read_text() == "complete"


def test_a_live_writers_temporary_file_is_kept(tmp_path):
    dest = tmp_path / "report.md"
    with atomic_path(dest) as tmp:
        with open(tmp, "w") as f:
            f.write("outer")
        atomic_write_text(dest, "inner")          # a concurrent write to the same destination
        assert os.path.exists(tmp)
    assert dest.read_text() == "outer" and os.listdir(tmp_path) == ["report.md"]


def test_other_files_are_never_removed(tmp_path):
    dest = tmp_path / "a.txt"
    keep = [".a.txt.tmp", ".b.txt.otherhost-1.abcdefgh.tmp", "a.txt.1.tmp", ".a.txt.elsewhere-1.abcdefgh.tmp"]
    for name in keep:
        (tmp_path / name).write_text("x")
    atomic_write_text(dest, "y")
    assert sorted(os.listdir(tmp_path)) == sorted(keep + ["a.txt"])


@pytest.mark.parametrize("where", ["folder-as-destination", "parent-is-a-file", "missing-root"])
def test_write_errors_name_the_destination_not_the_temporary_file(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    dest = {"folder-as-destination": tmp_path, "parent-is-a-file": tmp_path / "afile" / "x.json",
            "missing-root": "/proc/neurokit-no-such/x.json"}[where]
    with pytest.raises(OSError) as info:
        atomic_write_text(dest, "y")
    assert str(dest) in str(info.value) and ".tmp" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["afile"]
