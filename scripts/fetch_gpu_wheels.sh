#!/usr/bin/env bash
# Download the pure-Python wheels benchmarks/gpu_check.sh installs on the GPU machine (Python 3.12, torch 2.11,
# triton 3.6, numba, onnxruntime, h5py present; these are not) into .gpu-wheels/ (git-ignored; carry it).
# Usage: bash scripts/fetch_gpu_wheels.sh [PYTHON]     (PYTHON with pip; default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
DEST=.gpu-wheels
mkdir -p "$DEST"
# Versions pinned to the ones this repository's tests run against; each is a py3-none-any wheel.
PKGS=(snntorch==1.0.0 spikingjelly==2.0.0 nir==1.0.8 nirtorch==2.6 brevitas==0.13.4 dependencies==2.0.1
      unfoldNd==0.2.3 loguru==0.7.3 tqdm==4.70.1 nvidia-ml-py==13.580.82 pytest==9.2.0 pluggy==1.7.0
      iniconfig==2.3.1 pygments==2.21.0 hypothesis==6.155.7 sortedcontainers==2.4.0 typer==0.29.2 rich==15.0.0
      shellingham==1.5.4 markdown-it-py==4.3.0 mdurl==0.1.2)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation py \
    --platform any -d "$DEST" "${PKGS[@]}"
ls -1 "$DEST"
