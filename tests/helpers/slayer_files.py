"""Files lava-dl's slayer writes in the test run: :func:`export_slayer_files` runs ``slayer_netx_export.py`` (the cases
and their training are described there) in the lava venv's Python."""
import json
import subprocess
from pathlib import Path

from tests.helpers.paths import REPO_ROOT

from hw_targets.loihi2.lava_bridge import lava_python


def export_slayer_files(out: Path, *cases: str) -> dict:
    """Write ``out/<case>.net`` for each case (all when none is named); returns ``cases.json``: case ->
    ``{"error": None | "<Type>: <message>", ...}``. Fails the test if the export script itself fails."""
    proc = subprocess.run([str(lava_python()), str(REPO_ROOT / "tests" / "helpers" / "slayer_netx_export.py"),
                           str(out), *cases], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "cases.json").read_text())
