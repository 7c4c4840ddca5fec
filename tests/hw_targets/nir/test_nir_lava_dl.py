"""Lava-dl via NIR: what a lava-dl user has. lava-dl 0.6.0 / lava-nc 0.10.0 (the lava venv) ship no NIR converter, so
there is no lava-dl NIR graph to read; the user's artefact is a netx file, which ``nk.from_netx`` reads as Lava's
fixed-point run and the ``nir`` target exports with Lava's integers in the node metadata
(tests/hw_targets/nir/test_nir_lava.py). See ``hw_targets/nir/conventions.py`` ("Lava-dl") and ``docs/interop.md``."""
import re

import torch

import neurokit as nk
from hw_targets.loihi2.lava_bridge import lava_dl_netx_files, lava_python


def test_lava_dl_ships_no_nir_converter_and_its_netx_models_export_through_neurokit():
    """If a lava-dl release gains a NIR exporter (lava-dl's unmerged pull request #218 had one,
    ``lava/lib/dl/netx/nir_lava.py``), this fails: then test ``nk.from_nir`` on its output instead."""
    site = next(lava_python().parent.parent.glob("lib/python3*/site-packages"))
    sources = sorted((site / "lava").rglob("*.py"))
    assert len(sources) > 100 and (site / "lava/lib/dl/netx/hdf5.py") in sources      # lava-dl and lava-nc are there
    uses_nir = [p for p in sources if re.search(r"^\s*(import nir\b|from nir\b)", p.read_text(errors="replace"), re.M)]
    assert uses_nir == [] and not (site / "lava/lib/dl/netx/nir_lava.py").exists()
    path = next(p for p in lava_dl_netx_files() if p.name == "mnist.net")     # lava-dl's MNIST MLP tutorial network
    model = nk.from_netx(path)
    graph = nk.compile(model, target="nir", example_input=torch.zeros(4, 1, 784)).artefact.graph
    lava = [k for k, node in graph.nodes.items() if isinstance((node.metadata or {}).get("lava"), dict)]
    assert lava == ["0_neuron", "1_neuron", "2_neuron", "3_neuron"]           # its 4 Lava neurons, integers kept
