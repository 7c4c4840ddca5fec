"""Every tutorial in docs/tutorials/ runs: its ```python blocks, in order, as one script (a fresh interpreter, cwd a
temporary folder, the repository on PYTHONPATH), so the tutorials cannot rot; each chapter number is used once and the
README links every tutorial in order."""
import os
import re
import subprocess
import sys

import pytest
from tests.helpers.paths import REPO_ROOT

TUTORIALS = sorted((REPO_ROOT / "docs" / "tutorials").glob("[0-9][0-9]_*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def tutorial_code(path) -> str:
    """The python code blocks of a tutorial, joined in order."""
    blocks = BLOCK.findall(path.read_text())
    assert blocks, f"{path.name} has no ```python block"
    return "\n\n".join(blocks)


def test_tutorials_are_numbered_and_linked_from_the_readme():
    names = [p.name for p in TUTORIALS]
    assert [n[:2] for n in names] == sorted({n[:2] for n in names}) and len(names) >= 9, names
    readme = (REPO_ROOT / "README.md").read_text()
    links = re.findall(r"\(docs/tutorials/([0-9][0-9]_[^)]+\.md)\)", readme)
    assert links == names, "README must link every tutorial once, in order"
    for path in TUTORIALS:
        for target in re.findall(r"\]\(([0-9][0-9]_[^)]+\.md)\)", path.read_text()):
            assert (path.parent / target).is_file(), f"{path.name} links to missing {target}"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    script = tmp_path / f"{path.stem}.py"
    script.write_text(tutorial_code(path))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{path.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-4000:]}"
    assert r.stdout.strip(), f"{path.name} printed nothing"
    assert not [p for p in tmp_path.rglob("*.tmp")], "a tutorial left a temporary file behind"
