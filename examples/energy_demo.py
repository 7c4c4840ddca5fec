"""Energy per inference of the demo conv SNN on every target; writes the plots used by docs/energy.md.

    .venv/bin/python examples/energy_demo.py                      # prints the Markdown table, writes
    docs/img/energy_*.png
    .venv/bin/python examples/energy_demo.py --plot-dir /tmp/e    # plots elsewhere
"""
import argparse
from pathlib import Path

from hw_targets.energy.summary import demo_model, energy_table

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Energy table of the demo conv SNN on every target.")
    parser.add_argument("--plot-dir", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "img",
                        help="folder for energy_<target>.png")
    args = parser.parse_args()
    model, x = demo_model()
    print(energy_table(model, x, plot_dir=args.plot_dir))
