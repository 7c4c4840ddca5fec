"""Energy per inference of the demo conv SNN on every target: the rich table, and the plots used by docs/energy.md.

    .venv/bin/python examples/energy_demo.py                        # plots under ./neurokit-out/energy_demo/
    .venv/bin/python examples/energy_demo.py --plot-dir docs/img    # the figures of docs/energy.md
"""
import argparse
from pathlib import Path

from hw_targets.energy.summary import demo_model, run_energy_command

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Energy table of the demo conv SNN on every target.")
    parser.add_argument("--plot-dir", type=Path, default=Path("neurokit-out") / "energy_demo",
                        help="folder for energy_<target>.png and energy_targets.png (created)")
    args = parser.parse_args()
    model, x = demo_model()
    run_energy_command(model, x, plot=args.plot_dir, per_layer=True,
                       title="demo conv SNN (random weights), random 2x16x16 frames")
