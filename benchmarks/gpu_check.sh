#!/usr/bin/env bash
# One GPU check (run from the repository root on a CUDA machine, within ~8 minutes on one H100/H200):
#   0. install the carried pure-Python wheels (.gpu-wheels/, from scripts/fetch_gpu_wheels.sh), --no-index --no-deps
#   1. kernel tests on CUDA (no interpreter)          2. gpu target tests
#   3. bf16 / fp16 autocast training of one preset     4. a 2-process DDP step (NCCL) on one GPU, if allowed
#   5. NVML energy sampling around training            6. benchmarks/time_loop.py --device cuda vs SpikingJelly 2.0
#      (its dispatcher takes its Triton kernels on CUDA), T in {4, 32}, 4M neurons, bf16
# It writes $OUT_DIR/gpu_check.json and $OUT_DIR/gpu_check.md (OUT_DIR defaults to $OUT, else gpu-check-out/).
# GPU_CHECK_DRY_RUN=1 runs every step on the CPU at tiny sizes (what a machine without a GPU can check); the
# kernel tests then run under the Triton interpreter.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT_DIR:-${OUT:-gpu-check-out}}
mkdir -p "$OUT_DIR"
PY=${PYTHON:-python3}
DRY=${GPU_CHECK_DRY_RUN:-0}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
SITE=${GPU_CHECK_SITE:-/tmp/nk-gpu-site}
if [ -d .gpu-wheels ] && ls .gpu-wheels/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        .gpu-wheels/*.whl || { echo "wheel install failed" >&2; exit 3; }
    export PYTHONPATH="$PYTHONPATH:$SITE"
fi
if [ "$DRY" = 1 ]; then
    DEV=cpu; TESTS=(tests/neurokit/kernels/test_cpu_parallel_threads.py -k bounded); GPU_TESTS=()
    BENCH=(--device cpu --T 2 4 --neurons 64 --repeats 1)
else
    DEV=cuda; TESTS=(tests/neurokit/kernels); GPU_TESTS=(tests/hw_targets/test_gpu_target.py)
    BENCH=(--device cuda --T 4 32 --neurons 4194304 --dtype bf16 --repeats 7 --only auto spikingjelly)
fi
STEPS=()
step() {  # name, command...: run, keep the log, record status and seconds
    local name=$1; shift
    local t0=$SECONDS
    echo "== $name: $*"
    "$@" >"$OUT_DIR/$name.log" 2>&1
    local rc=$?
    tail -n 3 "$OUT_DIR/$name.log"
    STEPS+=("$name $rc $((SECONDS - t0))")
}
step kernel_tests "$PY" -m pytest -q -x -p no:cacheprovider "${TESTS[@]}"
if [ ${#GPU_TESTS[@]} -gt 0 ]; then step gpu_target_tests "$PY" -m pytest -q -x -p no:cacheprovider "${GPU_TESTS[@]}"; fi
step autocast "$PY" benchmarks/gpu_steps.py autocast --device "$DEV"
step ddp "$PY" benchmarks/gpu_steps.py ddp --device "$DEV"
step energy "$PY" benchmarks/gpu_steps.py energy --device "$DEV"
step time_loop "$PY" benchmarks/time_loop.py "${BENCH[@]}" --json "$OUT_DIR/time_loop.json"
"$PY" benchmarks/gpu_summary.py "$OUT_DIR" "${STEPS[@]}"
