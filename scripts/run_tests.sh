#!/usr/bin/env bash
# Run the full test suite (after scripts/setup_env.sh --lava). No GPU needed: Triton kernels run interpreted.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MPLBACKEND=Agg
# Lint first (configuration: [tool.ruff] in pyproject.toml); a finding fails the run before any test.
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n 2 --dist loadfile -q "$@"
