"""The README's support matrix: every family that compiles to a target also meets that target's contract."""
import importlib.util
from tests.helpers.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "support_matrix.py"


def _load():
    spec = importlib.util.spec_from_file_location("support_matrix", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_compiled_cell_meets_its_contract_and_the_core_families_compile():
    rows = dict(_load().support_matrix())
    assert not [(f, c) for f, cells in rows.items() for c in cells if c == "MISMATCH"]
    for family in ("LIF MLP", "delay SNN (rounded)", "binary MLP", "HLOP MLP"):
        assert rows[family] == ["yes"] * 4, (family, rows[family])
    assert all(cells[0] == "yes" for cells in rows.values())            # gpu runs every family
    assert all(cells[1] == "yes" for f, cells in rows.items() if "ALIF" not in f)
    for family in ("recurrent LIF (rsnn)", "recurrent CUBA-LIF (rsnn)"):       # dense_rec on Loihi, Loop state in ONNX
        assert rows[family] == ["yes"] * 4, (family, rows[family])
    assert "adaptive threshold" in rows["recurrent ALIF (rsnn)"][1]
    sdnn = rows["sigma-delta CNN (`sdnn_cnn`, scale 64)"]                   # netx SDNN blocks on Loihi; NIR has none
    assert sdnn[:3] == ["yes"] * 3 and "sigma_delta" in sdnn[3], sdnn
    refused = [c for cells in rows.values() for c in cells if c.startswith("no: ")]
    assert refused and all(len(c) > 20 for c in refused)                # every refusal carries its reason
