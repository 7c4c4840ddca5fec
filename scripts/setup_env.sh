#!/usr/bin/env bash
# Set up everything neurokit needs on a fresh machine (idempotent).
#   scripts/setup_env.sh            main venv (.venv): torch CPU 2.13, neurokit + test extras, peers
#   scripts/setup_env.sh --lava     also the Python 3.10 venv (.venv-lava) with lava-dl 0.6 / lava-nc 0.10
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip
# torch first, pinned, so the range in pyproject is already satisfied and no CUDA build is pulled.
.venv/bin/python -c "import torch" 2>/dev/null || $PIP install -q "torch==2.13.0"
$PIP install -q -e ".[test,dev]"
# Peers for parity tests and benchmarks: their own requirements pull CUDA torch / torchaudio, so --no-deps.
.venv/bin/python -c "import snntorch, spikingjelly, neurobench" 2>/dev/null || \
  $PIP install -q --no-deps "snntorch==1.0.0" "spikingjelly==2.0.0" "neurobench==2.3.0"
# DCLS (the delay-learning peer of benchmarks/delays.py): pure PyTorch, its requirements pull a CUDA torch.
.venv/bin/python -c "import DCLS" 2>/dev/null || $PIP install -q --no-deps "dcls==0.1.1"
# Norse and Sinabs (NIR exporters/importers the NIR tests run): pure Python, their requirements pull a CUDA torch /
# torchvision, so --no-deps; Sinabs reads its version through pbr at import.
.venv/bin/python -c "import norse, sinabs" 2>/dev/null || \
  $PIP install -q --no-deps "norse==1.1.0" "sinabs==3.1.3" "pbr==7.1.3"
# Rockpool and Spyx (NIR exporters the NIR tests run): Rockpool requires only numpy / scipy (its torch modules use the
# torch above); Spyx pulls jax / flax / optax / grain (CPU jaxlib, no torch, no CUDA), jax pinned to the tested release.
.venv/bin/python -c "import rockpool" 2>/dev/null || $PIP install -q "rockpool==3.1.0"
.venv/bin/python -c "import spyx.nir" 2>/dev/null || $PIP install -q "spyx==1.0.0" "jax==0.10.2" "jaxlib==0.10.2"
# tonic (event datasets and transforms, nk.data.from_tonic): its requirements pull librosa, a CUDA torch and
# torchaudio, so --no-deps, plus what `import tonic` needs (importRosbag for its rosbag datasets, requests).
.venv/bin/python -c "import tonic" 2>/dev/null || { $PIP install -q --no-deps "tonic==1.7.0" "importRosbag==1.0.4" && \
  $PIP install -q "requests"; }
if [ "${1:-}" = "--lava" ]; then
  if ! .venv-lava/bin/python -c "import lava.lib.dl.netx" 2>/dev/null; then
    rm -rf .venv-lava
    PYENV_VERSION=3.10.13 python -m venv .venv-lava
    .venv-lava/bin/python -m pip install -q --upgrade pip
    .venv-lava/bin/python -m pip install -q "lava-dl==0.6.0" h5py
  fi
fi
