"""Progress output of :func:`neurokit.train` (rank 0 only): one live bar while an epoch runs (in a terminal only; it
disappears when the epoch ends) and one plain summary line per finished epoch, the same in a terminal and in a log
file (no bar is ever dumped into a pipe).

Example::

    >>> bar = EpochProgress(enabled=True)
    >>> bar.start_epoch(0, 3, steps=10)
    >>> bar.advance(loss=0.7)
    >>> bar.end_epoch({"epoch": 0, "train_loss": 0.7, "train_acc": 0.5, "train_spike_rate": 0.1})
    epoch 1/3  train loss 0.7000  acc 50.00 %  spike rate 10.00 %  (0.1 s)
    >>> bar.close()
"""
from __future__ import annotations

import time
from typing import Optional

__all__ = ["EpochProgress", "format_record"]


def format_record(record: dict, epochs: Optional[int] = None, seconds: Optional[float] = None) -> str:
    """One summary line for an epoch record of :func:`neurokit.train`'s history: loss, accuracy and spike rate
    (the fraction of neuron-steps that spiked) of the epoch, in percent, for train and (if present) test.

    Example::

        >>> format_record({"epoch": 0, "train_loss": 0.5, "train_acc": 0.75, "train_spike_rate": 0.1}, 10, 2.31)
        'epoch 1/10  train loss 0.5000  acc 75.00 %  spike rate 10.00 %  (2.3 s)'
    """
    parts = [f"epoch {record['epoch'] + 1}" + (f"/{epochs}" if epochs else "")]
    for split in ("train", "test"):
        if f"{split}_loss" in record:
            parts.append(f"{split} loss {record[f'{split}_loss']:.4f}  acc {100 * record[f'{split}_acc']:.2f} %  "
                         f"spike rate {100 * record.get(f'{split}_spike_rate', 0.0):.2f} %")
    line = "  ".join(parts)
    return line + (f"  ({seconds:.1f} s)" if seconds is not None else "")


class EpochProgress:
    """A transient rich bar over the steps of the running epoch (with the epoch's mean loss so far) when stdout is
    a terminal, and a :func:`format_record` line per finished epoch; silent when disabled."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._console = None
        self._progress = None
        self._task: Optional[int] = None
        self._epochs: Optional[int] = None
        self._t0 = 0.0

    def start_epoch(self, epoch: int, epochs: int, steps: int, completed: int = 0) -> None:
        """Begin the bar of ``epoch`` (0-based) of ``epochs`` with ``steps`` steps, ``completed`` already done."""
        if not self.enabled:
            return
        self._epochs, self._t0 = epochs, time.perf_counter()
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        if not self._console.is_terminal:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("epoch loss {task.fields[loss]}"),
                                  console=self._console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(f"epoch {epoch + 1}/{epochs}", total=steps, completed=completed,
                                             loss="-")

    def advance(self, loss: float) -> None:
        """One step done; ``loss`` is the epoch's mean loss so far."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, loss=f"{loss:.4f}")

    def end_epoch(self, record: dict) -> None:
        """Remove the bar and print the epoch summary line."""
        if not self.enabled or self._console is None:
            return
        self.close()
        self._console.print(format_record(record, self._epochs, time.perf_counter() - self._t0), soft_wrap=True)

    def close(self) -> None:
        """Stop the live display (if any)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
