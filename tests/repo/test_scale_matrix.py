"""The scale matrix (scripts/scale_matrix.py): every family at its paper's size through every target.

CI runs every row at the model's full size, at T=1 and batch 1 (Meta-SpikeFormer, an ImageNet model whose parameter
count does not depend on the resolution, at 32x32 input), one test per row: each cell meets its target's contract
(gpu / nir equal eager, onnx_int / loihi2 bit-exact to the integer reference) or is refused with the stated reason,
and the check column of the table in README.md and docs/models.md is what the script produces (the timings there
are not compared: they depend on the machine)."""
import importlib.util
import re
import sys

import pytest

from tests.helpers.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "scale_matrix.py"
DOCS = (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "models.md")
INPUT_SPIKES = ("refused: loihi2: node 'input' (input): Loihi inputs are binary spikes; encode real-valued inputs "
                "(nk.encode.*) and compile with a 0/1 example input")
NIR_NO = "refused: nir: {} nodes cannot be exported: "

#: Per row, the start of each cell's check (gpu, onnx_int, loihi2, nir) and the reason a refusal must state.
EXPECTED = {
    "spikformer": ("equal", "bit-exact", INPUT_SPIKES, NIR_NO.format(49)),
    "maxformer": ("equal", "bit-exact", INPUT_SPIKES, NIR_NO.format(35)),
    "qkformer": ("equal", "bit-exact", INPUT_SPIKES, NIR_NO.format(43)),
    "metaspikeformer": ("equal", "bit-exact", INPUT_SPIKES, NIR_NO.format(153)),
    "delay_snn": ("equal", "bit-exact", "bit-exact", "equal"),
    "binary_cnn": ("equal", "bit-exact", "refused: loihi2: 3 nodes cannot be compiled: 3 x pool: lava-dl netx does "
                   "not implement pool blocks", NIR_NO.format(3) + "3 x pool: max-pool has no NIR node"),
    "binary_resnet18": ("equal", "bit-exact", INPUT_SPIKES, "equal"),
    "hlop_mlp": ("equal", "bit-exact", "bit-exact", "equal"),
}
#: The reasons the transformers' NIR refusals state, each with the op it refuses.
NIR_REASONS = {"pool": "max-pool has no NIR node", "reshape": "NIR has no reshape node",
               "permute": "NIR has no transpose / permute node", "mean": "NIR has no mean / reduction node",
               "matmul": "NIR edges only add; it has no product of two activation tensors",
               "mask": "NIR edges only add; it has no element-wise product of two activation tensors"}
NIR_OPS = {"spikformer": {"pool", "reshape", "permute", "matmul", "mean"},
           "maxformer": {"pool", "reshape", "permute", "matmul", "mean"},
           "qkformer": {"pool", "reshape", "permute", "mask", "matmul", "mean"},
           "metaspikeformer": {"reshape", "permute", "matmul", "mean"}}


def _load():
    spec = importlib.util.spec_from_file_location("scale_matrix", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod                    # dataclasses look their module up in sys.modules
    spec.loader.exec_module(mod)
    return mod


def _doc_checks(path, family: str) -> list[str]:
    """The check (first ``<br>`` part) of each cell of ``family``'s row in the scale table of ``path``."""
    rows = [line for line in path.read_text().splitlines() if line.startswith(f"| {family} |")]
    assert len(rows) == 1, (path.name, family, len(rows))
    return [cell.strip().split("<br>")[0] for cell in rows[0].strip().strip("|").split(" | ")[1:]]


@pytest.mark.parametrize("key", list(EXPECTED))
def test_every_cell_meets_its_contract_or_states_its_reason(key):
    mod = _load()
    assert [f.key for f in mod.families()] == list(EXPECTED)                # every row of the matrix is tested
    [(family, cells)] = mod.scale_matrix(T=1, batch=1, imagenet_size=32, keys=(key,))
    for target, cell, want in zip(mod.TARGETS, cells, EXPECTED[key]):
        assert cell.check.startswith(want), (family, target, cell.check)
        if cell.compile_s is None:                                           # refused: the reason is stated
            assert cell.check == "refused: " + mod.brief(cell.reason) and len(cell.check) > 60
            continue
        assert cell.check == ("bit-exact" if target in ("onnx_int", "loihi2") else "equal"), (family, target)
        assert cell.compile_s > 0 and cell.peak_mib > 0 and cell.run_ms_per_sample > 0
        assert (cell.artefact_kib is None) == (target == "gpu")
        assert (cell.cores is not None) == (target == "loihi2")
    if key in NIR_OPS:                                                       # every refused op with its reason
        ops = re.findall(r"node '[^']*' \((\w+)\)", cells[3].reason)
        assert set(ops) == NIR_OPS[key], ops
        assert len(ops) == int(re.search(r"nir: (\d+) nodes", cells[3].reason).group(1))
        for op in NIR_OPS[key]:
            assert re.search(rf"\({op}\): (op '{op}' is not supported by NIR: )?[^;]*{re.escape(NIR_REASONS[op])}",
                             cells[3].reason), (op, cells[3].reason)
    if key == "delay_snn":
        assert cells[2].cores >= 3                                           # 256-wide layers over cores
    if key == "hlop_mlp":
        assert cells[2].cores >= 2                                           # 800-wide layers over cores
    for path in DOCS:
        assert _doc_checks(path, family) == [c.check for c in cells], path.name
