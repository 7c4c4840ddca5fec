"""The README's "Bring an snnTorch model" quick start runs as written and does what it says: the converted model
spikes as snnTorch does, and the integer ONNX file is written."""
import re
from pathlib import Path

import torch
from snntorch import utils as snn_utils

ROOT = Path(__file__).resolve().parents[2]


def _snippet() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"### Bring an snnTorch model\n\n```python\n(.*?)```", text, re.S)
    assert found, "README.md lost its 'Bring an snnTorch model' example"
    return found.group(1)


def test_readme_snntorch_example_runs(tmp_path, monkeypatch):
    code = _snippet()
    assert len(code.strip().splitlines()) == 5
    monkeypatch.chdir(tmp_path)
    env: dict = {}
    torch.manual_seed(0)
    exec(compile(code, "README.md", "exec"), env)
    assert (tmp_path / "snn.onnx").stat().st_size > 0
    net, model, x = env["net"], env["model"], env["x"]
    snn_utils.reset(net)
    with torch.no_grad():
        theirs = torch.stack([net(x[t]) for t in range(x.shape[0])])
        assert theirs.sum() > 0
        assert torch.equal(model(x), theirs)
