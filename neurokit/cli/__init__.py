"""The ``neurokit`` command line: ``neurokit demo | train | compile | energy | bench``.

Exit codes (the same for every command, through ``--nproc`` workers and for ``bench`` scripts): 0 ok; 2 bad usage
or bad input (one readable ``neurokit: error:`` line naming the option, file or value); 1 internal error (one line;
the traceback only with ``--debug``); 130 interrupted; ``bench`` exits with its script's code.
"""
from __future__ import annotations

import sys
import traceback
from typing import Optional

import typer

from .checks import UsageError

EXIT_CODES_HELP = ("Exit codes: 0 ok; 2 bad usage or bad input (one error line naming the culprit); 1 internal error "
                   "(traceback with --debug); 130 interrupted; `bench` exits with its script's code.")

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="neurokit: train spiking / low-precision nets, compile them to integer ONNX, Loihi-2-style "
                       "fixed point and NIR, and estimate energy per inference.\n\n" + EXIT_CODES_HELP)

_STATE = {"debug": False}
_INTERRUPTED = "interrupted (a `neurokit train` run continues with --resume from its last checkpoint)"

@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")):
    _STATE["debug"] = debug


@app.command()
def demo(out: str = typer.Option("neurokit-out", help="Output folder for checkpoints, artefacts and report."),
         quick: bool = typer.Option(False, "--quick", help="Tiny sizes: finishes in under 2 minutes."),
         seed: int = typer.Option(0, help="Random seed.")):
    """Train, compile to every target, verify bit-exactness and estimate energy, on the bundled data.

    Example: neurokit demo --quick --out /tmp/nk
    """
    from .demo import run_demo

    run_demo(out=out, quick=quick, seed=seed)


@app.command(context_settings={"allow_extra_args": False})
def train(preset: Optional[str] = typer.Argument(None, help="Model preset: delay_snn, binary_mlp, quant_snn, "
                                                             "spikformer_tiny."),
          config: Optional[str] = typer.Option(None, "--config", "-c", help="TOML or YAML config file."),
          data: Optional[str] = typer.Option(None, help="Data set: digits, delay_task, coincidence_task, shd, ssc."),
          epochs: Optional[int] = typer.Option(None, help="Epochs (default 10 or the config's)."),
          batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Global batch size."),
          lr: Optional[float] = typer.Option(None, help="Learning rate."),
          seed: Optional[int] = typer.Option(None, help="Seed (default 0)."),
          out: str = typer.Option("runs/latest", help="Run folder: run.json + last.safetensors."),
          resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.safetensors."),
          checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Also save every N steps."),
          nproc: Optional[int] = typer.Option(None, "--nproc", help="Processes per node (launches torchrun)."),
          nnodes: Optional[int] = typer.Option(None, "--nnodes", help="Number of nodes (with --nproc; default 1)."),
          node_rank: Optional[int] = typer.Option(None, "--node-rank", help="This node's rank (with --nproc; "
                                                                              "default 0)."),
          master_addr: Optional[str] = typer.Option(None, "--master-addr", help="Rendezvous host, node 0 (with "
                                                                                 "--nproc; default 127.0.0.1)."),
          master_port: Optional[int] = typer.Option(None, "--master-port", help="Rendezvous port (with --nproc; "
                                                                                 "default 29500)."),
          device: Optional[str] = typer.Option(None, "--device", help="auto (default: CUDA when present, else CPU) "
                                                                      "| cpu | cuda | cuda:N | mps | xpu."),
          no_progress: bool = typer.Option(False, "--no-progress", help="Plain per-epoch lines, no progress bar.")):
    """Train a model preset; checkpoints are atomic and `--resume` continues a killed run (bit-exact).

    Everything is checked before anything is written. The same --seed gives bit-identical checkpoints on CPU.
    `--resume` on a folder without a checkpoint warns and trains from scratch.

    Examples:
      neurokit train delay_snn --epochs 30 --out runs/delay
      neurokit train binary_mlp --config train.toml --out runs/bin --resume
      neurokit train quant_snn --nproc 2 --batch-size 64 --out runs/q      # data-parallel (torchrun, gloo/NCCL)
    """
    from .train_plan import resolve_train, run_train

    plan = resolve_train(preset, config, data, epochs, batch_size, lr, seed, out, resume, checkpoint_every, device)
    dist = {"--nnodes": nnodes, "--node-rank": node_rank, "--master-addr": master_addr, "--master-port": master_port}
    if nproc is None:
        given = [name for name, value in dist.items() if value is not None]
        if given:
            raise UsageError(f"{'/'.join(given)}: only used by multi-process training; add --nproc N (processes "
                             "per node) or drop them")
        run_train(plan, progress=not no_progress)
        return
    from .launch import launch_train

    raise typer.Exit(launch_train(nproc, _strip_dist_args(sys.argv[1:]), nnodes=1 if nnodes is None else nnodes,
                                  node_rank=node_rank or 0, master_addr=master_addr or "127.0.0.1",
                                  master_port=29500 if master_port is None else master_port,
                                  batch_size=plan.batch_size, debug=_STATE["debug"]))


@app.command("compile")
def compile_cmd(run: str = typer.Argument(..., help="Run folder written by `neurokit train`."),
                target: str = typer.Option("onnx_int", help="gpu | onnx_int | loihi2 | nir"),
                out: Optional[str] = typer.Option(None, help="Artefact path (default RUN/model.<ext>)."),
                as_json: bool = typer.Option(False, "--json", help="Print the machine-readable JSON report only."),
                samples: int = typer.Option(512, "--samples", help="Test samples for the accuracy and bit-exact "
                                                                    "check (0: no check)."),
                device: Optional[str] = typer.Option(None, "--device", help="Target gpu only: auto (default) | cpu | "
                                                                            "cuda | cuda:N | mps | xpu.")):
    """Compile a trained run to a target artefact (.onnx, netx .net, .nir), check it on the run's test set (accuracy,
    bit-exact against the integer reference) and print a summary.

    Examples:
      neurokit compile runs/delay --target loihi2
      neurokit compile runs/bin --target onnx_int --out bin.onnx
      neurokit compile runs/bin --target nir --json > report.json
    """
    from .compile_view import run_compile

    run_compile(run, target, out, as_json=as_json, samples=samples, device=device)


@app.command()
def energy(model: str = typer.Argument(..., help="Run folder written by `neurokit train`, or `demo`."),
           target: Optional[list[str]] = typer.Option(None, "--target", "-t",
                                                      help="cmos45 | loihi2 | onnx_int | gpu (repeatable; "
                                                           "default: all)."),
           plot: Optional[str] = typer.Option(None, help="Write the per-layer stacked-bar PNG(s) here."),
           per_layer: bool = typer.Option(False, "--per-layer", help="Also print the per-layer table.")):
    """Energy per inference from measured activity, as a table per target.

    Examples:
      neurokit energy demo
      neurokit energy runs/delay --target loihi2 --target cmos45 --plot energy/
    """
    from .commands import run_energy

    run_energy(model, list(target) if target else None, plot, per_layer)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context,
          names: Optional[list[str]] = typer.Argument(None, help="time_loop, loihi_sim or all (default).")):
    """Run the benchmarks (ratios against the peers, measured in the same run); extra args go to the scripts.

    Examples:
      neurokit bench time_loop -- --quick
      neurokit bench all
    """
    from .commands import run_bench

    tokens = [*(names or []), *ctx.args]
    cut = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    raise typer.Exit(run_bench(tokens[:cut], tokens[cut:]))


_DIST_OPTS = {"--nproc", "--nnodes", "--node-rank", "--master-addr", "--master-port"}


def _strip_dist_args(argv: list) -> list:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in _DIST_OPTS:
            skip = True
            continue
        if a.split("=", 1)[0] in _DIST_OPTS:
            continue
        out.append(a)
    return out


def _run(argv: Optional[list]) -> "tuple[int, Optional[str]]":
    """Run the app; ``(exit code, error message or None)``."""
    try:
        code = app(args=argv, standalone_mode=False)     # typer turns KeyboardInterrupt into exit code 130
        code = code if isinstance(code, int) else 0
    except UsageError as e:
        if _STATE["debug"]:
            traceback.print_exc()
        return 2, str(e)
    except typer.Exit as e:
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except typer.Abort:
        return 1, "aborted"
    except SystemExit as e:
        return (e.code if isinstance(e.code, int) else int(e.code is not None)), None
    except Exception as e:  # noqa: BLE001 - the CLI's last line of defence: every error becomes an exit code
        return _classify(e)
    return code, (_INTERRUPTED if code == 130 else None)


def _classify(e: Exception) -> "tuple[int, Optional[str]]":
    from ..errors import CompileError

    if hasattr(e, "format_message") and hasattr(e, "exit_code"):  # click usage errors (typer vendors click)
        message = e.format_message()
        if type(e).__name__ == "NoArgsIsHelpError":                 # `neurokit` alone: the help, no error line
            if message.strip():
                print(message, file=sys.stderr)
            return 2, None
        return int(e.exit_code), message or f"bad usage ({type(e).__name__})"
    if _STATE["debug"]:
        traceback.print_exc()
    if isinstance(e, (OSError, ValueError, TypeError, KeyError, CompileError)):
        return 2, f"{type(e).__name__}: {e}"
    return 1, f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)"


def main(argv: Optional[list] = None) -> int:
    """Console entry point with neurokit's exit-code policy (see the module docstring)."""
    from .launch import worker_reports_enabled, write_worker_report

    _STATE["debug"] = False
    code, message = _run(argv)
    if message:
        message = " ".join(message.split("\n")).strip()
        if worker_reports_enabled() and code:
            write_worker_report(code, message)
            if not _STATE["debug"]:
                return code
        _err(message)
    return code


def _err(message: str) -> None:
    print(f"neurokit: error: {message}", file=sys.stderr)
