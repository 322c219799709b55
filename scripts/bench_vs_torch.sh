#!/usr/bin/env bash
# ctr-run vs PyTorch training throughput, interleaved (issue 14): for each
# round and each model, `ctr-run bench` (optionally an old binary first) and
# `scripts/bench_torch.py` run back to back on the same file with the same
# threads, so that both see the same machine load. Prints per model the
# samples/s of each program per round, the ratio ctr-run / PyTorch per round
# and the median ratio over the rounds (only ratios within a round are
# compared: a busy machine drifts between rounds).
#
# Files (README "Training throughput vs PyTorch"): generated once into
# BENCH_DIR, skipped when present: Avazu (mlp) and Criteo (dcn) of
# BENCH_ROWS rows, iPinYou (opnn) of BENCH_IPINYOU_ROWS; both programs train
# on the first 90%. PyTorch's CSV encoding is slow but untimed; at the
# defaults 3 rounds of the three models take about 6 min on a quiet 2-core
# machine.
#
# Env: ROUNDS (3), THREADS (2), MODELS ("mlp dcn opnn"), BENCH_DIR
# (.cache/bench_vs_torch), BENCH_ROWS (1000000), BENCH_IPINYOU_ROWS (300000),
# CTR_RUN (a ctr-run binary; default: build target/release), CTR_RUN_OLD (a
# second binary to run first in each round, e.g. the build before a change:
# adds its column and its ratio to the new one), PYTHON (python3 with torch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
threads="${THREADS:-2}"
models="${MODELS:-mlp dcn opnn}"
dir="${BENCH_DIR:-.cache/bench_vs_torch}"
rows="${BENCH_ROWS:-1000000}"
ipinyou_rows="${BENCH_IPINYOU_ROWS:-300000}"
python="${PYTHON:-python3}"
old="${CTR_RUN_OLD:-}"
if [[ -z "${CTR_RUN:-}" ]]; then
  cargo build --release --locked
  CTR_RUN="$PWD/target/release/ctr-run"
fi
"$python" -c 'import torch' || { echo "PYTHON=$python has no torch" >&2; exit 1; }

format_of() {
  case "$1" in
    mlp | lr) echo avazu ;;
    dcn) echo criteo ;;
    opnn) echo ipinyou ;;
    *) echo "unknown model $1" >&2; exit 1 ;;
  esac
}
mkdir -p "$dir"
for m in $models; do
  f="$(format_of "$m")"
  n="$rows"
  [[ "$f" == ipinyou ]] && n="$ipinyou_rows"
  file="$dir/$f-$n.csv"
  if [[ ! -s "$file" ]]; then
    echo "== generating $n $f rows into $file"
    "$CTR_RUN" gen --format "$f" --rows "$n" --seed 1 --out "$file" >/dev/null
  fi
done

# samples/s from each program's summary line.
ctr_rate() { sed -n 's/^throughput (median of [0-9]*): \([0-9]*\) samples\/s$/\1/p'; }
torch_rate() { sed -n 's/.* = \([0-9]*\) samples\/s on .*/\1/p'; }
run_ctr() { # binary model file -> samples/s
  "$1" bench --model "$2" --optimizer group_adam --data "$3" --threads "$threads" --repeat 1 2>/dev/null | ctr_rate
}

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
echo "== load before: $(uptime)"
for r in $(seq 1 "$rounds"); do
  for m in $models; do
    f="$(format_of "$m")"
    n="$rows"
    [[ "$f" == ipinyou ]] && n="$ipinyou_rows"
    file="$dir/$f-$n.csv"
    o=-
    [[ -n "$old" ]] && o="$(run_ctr "$old" "$m" "$file")"
    c="$(run_ctr "$CTR_RUN" "$m" "$file")"
    t="$("$python" scripts/bench_torch.py --model "$m" --data "$file" --threads "$threads" | torch_rate)"
    [[ -n "$c" && -n "$t" && -n "$o" ]] || { echo "round $r $m: a run printed no throughput" >&2; exit 1; }
    echo "round $r $m: old $o, ctr-run $c, pytorch $t samples/s"
    echo "$m $r $o $c $t" >>"$results"
  done
done
echo "== load after: $(uptime)"

# The table: per model, each round's figures, the ratios, their median.
"$python" - "$results" "$models" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
has_old = any(r[2] != "-" for r in rows)
print()
head = "| model | round | " + ("old ctr-run | " if has_old else "") + "ctr-run | PyTorch | ctr-run / PyTorch |"
head += " new / old |" if has_old else ""
print(head)
print("|---" * (head.count("|") - 1) + "|")
for m in sys.argv[2].split():
    mine = [r for r in rows if r[0] == m]
    ratios, speedups = [], []
    for _, rnd, o, c, t in mine:
        ratio = int(c) / int(t)
        ratios.append(ratio)
        cells = [m, rnd] + ([o] if has_old else []) + [c, t, f"{ratio:.2f}x"]
        if has_old:
            speedups.append(int(c) / int(o))
            cells.append(f"{speedups[-1]:.2f}x")
        print("| " + " | ".join(cells) + " |")
    line = f"| {m} | median | " + ("| " if has_old else "") + "| | " + f"{statistics.median(ratios):.2f}x |"
    if has_old:
        line += f" {statistics.median(speedups):.2f}x |"
    print(line)
EOF
