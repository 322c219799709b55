#!/usr/bin/env bash
# Builds the `cuda` feature without a GPU: the check to run before every
# submission that touches src/model/ or the training step (docs/cuda.md).
# Too slow for CI (a fresh build is ~15-25 min on 2 cores, most of it
# candle-kernels' nvcc), so CI keeps building and testing without the feature.
#
#   scripts/cuda_build_check.sh                 # release build of lib + bins
#   scripts/cuda_build_check.sh --tests         # also compiles the test suite
#
# Its own target dir (CUDA_TARGET_DIR, default ../cuda-target) keeps the
# feature build from invalidating the ordinary target/.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/cuda_toolchain.sh)"
export CARGO_TARGET_DIR=${CUDA_TARGET_DIR:-$PWD/../cuda-target}
start=$(date +%s)
nice -n 19 cargo build --locked --release --features cuda --lib --bins
if [[ ${1:-} == --tests ]]; then
  nice -n 19 cargo test --locked --release --features cuda --no-run --test suite
fi
# The binary needs a libcuda.so.1 to start: without a driver, the stub. Asking
# it for a GPU must then fail with a message naming the device, not crash.
bin=$CARGO_TARGET_DIR/release/ctr-run
ldconfig -p 2>/dev/null | grep -q "libcuda.so.1 " || export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$NV/lib/stubs
"$bin" --version
if "$bin" bench --device cuda --rows 1000 --repeat 1 > /dev/null 2> "$CARGO_TARGET_DIR/no-gpu.txt"; then
  echo "(a GPU answered: bench --device cuda ran)"
else
  grep -q 'device = "cuda"' "$CARGO_TARGET_DIR/no-gpu.txt" || { cat "$CARGO_TARGET_DIR/no-gpu.txt"; exit 1; }
  echo "without a GPU: $(grep -m1 "^error:" "$CARGO_TARGET_DIR/no-gpu.txt")"
fi
echo "cuda build check passed in $(( $(date +%s) - start )) s ($bin)"
