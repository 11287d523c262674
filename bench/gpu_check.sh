#!/usr/bin/env bash
# The GPU check: on a machine with CUDA, (1) the tests that need no browser or server, run on
# CUDA; (2) the default recipe trained and timed, eager (trainer.py) and with the step replayed
# from a CUDA graph (--step graph); (3) epochs/s of the eager step against the graphed one in one run
# (bench/train_speed.py); (4) determinism: two short runs with one seed give identical weights.
# Each part prints its figures; the script exits non-zero if any part failed. Sized to end
# within 5 minutes on one H200 (not yet run on one). The project's own suite (make test) stays
# CPU-only: there the CUDA tests skip.
#
#     bash bench/gpu_check.sh [DATA_DIR]      # MNIST there (else $LSN_DATA_DIR, else data/;
#                                             # torchvision downloads it where it is missing)
#     PYTHON=.venv/bin/python bash bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export LSN_DATA_DIR=${1:-${LSN_DATA_DIR:-data}} PYTHONUNBUFFERED=1
# cuBLAS reads its workspace setting once, when CUDA starts: set it for the in-process tests too
# (trainer.py sets it itself before CUDA starts)
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=()
part() { echo; echo "== $1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

"$PY" -c 'import sys, torch; torch.cuda.is_available() or sys.exit("no CUDA here: bench/gpu_check.sh is for a machine with a GPU")' || exit 1
"$PY" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")'

part "1. tests on CUDA (those that need no browser, no server and no Gradio)"
mapfile -t tests < <(grep -L -E 'import (handlers|demo)|gradio|playwright' tests/test_*.py)
t0=$(now)
"$PY" -m pytest -q -p no:cacheprovider -m "not live and not browser and not js" "${tests[@]}" \
  || failed+=("tests")
echo "tests: $(since "$t0") s"

part "2. the default recipe (python trainer.py [--step graph]), wall time"
for step in eager graph; do
  t0=$(now)
  "$PY" trainer.py --step $step --out "$out/default_$step.safetensors" || failed+=("default recipe, $step")
  echo "default recipe, $step step: wall time $(since "$t0") s"
done

part "3. epochs/s, eager step against graphed, one run (batch 256)"
"$PY" bench/train_speed.py --device cuda --epochs 4 || failed+=("train_speed")

part "4. determinism: two runs, one seed"
for step in eager graph; do
  for run in a b; do
    "$PY" trainer.py --step $step --epochs 3 --limit 20000 --seed 7 \
      --out "$out/$step$run.safetensors" >/dev/null || failed+=("determinism: $step run $run")
  done
  "$PY" - "$out/$step" <<'PY' || failed+=("determinism: $step")
import sys
from safetensors.torch import load_file
a, b = (load_file(f"{sys.argv[1]}{r}.last.safetensors") for r in "ab")
same = [k for k in a if k.startswith("model.") and a[k].equal(b[k])]
n = sum(k.startswith("model.") for k in a)
print(f"{sys.argv[1].rsplit('/', 1)[1]} step: identical weight tensors {len(same)} of {n}")
sys.exit(0 if len(same) == n else 1)
PY
done

echo
if [ ${#failed[@]} -gt 0 ]; then echo "FAILED: ${failed[*]}"; exit 1; fi
echo "all parts passed"
