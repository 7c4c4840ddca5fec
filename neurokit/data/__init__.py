"""Datasets for neurokit: every sample is ``(x [T, ...], y)``; :func:`collate_time_major` batches to ``[T, B, ...]``.

* :func:`digits` -- scikit-learn's bundled 8x8 digits, spike-encoded (no download).
* :func:`delay_task`, :func:`coincidence_task` -- seeded synthetic tasks that need delays.
* :func:`shd`, :func:`ssc`, :class:`SpikeHDF5Dataset` -- Heidelberg SHD/SSC HDF5 files, binned and pooled.
* :class:`NMNISTDataset`, :func:`read_events`, :func:`write_events` -- N-MNIST-style binary event files.
* :func:`from_tonic` -- any tonic event dataset, binned with tonic's own transforms (tonic is optional).

Example::

    >>> train, test = nk.data.delay_task(n_train=256, T=30, seed=0)
    >>> history = nk.train(model, train, epochs=5, test_data=test)
"""
from .base import SequenceDataset, collate_time_major
from .digits import DIGITS_ENCODINGS, digits
from .nmnist import NMNISTDataset, bin_events_2d, read_events, write_events
from .shd import SpikeHDF5Dataset, bin_events_1d, shd, ssc
from .synthetic import coincidence_task, delay_task, delay_task_gaps
from .tonic_events import TonicFrames, from_tonic

__all__ = ["SequenceDataset", "collate_time_major", "digits", "DIGITS_ENCODINGS", "delay_task", "coincidence_task",
           "delay_task_gaps", "shd", "ssc", "SpikeHDF5Dataset", "bin_events_1d", "NMNISTDataset", "read_events",
           "write_events", "bin_events_2d", "from_tonic", "TonicFrames"]
