"""A device this machine does not have (``device="cuda"`` without a GPU, ``mps`` off a Mac, ``cuda:99``, a name torch
does not know) is refused by ``nk.train``, ``nk.compile(target="gpu", device=...)`` and the CLI's ``--device`` (exit
code 2, one error line, nothing written), with a message naming the argument, the value and the available devices.

"No GPU" is made explicit with ``monkeypatch`` (``torch.cuda.is_available() -> False``), so the same assertions hold
on a machine that has one.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import neurokit as nk
from neurokit.cli import main
from neurokit.devices import available_devices, resolve_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    xpu = getattr(torch, "xpu", None)
    if xpu is not None:
        monkeypatch.setattr(xpu, "is_available", lambda: False)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nk.LIF(), nn.Linear(4, 2))


def _data():
    return nk.data.SequenceDataset(torch.rand(4, 3, 3), torch.zeros(4, dtype=torch.long))


UNAVAILABLE = [
    ("cuda", r"device: 'cuda' is not available here: torch\.cuda\.is_available\(\) is False"),
    ("cuda:1", r"device: 'cuda:1' is not available here"),
    ("mps", r"device: 'mps' is not available here: torch reports no mps device"),
    ("xpu:0", r"device: 'xpu:0' is not available here"),
    ("tpu", r"device: 'tpu' is not a device name"),
    ("meta", r"device: 'meta': neurokit runs on cpu, cuda, mps, xpu"),
    (3, r"device: expected 'auto', a device string or a torch\.device, got 3 \(int\)"),
]


@pytest.mark.parametrize("device, pattern", UNAVAILABLE, ids=[str(d) for d, _ in UNAVAILABLE])
@pytest.mark.usefixtures("no_gpu")
def test_resolve_device_names_the_argument_and_what_is_available(device, pattern):
    with pytest.raises(ValueError, match=pattern) as info:
        resolve_device(device)
    assert str(info.value).endswith("available: 'auto', 'cpu'")
    assert available_devices() == ["cpu"]
    assert resolve_device("auto") == torch.device("cpu") == resolve_device(torch.device("cpu"))


def test_cuda_index_beyond_the_visible_gpus_says_how_many(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"'cuda:5' is not available here: only 2 cuda device\(s\) are visible "
                                         r"\(indices 0\.\.1\); available: 'auto', 'cpu', 'cuda:0', 'cuda:1'"):
        resolve_device("cuda:5")
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)     # no index: one GPU per process


@pytest.mark.usefixtures("no_gpu")
def test_train_refuses_cuda_without_a_gpu_before_touching_the_model(tmp_path):
    model = _mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"^device: 'cuda' is not available here.*available: 'auto', 'cpu'$"):
        nk.train(model, _data(), 1, batch_size=2, device="cuda", checkpoint_dir=tmp_path / "ck", progress=False)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert not (tmp_path / "ck").exists()


@pytest.mark.usefixtures("no_gpu")
def test_compile_gpu_target_takes_a_checked_device():
    x = (torch.rand(3, 2, 3) > 0.5).float()
    with pytest.raises(ValueError, match=r"^gpu: device: 'cuda' is not available here.*available: 'auto', 'cpu'$"):
        nk.compile(_mlp(), target="gpu", example_input=x, device="cuda")
    cm = nk.compile(_mlp(), target="gpu", example_input=x, device="cpu")
    assert cm.report()["device"] == "cpu"
    torch.testing.assert_close(cm.run(x), _mlp().eval()(x), rtol=1e-5, atol=1e-6)


def _run_folder(d):
    code = main(["train", "binary_mlp", "--epochs", "1", "--out", str(d / "run"), "--no-progress",
                 "--device", "cpu"])
    assert code == 0
    return d / "run"


@pytest.mark.parametrize("argv, needles", [
    ("train binary_mlp --device cuda --out {d}/out", ("--device: 'cuda' is not available here", "'auto', 'cpu'")),
    ("train binary_mlp --device mps --nproc 2 --out {d}/out", ("--device: 'mps'", "'auto', 'cpu'")),
    ("train --config {d}/t.toml --out {d}/out", ("config file '{d}/t.toml': key 'device': 'cuda:0'",
                                                 "'auto', 'cpu'")),
    ("train --config {d}/n.toml --out {d}/out", ("config file '{d}/n.toml': key 'device'", "got 0")),
    ("compile {d}/run --target gpu --device cuda", ("--device: 'cuda' is not available here", "'auto', 'cpu'")),
    ("compile {d}/run --target onnx_int --device cpu", ("--device", "only target 'gpu'")),
], ids=["train", "train-nproc", "config", "config-not-a-string", "compile-gpu", "compile-onnx_int"])
@pytest.mark.usefixtures("no_gpu")
def test_cli_refuses_an_unavailable_device_with_exit_2(tmp_path, capfd, argv, needles):
    (tmp_path / "t.toml").write_text('preset = "binary_mlp"\ndevice = "cuda:0"\n')
    (tmp_path / "n.toml").write_text('preset = "binary_mlp"\ndevice = 0\n')
    if "compile" in argv:
        _run_folder(tmp_path)
    files = sorted(p.name for p in tmp_path.rglob("*"))
    capfd.readouterr()
    code = main([a.replace("{d}", str(tmp_path)) for a in argv.split()])
    _, err = capfd.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("neurokit: error: "), err
    for needle in needles:
        assert needle.replace("{d}", str(tmp_path)) in lines[0], (needle, lines[0])
    assert sorted(p.name for p in tmp_path.rglob("*")) == files, "a refused command wrote files"


@pytest.mark.usefixtures("no_gpu")
def test_cli_compile_gpu_on_cpu_runs(tmp_path, capfd):
    run = _run_folder(tmp_path)
    capfd.readouterr()
    assert main(["compile", str(run), "--target", "gpu", "--device", "cpu", "--json"]) == 0
    assert '"device": "cpu"' in capfd.readouterr().out
