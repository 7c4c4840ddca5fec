"""Training: :func:`train` (``nk.train``), evaluation, safetensors checkpoints and data-parallel launch.

Example::

    >>> history = nk.train(model, train_ds, epochs=5, test_data=test_ds, checkpoint_dir="runs/x", resume=True)
"""
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, read_checkpoint_meta, save_checkpoint
from .distributed import (all_reduce_mean_, build_torchrun_command, check_global_batch, is_main_process,
                          launch_distributed, launched_by_torchrun)
from .loop import call_anneal_hooks, cosine_lr, step_seed, train
from .metrics import LOSSES, SpikeRecorder, evaluate, get_loss, predictions

__all__ = ["train", "evaluate", "cosine_lr", "step_seed", "call_anneal_hooks", "save_checkpoint", "load_checkpoint",
           "read_checkpoint_meta", "CHECKPOINT_NAME", "launch_distributed", "build_torchrun_command",
           "check_global_batch", "launched_by_torchrun", "all_reduce_mean_", "is_main_process", "get_loss", "LOSSES",
           "SpikeRecorder", "predictions"]
