#!/usr/bin/env bash
# Criteo-scale memory (issue 14): one epoch of DCN (d = 8) + Group Adam over
# a synthetic Criteo file with the real number of distinct features (~34M
# over the real file's 45,840,617 rows), split = "paper" (first 6 of 7
# row-order parts train), batch 512, cache off. Prints wall time, loop
# time, peak RSS (GNU time), distinct features seen in training, the
# budget estimate (at the first batch, and at the features seen) and the
# embedding store's reported memory.
#
# The default synthetic tables give ~14M distinct keys over 45.8M rows
# (Zipf 1.1 leaves most of the big fields' ranks undrawn); --zipf 0.8
# --cardinality-scale 1.2 gives ~33.7M over the file, ~32M in its training
# part (docs/data.md "Distinct features at scale").
#
# Env: CRITEO_MEMORY_DATA (default /work/data/criteo45m.txt if /work/data
# exists, else .cache/criteo_memory/criteo45m.txt; generated once, skipped
# when present: ~11 GB), CRITEO_MEMORY_ROWS (default 45840617, only for
# generating), CTR_RUN (a ctr-run binary; default: build target/release),
# CRITEO_MEMORY_THREADS (default 2), CRITEO_MEMORY_FEATURE_REPORT (default
# false: the report is one more pass after training, an output of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
default_data=.cache/criteo_memory/criteo45m.txt
[[ -d /work/data && -w /work/data ]] && default_data=/work/data/criteo45m.txt
data="${CRITEO_MEMORY_DATA:-$default_data}"
rows="${CRITEO_MEMORY_ROWS:-45840617}"
threads="${CRITEO_MEMORY_THREADS:-2}"
if [[ -z "${CTR_RUN:-}" ]]; then
  cargo build --release --locked
  CTR_RUN="$PWD/target/release/ctr-run"
fi
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }
if [[ ! -s "$data" ]]; then
  mkdir -p "$(dirname "$data")"
  echo "== generating $rows rows into $data ($(df -h --output=avail "$(dirname "$data")" | tail -1) free)"
  "$CTR_RUN" gen --format criteo --rows "$rows" --seed 1 --zipf 0.8 --cardinality-scale 1.2 --out "$data"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/criteo.toml" <<EOF
name = "criteo_memory"
seed = 1
threads = $threads
output = "$work/runs"
[data]
format = "criteo"
train = "$(realpath "$data")"
split = "paper"
cache = false
criteo_integers = "log1p"
[model]
kind = "dcn"
embed_dim = 8
[optimizer]
name = "group_adam"
lr = 1e-3
lambda1 = 4e-4
lambda21 = 5e-4
lambda2 = 1e-5
[train]
batch_size = 512
epochs = 1
log_every = 1000
feature_report = ${CRITEO_MEMORY_FEATURE_REPORT:-false}
EOF
echo "== load before: $(uptime)"
/usr/bin/time -v -o "$work/run.time" "$CTR_RUN" train --quiet --config "$work/criteo.toml"
echo "== load after: $(uptime)"
python3 - "$work" <<'EOF'
import json, re, sys
work = sys.argv[1]
t = open(f"{work}/run.time").read()
val = lambda key: re.search(re.escape(key) + r":\s*(\S+)", t).group(1)
h, m_, s = (["0", "0"] + val("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))[-3:]
wall = int(h) * 3600 + int(m_) * 60 + float(s)
user, sys_ = float(val("User time (seconds)")), float(val("System time (seconds)"))
rss = int(val("Maximum resident set size (kbytes)")) * 1024
m = json.load(open(f"{work}/runs/criteo_memory/metrics.json"))
gb = lambda b: f"{b / 1e9:.2f} GB" if b is not None else "n/a"
print(f"wall time            {wall:8.1f} s  (CPU {(user + sys_) / wall * 100:.0f} %: user {user:.1f} s, sys {sys_:.1f} s)")
print(f"training loop        {m['train_seconds']:8.1f} s  ({m['train_samples_per_second']:.0f} samples/s, {m['train_samples']} samples)")
print("  phases             " + ", ".join(f"{k} {v:.1f} s" for k, v in m["phases"].items()))
print(f"peak RSS (GNU time)  {gb(rss)}  ({rss / 2**30:.2f} GiB)")
print(f"peak RSS at metrics  {gb(m.get('peak_rss_bytes'))}  (VmHWM when metrics.json was written)")
print(f"distinct features    {m['seen_features']}  (seen in training; {m['nonzero_features']} kept, rate {m['feature_rate']:.4f})")
est = m.get("memory_estimate")
if est:
    print(f"budget estimate      {gb(est['first_batch_bytes'])} before training (the check), {gb(est['at_seen_bytes'])} at the features seen ({est['at_seen_bytes'] / rss * 100:.0f} % of the peak)")
else:
    print("budget estimate      (this binary does not report it)")
print(f"store memory         needed {gb(m['embedding_needed_bytes'])} (weights + slots), held {gb(m['embedding_held_bytes'])} ({m['embedding_held_bytes'] / max(m['embedding_rows'], 1):.1f} B/row)")
print(f"test AUC {m['auc']}, logloss {m['logloss']}, {m['test_samples']} test rows")
EOF
