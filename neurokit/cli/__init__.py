"""The ``neurokit`` command line: ``neurokit demo | train | compile | energy | bench``.

Exit codes: 0 ok, 2 bad usage or bad input (one readable line), 1 internal error (traceback with ``--debug``).
"""
from __future__ import annotations

import sys
import traceback
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="neurokit: train spiking / low-precision nets, compile them to integer ONNX, Loihi-2-style "
                       "fixed point and NIR, and estimate energy per inference.")

_STATE = {"debug": False}


class UsageError(Exception):
    """Bad usage or bad input: exit code 2 with a one-line message."""


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
          nnodes: int = typer.Option(1, "--nnodes", help="Number of nodes."),
          node_rank: int = typer.Option(0, "--node-rank", help="This node's rank."),
          master_addr: str = typer.Option("127.0.0.1", "--master-addr", help="Rendezvous host (node 0)."),
          master_port: int = typer.Option(29500, "--master-port", help="Rendezvous port."),
          no_progress: bool = typer.Option(False, "--no-progress", help="Plain per-epoch lines, no progress bar.")):
    """Train a model preset; checkpoints are atomic and `--resume` continues a killed run.

    Examples:
      neurokit train delay_snn --epochs 30 --out runs/delay
      neurokit train binary_mlp --config train.toml --out runs/bin --resume
      neurokit train quant_snn --nproc 2 --batch-size 64 --out runs/q      # data-parallel (torchrun, gloo/NCCL)
    """
    from .commands import run_train

    if nproc is not None:
        import neurokit as nk

        argv = [a for a in _strip_dist_args(sys.argv[1:])]
        bs = batch_size if batch_size is not None else _preset_batch(preset, config)
        raise typer.Exit(nk.training.launch_distributed(nproc, argv, nnodes=nnodes, node_rank=node_rank,
                                                        master_addr=master_addr, master_port=master_port,
                                                        batch_size=bs))
    run_train(preset, config, data, epochs, batch_size, lr, seed, out, resume, checkpoint_every,
              progress=not no_progress)


@app.command("compile")
def compile_cmd(run: str = typer.Argument(..., help="Run folder written by `neurokit train`."),
                target: str = typer.Option("onnx_int", help="gpu | onnx_int | loihi2 | nir"),
                out: Optional[str] = typer.Option(None, help="Artefact path (default RUN/model.<ext>).")):
    """Compile a trained run to a target artefact (.onnx, netx .net, .nir) and print its report.

    Examples:
      neurokit compile runs/delay --target loihi2
      neurokit compile runs/bin --target onnx_int --out bin.onnx
    """
    from .commands import run_compile

    run_compile(run, target, out)


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


def _preset_batch(preset, config) -> int:
    from .commands import read_config
    from .presets import PRESETS

    cfg = read_config(config)
    name = preset or cfg.get("preset")
    if "batch_size" in cfg:
        return int(cfg["batch_size"])
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    return int(PRESETS[name].train_kwargs.get("batch_size", 32))


def main(argv: Optional[list] = None) -> int:
    """Console entry point with neurokit's exit-code policy."""
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except UsageError as e:
        _err(str(e))
        return 2
    except (OSError, ValueError, TypeError, KeyError) as e:
        if _STATE["debug"]:
            traceback.print_exc()
        _err(f"{type(e).__name__}: {e}")
        return 2
    except typer.Exit as e:
        return e.exit_code
    except KeyboardInterrupt:
        _err("interrupted (a `neurokit train` run continues with --resume from its last checkpoint)")
        return 130
    except typer.Abort:
        _err("aborted")
        return 1
    except SystemExit as e:
        return int(e.code or 0)
    except Exception as e:  # noqa: BLE001 - the CLI's last line of defence
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):  # click usage errors (typer vendors click)
            _err(e.format_message())
            return int(e.exit_code)
        if _STATE["debug"]:
            traceback.print_exc()
        _err(f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)")
        return 1


def _err(message: str) -> None:
    print(f"neurokit: error: {message}", file=sys.stderr)

