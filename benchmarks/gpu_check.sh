#!/usr/bin/env bash
# The GPU check, in one script, for the day a GPU machine is lent (<= 8 min on an NVIDIA
# data-centre card with 16 CPU cores):
#   1. installs the `gpu` extra (CuPy) unless CuPy already finds a GPU;
#   2. runs the GPU tests on the card: NumPy/CuPy agreement of every analysis and the
#      pipeline smoke tests (pytest -m gpu, tests/test_gpu.py and friends);
#   3. runs bench_core (S1), bench_surrogates (P1, P2) and bench_insync (Level 1) with
#      --backend cupy, each case warm (run once first: kernels compiled, FFT plans made);
#   4. writes one markdown table (times, targets, transfers, NumPy-vs-CuPy differences) to
#      OUT_DIR/gpu_check.md, with every log beside it.
#
# Usage:  benchmarks/gpu_check.sh [OUT_DIR]          (default: $OUT, else ./gpu-check)
#
# Without a GPU, HYPERINSYNC_GPU_CHECK=emulate runs the same steps under the CuPy emulation
# (tests/_cupy_emulation.py) at the benchmarks' --quick sizes, installing nothing: it checks
# the script end to end; its times mean nothing. CI does not run it.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu-check}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
mode="${HYPERINSYNC_GPU_CHECK:-gpu}"
py="${PYTHON:-python}"
# `pytest`, not `python -m pytest`: the tests must import the installed package (CONTRIBUTING)
pytest_bin="$(dirname "$(command -v "$py")")/pytest"
[ -x "$pytest_bin" ] || pytest_bin=pytest
rows="$out/rows.jsonl"
: > "$rows"
export MPLBACKEND=Agg
start=$SECONDS
say() { echo "[gpu_check $((SECONDS - start)) s] $*" | tee -a "$out/gpu_check.log"; }

case "$mode" in
  gpu)
    size=()
    threads="$(nproc 2>/dev/null || echo 4)"
    repeats=3
    # step time limits (s): together with the install they keep the check under 8 minutes
    t_tests=120; t_core=120; t_sur=120; t_l1=90
    if ! "$py" -c "import cupy, sys; sys.exit(cupy.cuda.runtime.getDeviceCount() < 1)" \
        >/dev/null 2>&1; then
      say "installing the gpu extra (pip install -e '.[gpu,test]')"
      "$py" -m pip install -q -e ".[gpu,test]" >>"$out/install.log" 2>&1 \
        || { say "FAILED to install the gpu extra: see $out/install.log"; exit 1; }
    fi
    "$py" -c "import cupy, sys; sys.exit(cupy.cuda.runtime.getDeviceCount() < 1)" \
      >>"$out/install.log" 2>&1 \
      || { say "CuPy does not find a GPU: see $out/install.log"; exit 1; }
    unset HYPERINSYNC_CUPY_EMULATION
    ;;
  emulate)
    size=(--quick)
    threads=2
    repeats=1
    t_tests=900; t_core=600; t_sur=600; t_l1=600  # a slow shared CPU machine
    export HYPERINSYNC_CUPY_EMULATION=one-gpu
    ;;
  *)
    echo "HYPERINSYNC_GPU_CHECK must be 'gpu' or 'emulate', got '$mode'" >&2
    exit 2
    ;;
esac
unset HYPERINSYNC_BACKEND  # 'auto' must mean the GPU in the tests
say "mode $mode, output $out"

# 2. the GPU tests on the card (the emulation's own transfer tests run under it anyway)
say "pytest -m gpu"
timeout "$t_tests" "$pytest_bin" -q -m gpu -p no:cacheprovider tests >"$out/tests.log" 2>&1
tests_rc=$?
tests="$(tail -n 1 "$out/tests.log")"
say "tests: $tests (exit $tests_rc)"

# 3. the benchmarks, warm, with --backend cupy
fail=0
bench() {
  local name="$1" limit="$2"; shift 2
  say "$name $*"
  if ! timeout "$limit" "$py" "benchmarks/$name.py" "$@" >"$out/$name.log" 2>&1; then
    say "$name FAILED: see $out/$name.log"
    fail=1
  fi
}
bench bench_core "$t_core" --scenario S1 --backend cupy --repeats "$repeats" --json "$rows" "${size[@]}"
bench bench_surrogates "$t_sur" --backend cupy --threads "$threads" --repeats "$repeats" \
  --json "$rows" "${size[@]}"
bench bench_insync "$t_l1" --backend cupy --n-jobs "$threads" --repeats "$repeats" --json "$rows" \
  "${size[@]}"

# 4. the table
"$py" benchmarks/gpu_common.py table "$rows" "$out/gpu_check.md" "$tests" >/dev/null \
  || { say "could not write the table"; exit 1; }
say "table: $out/gpu_check.md"
cat "$out/gpu_check.md"
if [ "$tests_rc" -ne 0 ] || [ "$fail" -ne 0 ]; then
  say "GPU check FAILED (tests exit $tests_rc, benchmarks $fail)"
  exit 1
fi
say "GPU check done in $((SECONDS - start)) s"
