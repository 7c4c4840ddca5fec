"""The scale matrix (scripts/scale_matrix.py): families at their papers' sizes through every target.

CI runs a subset at full size, at T=1 and batch 1: the delay SNN (SHD), the HLOP MLP (PMNIST) and the binary VGG-small
CNN. The transformer families (Spikformer, Max-Former, QKFormer, Meta-SpikeFormer) and the binary ResNet-18 are
measured by the script itself, whose table is in the README: their compiles take minutes on 2 cores (the binary
ResNet-18's integer program is tested at reduced size in tests/neurokit/models/test_binary_resnet.py)."""
import importlib.util
import sys
from tests.helpers.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "scale_matrix.py"


def _load():
    spec = importlib.util.spec_from_file_location("scale_matrix", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod                    # dataclasses look their module up in sys.modules
    spec.loader.exec_module(mod)
    return mod


def test_every_cell_meets_its_contract_or_states_its_reason():
    mod = _load()
    rows = dict(mod.scale_matrix(T=1, batch=1, keys=("delay_snn", "hlop_mlp", "binary_cnn")))
    assert len(rows) == 3
    for family, cells in rows.items():
        for target, cell in zip(mod.TARGETS, cells):
            if cell.compile_s is None:                                   # refused: the reason is stated
                assert cell.check.startswith("refused: ") and len(cell.check) > 30, (family, target, cell)
                continue
            want = "bit-exact" if target in ("onnx_int", "loihi2") else "equal"
            assert cell.check == want, (family, target, cell)
            assert cell.compile_s > 0 and cell.peak_mib > 0 and cell.run_ms_per_sample > 0
            assert (cell.artefact_kib is None) == (target == "gpu")
            assert (cell.cores is not None) == (target == "loihi2")
    delay, hlop, vgg = (next(c for name, c in rows.items() if key in name) for key in ("delay", "HLOP", "VGG"))
    assert [c.check for c in delay] == ["equal", "bit-exact", "bit-exact", "equal"]
    assert [c.check for c in hlop] == ["equal", "bit-exact", "bit-exact", "equal"]
    assert delay[2].cores >= 3 and hlop[2].cores >= 2                    # 256- and 800-wide layers over cores
    assert vgg[1].check == "bit-exact" and vgg[2].check.startswith("refused: loihi2")   # pools: netx has none
    table = mod.markdown(list(rows.items()))
    assert table.count("\n") == 4 and "cores" in table
