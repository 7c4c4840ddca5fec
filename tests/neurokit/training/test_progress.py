"""``nk.train``'s output when stdout is not a terminal: exactly one summary line per epoch, no progress bar."""
import torch
from torch import nn

import neurokit as nk
from neurokit.training.progress import format_record


def test_one_plain_line_per_epoch_when_piped(capsys):
    g = torch.Generator().manual_seed(0)
    data = [((torch.rand(4, 16, generator=g) < 0.3).float(), i % 4) for i in range(32)]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nk.LIF(v_threshold=0.05), nn.Linear(32, 4))
    nk.train(model, data, epochs=3, test_data=data[:8], batch_size=16, device="cpu", progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    for k, line in enumerate(lines, 1):
        assert line.startswith(f"epoch {k}/3  train loss ") and " test loss " in line, line
        assert line.count("spike rate") == 2 and line.endswith(" s)") and "━" not in line


def test_format_record_uses_percent_everywhere():
    line = format_record({"epoch": 4, "train_loss": 0.25, "train_acc": 0.5, "train_spike_rate": 0.125,
                          "test_loss": 0.5, "test_acc": 0.25, "test_spike_rate": 0.0625}, 10, 1.04)
    assert line == ("epoch 5/10  train loss 0.2500  acc 50.00 %  spike rate 12.50 %  test loss 0.5000  acc 25.00 %  "
                    "spike rate 6.25 %  (1.0 s)")
