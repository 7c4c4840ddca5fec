"""Rich energy tables (no raw Markdown) and the figures: per-layer chart with static apart, all targets side by side."""
import io

from rich.console import Console

from hw_targets.energy.render import print_reports
from hw_targets.energy.summary import demo_model, energy_reports, write_plots


def test_rich_tables_and_plots(tmp_path):
    model, x = demo_model(steps=2, batch=1)
    reports = energy_reports(model, x, ["cmos45", "loihi2"])
    buf = io.StringIO()
    print_reports(reports, per_layer=True, title="demo: energy", console=Console(file=buf, width=200))
    text = buf.getvalue()
    assert "**" not in text and "|---" not in text
    assert text.count("│ loihi2 ") == 1 and "│ (static) " in text and "loihi2 assumptions:" in text
    for rep in reports.values():
        assert f"{rep.total_j * 1e6:.4g}" in text
    files = write_plots(reports, tmp_path / "figs", title="demo conv SNN")
    assert [p.name for p in files] == ["energy_cmos45.png", "energy_loihi2.png", "energy_targets.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in files)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(p.name for p in files)
