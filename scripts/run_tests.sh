#!/usr/bin/env bash
# Run the full test suite (after scripts/setup_env.sh --lava). No GPU needed: Triton kernels run interpreted.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MPLBACKEND=Agg
exec .venv/bin/python -m pytest -n 2 --dist loadfile -q "$@"
