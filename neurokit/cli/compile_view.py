"""``neurokit compile``: compile a run folder's model, write the artefact, check it on the run's test set and print
a summary for people (rich: layers, bit widths, cores, artefact, warnings highlighted, accuracy and the bit-exact
check), or the machine-readable report with ``--json``.

Example::

    >>> report = run_compile("runs/bin", "loihi2", out=None, as_json=False, samples=512)
    >>> report["check"]["check"]
    'bit-exact'
"""
from __future__ import annotations

import json
import os
from typing import Optional

from .checks import UsageError, check_device, check_str

__all__ = ["run_compile", "render_compile"]

_EXT = {"onnx_int": ".onnx", "loihi2": ".net", "nir": ".nir"}


def _check_on_test_set(model, cm, target: str, record: dict, samples: int) -> dict:
    import torch

    from .presets import build_data
    from .verify import accuracy, check_target, stack_dataset

    args = dict(record.get("data_args", {}))
    if record.get("data") in ("digits", "delay_task", "coincidence_task"):
        args.setdefault("seed", record.get("seed", 0))
    _, test_ds = build_data(record["data"], args)
    x, y = stack_dataset(test_ds, limit=samples)
    row = check_target(model, cm, target, x, y)
    with torch.no_grad():
        row["float_accuracy"] = accuracy(model(x).float().sum(0), y)
    row["samples"] = int(y.shape[0])
    return row


def run_compile(run_dir: str, target: str, out: Optional[str], as_json: bool = False, samples: int = 512,
                device: Optional[str] = None) -> dict:
    """Compile a trained run to ``target`` (``device``: target ``gpu`` only), write the artefact (file targets), check
    it on up to ``samples`` test samples (``0``: no check) and print the summary (or, with ``as_json``, the JSON
    report); returns the report."""
    import neurokit as nk
    from hw_targets.registry import TARGETS

    from .commands import example_input
    from .presets import load_run

    check_str(target, "--target", TARGETS, "target")
    if target == "gpu" and out is not None:
        raise UsageError("--out: target 'gpu' runs the model in-process with torch and has no file artefact; "
                         "drop --out, or compile to a file target: onnx_int (.onnx), loihi2 (.net) or nir (.nir)")
    if out is not None and os.path.isdir(out):
        raise UsageError(f"--out: {out!r} is a folder; expected the artefact's file path (e.g. {out!r}/model.onnx)")
    options = {}
    if device is not None:
        if target != "gpu":
            raise UsageError(f"--device: only target 'gpu' runs on a device; target {target!r} is an artefact for "
                             "another runtime (drop --device)")
        options["device"] = check_device(device, "--device")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise UsageError(f"--samples: expected an integer >= 0 (test samples to check; 0 = no check), got {samples!r}")
    model, record = load_run(run_dir)
    if any(getattr(m, "is_rounded", None) is False for m in model.modules()):
        nk.models.round_delays(model)      # targets run the deployable integer-delay form
    model.eval()
    x, _ = example_input(record)
    cm = nk.compile(model, target=target, example_input=x, **options)
    report = {**cm.report(), "run": os.path.abspath(run_dir), "artefact": None}
    if target != "gpu":
        out = out or os.path.join(run_dir, f"model{_EXT.get(target, '.bin')}")
        cm.save(out)
        report["artefact"] = os.path.abspath(out)
        report["artefact_bytes"] = os.path.getsize(out)
    report["check"] = _check_on_test_set(model, cm, target, record, samples) if samples else None
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        render_compile(report, record)
    return report


def _bits(layer: dict) -> str:
    return "-" if layer.get("weight_bits") is None else f"{layer['weight_bits']}-bit"


def render_compile(report: dict, record: Optional[dict] = None, console=None) -> None:
    """Print ``report`` (from :func:`run_compile`) as a rich summary on ``console`` (default: stdout).

    Example::

        >>> render_compile(report, {"preset": "binary_mlp", "data": "digits"})
    """
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False, soft_wrap=True)
    record = record or {}
    title = f"{record.get('preset', 'model')} ({record.get('data', '?')}) -> {report['target']}"
    table = Table(title=title, title_justify="left")
    for col, justify in (("layer", "left"), ("op", "left"), ("shape", "left"), ("ops / step", "right"),
                         ("params", "right"), ("weights", "right")):
        table.add_column(col, justify=justify)
    for layer in report["layers"]:
        table.add_row(layer["name"], layer["op"], "x".join(map(str, layer["shape"] or [])) or "-",
                      f"{layer['ops']:,}", f"{layer['params']:,}", _bits(layer))
    console.print(table)
    memory = ", ".join(f"{b}-bit {int(v):,} B" for b, v in sorted(report["weight_bytes_by_bits"].items(),
                                                                  key=lambda kv: int(kv[0])))
    console.print(f"parameters {report['params']:,}; weight memory {memory or '0 B'}; "
                  f"{report['ops_per_step']:,} synaptic + neuron ops per step")
    if "cores" in report:
        chips = report.get("core_map", {}).get("limits", {}).get("chips")
        console.print(f"Loihi 2 cores: {report['cores']}" + (f" (on {chips} chip(s))" if chips else ""))
    if report.get("artefact"):
        console.print(f"artefact: [bold]{report['artefact']}[/bold] ({report['artefact_bytes']:,} bytes)")
    else:
        console.print("artefact: none (target gpu runs in-process with torch)")
    for warning in report.get("warnings", []):
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    check = report.get("check")
    if check is None:
        console.print("no check run (--samples 0)")
        return
    ok = check["check"] in ("bit-exact", "equal")
    colour = "green" if ok else "red"
    console.print(f"test set ({check['samples']} samples): {report['target']} accuracy "
                  f"{100 * check['accuracy']:.2f} % (float model {100 * check['float_accuracy']:.2f} %); "
                  f"against the {check['vs']}: [bold {colour}]{check['check']}[/bold {colour}]")
