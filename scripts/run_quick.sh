#!/usr/bin/env bash
# Run every experiment of configs/quick/ and regenerate results/quick/tables.
# Finished runs are skipped, so the script can be stopped and restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
export PATH="$PWD/target/release:$PATH"
for s in $(grep -l '^base = ' configs/quick/*.toml); do
  echo "== sweep $s"
  ctr-run sweep --quiet --config "$s"
done
for ds in avazu criteo ipinyou; do
  echo "== prune $ds"
  ctr-run prune --quiet --config "configs/quick/${ds}_adam_prune.toml" --match-runs "results/quick/${ds}_table2/runs" --repeats 3
done
ctr-run tables --runs results/quick --out results/quick/tables
