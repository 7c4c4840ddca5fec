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


def main(argv: Optional[list] = None) -> int:
    """Console entry point with neurokit's exit-code policy."""
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except UsageError as e:
        _err(str(e))
        return 2
    except (FileNotFoundError, ValueError, TypeError, KeyError) as e:
        if _STATE["debug"]:
            traceback.print_exc()
        _err(f"{type(e).__name__}: {e}")
        return 2
    except typer.Exit as e:
        return e.exit_code
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


if __name__ == "__main__":
    sys.exit(main())
