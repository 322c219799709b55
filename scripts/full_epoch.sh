#!/usr/bin/env bash
# One full epoch over a 40M-row synthetic Avazu file (the real file's size
# and cardinalities), the job issue 14 measures: MLP + Group Adam,
# split = "paper", cache off, 2 threads. Prints wall time, training-loop
# time, eval rows/s, CPU utilisation, peak RSS, and the ratio of the epoch
# to a parse-only pass (`ctr-run data verify`) over the same file, timed in
# the same run (absolute times differ between machines; the ratio less).
#
# Env: FULL_EPOCH_DATA (default .cache/full_epoch/avazu40m.csv; generated
# once, skipped when present), FULL_EPOCH_ROWS (default 40000000, only for
# generating), CTR_RUN (a ctr-run binary; default: build target/release),
# FULL_EPOCH_THREADS (default 2), FULL_EPOCH_FEATURE_REPORT (default false).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${FULL_EPOCH_DATA:-.cache/full_epoch/avazu40m.csv}"
rows="${FULL_EPOCH_ROWS:-40000000}"
threads="${FULL_EPOCH_THREADS:-2}"
if [[ -z "${CTR_RUN:-}" ]]; then
  cargo build --release --locked
  CTR_RUN="$PWD/target/release/ctr-run"
fi
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }
if [[ ! -s "$data" ]]; then
  mkdir -p "$(dirname "$data")"
  echo "== generating $rows rows into $data"
  "$CTR_RUN" gen --format avazu --rows "$rows" --out "$data"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/epoch.toml" <<EOF
name = "full_epoch"
seed = 1
threads = $threads
output = "$work/runs"
[data]
format = "avazu"
train = "$(realpath "$data")"
split = "paper"
cache = false
[model]
kind = "mlp"
embed_dim = 16
[optimizer]
name = "group_adam"
lr = 1e-4
lambda1 = 5e-3
lambda21 = 1e-2
lambda2 = 1e-5
[train]
batch_size = 512
epochs = 1
log_every = 1000
# The feature report names the kept keys with one more pass over the
# training file after training (docs/metrics.md): an output of its own,
# not part of the epoch. FULL_EPOCH_FEATURE_REPORT=true includes it.
feature_report = ${FULL_EPOCH_FEATURE_REPORT:-false}
EOF
echo "== load before: $(uptime)"
echo "== parse-only pass (ctr-run data verify)"
/usr/bin/time -v -o "$work/parse.time" "$CTR_RUN" data verify --format avazu "$data"
echo "== epoch (ctr-run train)"
# The host's steal time (the 8th field of /proc/stat's cpu line, in clock
# ticks) around the epoch: time a neighbour on the same host took from
# this VM's cores, which slows a run without showing in its own CPU use.
grep '^cpu ' /proc/stat >"$work/stat.before" 2>/dev/null || true
/usr/bin/time -v -o "$work/epoch.time" "$CTR_RUN" train --quiet --config "$work/epoch.toml"
grep '^cpu ' /proc/stat >"$work/stat.after" 2>/dev/null || true
echo "== load after: $(uptime)"
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100) python3 - "$work" <<'EOF'
import json, re, sys
work = sys.argv[1]

def gnu_time(path):
    t = open(path).read()
    val = lambda key: re.search(re.escape(key) + r":\s*(\S+)", t).group(1)
    h, m, s = (["0", "0"] + val("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))[-3:]
    return {
        "wall": int(h) * 3600 + int(m) * 60 + float(s),
        "user": float(val("User time (seconds)")),
        "sys": float(val("System time (seconds)")),
        "rss_mb": int(val("Maximum resident set size (kbytes)")) / 1024,
    }

e, p = gnu_time(f"{work}/epoch.time"), gnu_time(f"{work}/parse.time")
m = json.load(open(f"{work}/runs/full_epoch/metrics.json"))
ph = m["phases"]
ev = ph["evaluate"]
print(f"wall time           {e['wall']:8.1f} s")
print(f"training loop       {m['train_seconds']:8.1f} s  ({m['train_samples_per_second']:.0f} samples/s, {m['train_samples']} samples)")
print("  phases            " + ", ".join(f"{k} {v:.1f} s" for k, v in ph.items() if k != "evaluate"))
print(f"loop cores busy     {m.get('train_cores_busy', float('nan')):8.2f}  (process CPU over the loop {m.get('train_cpu_seconds', float('nan')):.1f} s / loop wall)")
print(f"loop cores working  {m.get('train_cores_working', float('nan')):8.2f}  (less {m.get('train_spin_cpu_seconds', float('nan')):.1f} s of workers spin-waiting for a job)")
print(f"evaluation          {ev:8.1f} s  ({m['test_samples'] / ev:.0f} rows/s, {m['test_samples']} rows)")
print(f"outside loop + eval {e['wall'] - m['train_seconds'] - ev:8.1f} s")
print(f"CPU utilisation     {(e['user'] + e['sys']) / e['wall'] * 100:8.0f} %  (user {e['user']:.1f} s, sys {e['sys']:.1f} s)")
print(f"peak RSS            {e['rss_mb']:8.0f} MB")
try:
    import os
    before, after = (open(f"{work}/stat.{w}").read().split() for w in ("before", "after"))
    steal = (int(after[8]) - int(before[8])) / int(os.environ["CLK_TCK"])
    print(f"host steal          {steal:8.1f} s  (all cores, during the epoch: a busy neighbour; compare only runs near 0)")
except (OSError, IndexError, ValueError, KeyError):
    print("host steal               n/a  (no /proc/stat)")
print(f"parse-only pass     {p['wall']:8.1f} s  (CPU {(p['user'] + p['sys']) / p['wall'] * 100:.0f} %)")
print(f"epoch / parse-only  {e['wall'] / p['wall']:8.2f}")
print(f"epoch / loop        {e['wall'] / m['train_seconds']:8.2f}")
print(f"test AUC {m['auc']}, logloss {m['logloss']}")
EOF
