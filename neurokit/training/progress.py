"""Rich progress bar and per-epoch summary lines for :func:`neurokit.train` (shown on rank 0 only).

Example::

    >>> bar = EpochProgress(enabled=True)
    >>> bar.start_epoch(0, 3, steps=10)
    >>> bar.advance(loss=0.7)
    >>> bar.end_epoch({"epoch": 0, "train_loss": 0.7, "train_acc": 0.5, "train_spike_rate": 0.1})
    >>> bar.close()
"""
from __future__ import annotations

from typing import Optional

__all__ = ["EpochProgress", "format_record"]


def format_record(record: dict) -> str:
    """One summary line for an epoch record of :func:`neurokit.train`'s history.

    Example::

        >>> format_record({"epoch": 0, "train_loss": 0.5, "train_acc": 0.75, "train_spike_rate": 0.1})
        'epoch 1: train loss 0.5000 acc 75.00% spikes 0.1000'
    """
    parts = [f"epoch {record['epoch'] + 1}:"]
    for split in ("train", "test"):
        if f"{split}_loss" in record:
            parts.append(f"{split} loss {record[f'{split}_loss']:.4f} acc {100 * record[f'{split}_acc']:.2f}% "
                         f"spikes {record[f'{split}_spike_rate']:.4f}")
    return " ".join(parts)


class EpochProgress:
    """A rich progress bar over the steps of each epoch, with the running step loss; silent when disabled."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._progress = None
        self._task: Optional[int] = None

    def start_epoch(self, epoch: int, epochs: int, steps: int, completed: int = 0) -> None:
        """Begin the bar of ``epoch`` (0-based) of ``epochs`` with ``steps`` steps, ``completed`` already done."""
        if not self.enabled:
            return
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeRemainingColumn(), TextColumn("loss {task.fields[loss]}"))
            self._progress.start()
        self._task = self._progress.add_task(f"epoch {epoch + 1}/{epochs}", total=steps, completed=completed,
                                             loss="-")

    def advance(self, loss: float) -> None:
        """One step done, with its (reduced) loss."""
        if self.enabled and self._task is not None:
            self._progress.update(self._task, advance=1, loss=f"{loss:.4f}")

    def end_epoch(self, record: dict) -> None:
        """Print the epoch summary line."""
        if self.enabled and self._progress is not None:
            self._progress.console.print(format_record(record))

    def close(self) -> None:
        """Stop the live display."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
