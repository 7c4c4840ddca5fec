"""``neurokit demo``: the main job, end to end, on the bundled data.

1. trains a delay SNN on the synthetic delay task and a binary-weight spiking MLP on the digits set (nk.train:
   progress bars, per-epoch metrics, safetensors checkpoints);
2. rounds the learned delays to integers (the deployable form every target runs);
3. compiles each model to ``gpu``, ``onnx_int``, ``loihi2`` and ``nir`` and writes the artefacts;
4. checks every integer target against the integer reference simulator on the whole test set ("bit-exact" or the
   mismatch count; loihi2 with its one-step synaptic latency per layer) and the gpu target against eager;
5. prints float vs integer accuracy and the energy table per target;
6. writes ``report.md``, plots, checkpoints and artefacts to the output folder and names it at the end.

Example: ``neurokit demo --quick --out /tmp/nk`` (under 2 minutes on 2 CPU cores; full run under 10).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import torch

from ..atomic import atomic_write_text
from .verify import accuracy, check_target, stack_dataset

TARGETS = ("gpu", "onnx_int", "loihi2", "nir")
_EXT = {"onnx_int": "model.onnx", "loihi2": "model.net", "nir": "model.nir"}


@dataclass(frozen=True)
class DemoSpec:
    preset: str
    epochs: int
    quick_epochs: int
    train_kwargs: dict


SPECS = (DemoSpec("delay_snn", 30, 8, {}), DemoSpec("binary_mlp", 30, 3, {}))


def _sigma_curve(model, epochs: int):
    """Per-epoch Gaussian width of the model's learned delay layers (``nk.train`` anneals it each epoch), or None."""
    from ..layers.delays import delay_layers, sigma_schedule

    layers = [m for m in delay_layers(model) if m.mode == "learned"]
    if not layers:
        return None
    m = layers[0]
    return [sigma_schedule(e, epochs, m.sigma_init, m.sigma_final, m.anneal_fraction) for e in range(epochs)], m


def _plot_history(history, path, title, model=None):
    """Loss and accuracy per epoch; for delay models the sigma schedule is drawn on the loss panel, since the
    train loss moves when the delay kernels narrow (and the annealing ends) while the accuracy may not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..atomic import atomic_savefig

    epochs = range(1, len(history) + 1)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.3))
    ax[0].plot(epochs, [h["train_loss"] for h in history], label="train")
    ax[0].plot(epochs, [h["test_loss"] for h in history], label="test")
    ax[0].set_title("loss", fontsize=9)
    ax[1].plot(epochs, [100 * h["train_acc"] for h in history], label="train")
    ax[1].plot(epochs, [100 * h["test_acc"] for h in history], label="test")
    ax[1].set_title("accuracy (%)", fontsize=9)
    sigma = _sigma_curve(model, len(history)) if model is not None else None
    if sigma is not None:
        values, layer = sigma
        twin = ax[0].twinx()
        twin.plot(epochs, values, color="grey", linestyle=":", label="delay kernel sigma")
        twin.set_ylabel("sigma (steps)", color="grey", fontsize=8)
        end = next((e + 1 for e, v in enumerate(values) if v <= layer.sigma_final * (1 + 1e-9)), None)
        if end is not None:
            for a in ax:
                a.axvline(end, color="grey", linewidth=0.8)
            ax[0].annotate("sigma annealing ends", (end, ax[0].get_ylim()[1]), fontsize=7, ha="right", va="top",
                           rotation=90, color="grey")
        twin.legend(fontsize=7, loc="center right")
    for a in ax:
        a.set_xlabel("epoch")
        a.legend(fontsize=7, loc="upper left" if a is ax[0] else "lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def _check_target(model, cm, target, x, y, folder):
    """Save the artefact (file targets) and check the compiled model on the test set; returns a result row."""
    row = {}
    if target in _EXT:
        path = os.path.join(folder, _EXT[target])
        cm.save(path)
        row["artefact"] = os.path.basename(path)
    return {**check_target(model, cm, target, x, y), **row}


def _train_one(spec: DemoSpec, out: str, quick: bool, seed: int, console):
    import neurokit as nk

    from .presets import PRESETS, build_data, build_model, write_run

    p = PRESETS[spec.preset]
    folder = os.path.join(out, spec.preset)
    train_ds, test_ds = build_data(p.data, {**p.data_kwargs, "seed": seed})
    torch.manual_seed(seed)
    model = build_model(spec.preset, {})
    epochs = spec.quick_epochs if quick else spec.epochs
    console.rule(f"[bold]{spec.preset}[/bold]: {p.description} ({epochs} epochs)")
    write_run(folder, {"preset": spec.preset, "model": {}, "data": p.data, "data_args": p.data_kwargs,
                       "epochs": epochs, "seed": seed})
    history = nk.train(model, train_ds, epochs, test_data=test_ds, seed=seed, checkpoint_dir=folder,
                       device="cpu", **{**p.train_kwargs, **spec.train_kwargs})
    _plot_history(history, os.path.join(folder, "training.png"), f"{spec.preset}: {p.description}", model)
    model.eval()
    x, y = stack_dataset(test_ds)
    with torch.no_grad():
        float_acc = accuracy(model(x).float().sum(0), y)
    rounded_acc = None
    if any(getattr(m, "is_rounded", None) is False for m in model.modules()):
        nk.models.round_delays(model)
        with torch.no_grad():
            rounded_acc = accuracy(model(x).float().sum(0), y)
    return model, folder, x, y, float_acc, rounded_acc


def run_demo(out: str = "neurokit-out", quick: bool = False, seed: int = 0) -> dict:
    """Run the demo; returns the summary dict that is also written to ``out/summary.json``."""
    from rich.console import Console
    from rich.table import Table

    import neurokit as nk
    from hw_targets.energy.render import summary_table
    from hw_targets.energy.summary import energy_reports, reports_markdown, write_plots

    from .presets import PRESETS

    console = Console()
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    summary = {"models": {}, "quick": quick, "seed": seed}
    md = ["# neurokit demo report", "",
          f"Mode: {'quick' if quick else 'full'}; seed {seed}; torch {torch.__version__}.", ""]
    for spec in SPECS:
        model, folder, x, y, float_acc, rounded_acc = _train_one(spec, out, quick, seed, console)
        example = x[:, :32]
        rows = []
        for target in TARGETS:
            try:
                cm = nk.compile(model, target=target, example_input=example)
            except nk.CompileError as e:      # the target cannot express this model: say why, go on
                rows.append({"target": target, "check": "not compiled", "vs": str(e).splitlines()[0][:120],
                             "accuracy": float("nan")})
                continue
            rows.append(_check_target(model, cm, target, x, y, folder))
        table = Table(title=f"{spec.preset}: targets on the {len(y)}-sample test set")
        for col in ("target", "check", "vs", "accuracy", "artefact"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["target"], r["check"], r["vs"], f"{100 * r['accuracy']:.2f} %", r.get("artefact", "-"))
        console.print(table)
        line = f"float accuracy {100 * float_acc:.2f} %"
        if rounded_acc is not None:
            line += f", after round_delays() {100 * rounded_acc:.2f} %"
        int_acc = next(r["accuracy"] for r in rows if r["target"] == "onnx_int")
        line += f"; integer (onnx_int) {100 * int_acc:.2f} %"
        console.print(line)
        title = f"{spec.preset}, {PRESETS[spec.preset].data}"
        reports = energy_reports(model, example)
        write_plots(reports, os.path.join(folder, "energy"), title)
        energy_md = reports_markdown(reports)
        console.print(summary_table(reports, f"{title}: energy per inference (µJ, 32 test samples)"))
        # the assumptions go to report.md
        summary["models"][spec.preset] = {"float_acc": float_acc, "rounded_acc": rounded_acc, "targets": rows}
        md += [f"## {spec.preset}", "", line + ".", "", "| target | check | against | accuracy | artefact |",
               "|---|---|---|---:|---|"]
        md += [f"| {r['target']} | {r['check']} | {r['vs']} | {100 * r['accuracy']:.2f} % | {r.get('artefact', '-')} |"
               for r in rows]
        md += ["", "loihi2 runs with one step of synaptic latency per layer, so its outputs lag by that many steps and "
               "the last input steps do not reach the readout within T; its accuracy is measured on what it "
               "outputs within T.", "", f"![training]({spec.preset}/training.png)", "",
               "Energy per inference (batch of 32 test samples, measured activity):", "", energy_md, "",
               f"![energy on every target]({spec.preset}/energy/energy_targets.png)", "",
               f"![energy loihi2]({spec.preset}/energy/energy_loihi2.png)", ""]
    summary["seconds"] = round(time.time() - t0, 1)
    atomic_write_text(os.path.join(out, "report.md"), "\n".join(md) + "\n")
    atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=2, default=str))
    console.print(f"\n[bold green]demo finished in {summary['seconds']} s.[/bold green] "
                  f"Everything is in [bold]{out}[/bold] (report.md, checkpoints, model.onnx, model.net, model.nir, "
                  f"plots).")
    return summary
