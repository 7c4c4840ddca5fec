"""Shared pytest set-up."""
import os

import torch

# Kernel tests: without a GPU, Triton kernels run in the interpreter. It must be set before triton is
# imported.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
