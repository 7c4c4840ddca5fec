"""Shared pytest set-up."""
import os
import socket

import pytest
import torch

# Kernel tests: without a GPU, Triton kernels run in the interpreter. It must be set before triton is
# imported.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def free_port():
    """A TCP port free right now on 127.0.0.1, for a torchrun rendezvous: never the fixed default 29500, which
    another test (or another suite on the same machine) may be using at the same moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
