"""nk.models.rsnn and the `neurokit train rsnn` preset."""
import json
import os
import subprocess
import sys

import pytest
import torch

import neurokit as nk
from neurokit.cli.presets import load_run


@pytest.mark.parametrize("neuron,cls", [("cuba", nk.CubaLIF), ("lif", nk.LIF), ("alif", nk.ALIF)])
def test_rsnn_shapes_and_layers(neuron, cls):
    net = nk.models.rsnn(in_features=12, hidden=(16, 8), num_classes=5, neuron=neuron, seed=0)
    out = net(torch.rand(7, 3, 12))
    assert out.shape == (7, 3, 5)
    layers = [m for m in net.modules() if isinstance(m, nk.layers.Recurrent)]
    assert [(m.in_features, m.out_features) for m in layers] == [(12, 16), (16, 8)]
    assert all(isinstance(m.neuron, cls) for m in layers)
    ff = nk.models.rsnn(in_features=12, hidden=(16, 8), num_classes=5, neuron=neuron, recurrent=False, seed=0)
    assert not any(isinstance(m, nk.layers.Recurrent) for m in ff.modules())
    n_rec = sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in ff.parameters())
    assert n_rec == 16 * 16 + 8 * 8


def test_rsnn_defaults_are_shd_shaped():
    net = nk.models.rsnn()
    assert net(torch.zeros(3, 1, 700)).shape == (3, 1, 20)
    assert net.hidden[0][0].recurrent_weight.shape == (256, 256)


def test_rsnn_bad_arguments():
    with pytest.raises(ValueError, match="neuron must be one of"):
        nk.models.rsnn(neuron="plif")
    with pytest.raises(ValueError, match="hidden must be"):
        nk.models.rsnn(hidden=(0,))
    with pytest.raises(ValueError, match=r"input x must have shape \[T, B, 700\]"):
        nk.models.rsnn()(torch.zeros(3, 1, 70))


def test_train_rsnn_preset_cli(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('data_args = { n_train = 64, n_test = 32, T = 30, n_classes = 4, min_gap = 2, gap_step = 6 }\n')
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "neurokit.cli", "train", "rsnn", "--config", str(cfg), "--epochs", "1",
                        "--out", str(out), "--no-progress"], check=False, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["preset"] == "rsnn" and record["data"] == "delay_task"
    model, _ = load_run(str(out))
    assert isinstance(model.hidden[0][0], nk.layers.Recurrent) and isinstance(model.hidden[0][0].neuron, nk.CubaLIF)
    assert model(torch.zeros(30, 2, 2)).shape == (30, 2, 4)
