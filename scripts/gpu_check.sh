#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: build the `cuda` feature, run the CUDA
# tests, and print per model CPU vs CUDA figures (docs/cuda.md):
#   - logits after 100 training steps from the same state (target <= 1e-4),
#     and whether two CUDA runs agree bit for bit;
#   - test AUC of a short run on both devices (target: within 1e-3);
#   - `ctr-run bench` samples/s on both devices.
#
#   scripts/gpu_check.sh [ROWS]     # ROWS of synthetic data per short run (default 200000)
#
# Uses the PyPI toolchain of scripts/cuda_toolchain.sh unless nvcc is already
# on PATH with CUDA_ROOT set. Needs the driver's libcuda.so.1 (the real one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-200000}
if [[ -z ${CUDA_ROOT:-} ]] || ! command -v nvcc > /dev/null; then
  eval "$(scripts/cuda_toolchain.sh)"
fi
export CARGO_TARGET_DIR=${CUDA_TARGET_DIR:-$PWD/../cuda-target}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

echo "== build (release, --features cuda)"
cargo build --locked --release --features cuda --bins
bin=$CARGO_TARGET_DIR/release/ctr-run

echo "== CUDA tests: CPU vs CUDA logits after 100 steps"
cargo test --locked --release --features cuda --test suite gpu_ -- --nocapture --test-threads 1 2>&1 |
  tee "$CARGO_TARGET_DIR/gpu_tests.txt" | grep -E "gpu_check|skipped|test result|panicked|FAILED" || true
grep -q "test result: ok" "$CARGO_TARGET_DIR/gpu_tests.txt"
if grep -q "skipped: no GPU" "$CARGO_TARGET_DIR/gpu_tests.txt"; then
  echo "no GPU answered: stopping" >&2
  exit 1
fi

echo "== short runs: test AUC on cpu and cuda (${ROWS} synthetic rows)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for kind in mlp opnn dcn lr; do
  case $kind in
    mlp | lr) format=avazu ;;
    opnn) format=ipinyou ;;
    dcn) format=criteo ;;
  esac
  cat > "$work/$kind.toml" <<EOF
seed = 1
threads = 2
output = "$work"
[data]
format = "$format"
split = "fraction"
train_fraction = 0.9
cache_dir = "$work/cache"
[data.synthetic]
rows = $ROWS
seed = 1
[model]
kind = "$kind"
[optimizer]
name = "group_adam"
lambda21 = 1e-5
[train]
progress = false
EOF
  for dev in cpu cuda; do
    "$bin" train --quiet --config "$work/$kind.toml" --device "$dev" --output "$work/$dev" > /dev/null
  done
  python3 - "$work" "$kind" <<'EOF' || status=1
import json, sys
work, kind = sys.argv[1], sys.argv[2]
m = {d: json.load(open(f"{work}/{d}/{kind}/metrics.json")) for d in ("cpu", "cuda")}
a, b = m["cpu"]["auc"], m["cuda"]["auc"]
ok = abs(a - b) <= 1e-3
print(f"gpu_check {kind}: test AUC cpu {a:.5f} cuda {b:.5f} |diff| {abs(a - b):.2e} "
      f"({'ok' if ok else 'OVER 1e-3'}); train samples/s cpu {m['cpu']['train_samples_per_second']:.0f} "
      f"cuda {m['cuda']['train_samples_per_second']:.0f}")
sys.exit(0 if ok else 1)
EOF
done

echo "== bench: samples/s (median of 3), cpu beside cuda"
for kind in mlp opnn dcn lr; do
  for dev in cpu cuda; do
    line=$("$bin" bench --model "$kind" --device "$dev" --rows "$ROWS" 2> /dev/null | grep throughput)
    echo "gpu_check bench $kind $dev: $line"
  done
done
exit $status
