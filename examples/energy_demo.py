"""Energy per inference of the demo conv SNN on every target; writes the plots used by docs/energy.md.

    .venv/bin/python examples/energy_demo.py            # prints the Markdown table, writes docs/img/energy_*.png
"""
from pathlib import Path

from hw_targets.energy.summary import demo_model, energy_table

if __name__ == "__main__":
    model, x = demo_model()
    print(energy_table(model, x, plot_dir=Path(__file__).resolve().parent.parent / "docs" / "img"))
