#!/usr/bin/env bash
# The cluster path against the local scheduler on the same machine, one table into
# BENCHMARKS.md (issue "the whole program on the cluster"): `histogram` on a LocalCluster
# of 2 worker processes (`--scheduler dask --workers 2`) against 2 local threads
# (`--scheduler threads --workers 2`), alternated, medians of REPEAT; `histogram` N=100
# on the cluster against dask.distributed's own row of the anchor file
# (shared/bench/dask_results.jsonl: 2 worker processes, the anchor's script); `tree`
# 10^6 on the cluster; `sleep` 8 × 250 ms on the cluster (efficiency: the ideal 1 s on 2
# workers over the compute time).
#
#   scripts/compare-cluster.sh                 # writes the table into BENCHMARKS.md
#   WRITE_MD=0 scripts/compare-cluster.sh      # print only
#
# Knobs: SHARED=../shared  REPEAT=3  REPEAT_BIG=1 (runs of histogram N > 1000: minutes
# each)  HIST_NS="1000 3000"  OUT=target/compare-cluster
# Needs DELAYED_PYTHON (a Python with distributed), as the cluster tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SHARED:-$ROOT/../shared}"
IMAGES="${IMAGES:-$SHARED/images}"
REPEAT="${REPEAT:-3}"
REPEAT_BIG="${REPEAT_BIG:-1}"
HIST_NS="${HIST_NS:-1000 3000}"
OUT="${OUT:-$ROOT/target/compare-cluster}"
WRITE_MD="${WRITE_MD:-1}"
ANCHOR_RESULTS="$SHARED/bench/dask_results.jsonl"
# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
BENCH="$(bench_program)"
mkdir -p "$OUT"
LINES="$OUT/lines.jsonl"
: > "$LINES"

run() { # label args... → one JSON line, tagged with its label, appended to $LINES
  local label="$1"
  shift
  "$BENCH" "$@" 2>"$OUT/last.err" | python3 -c 'import sys, json
for line in sys.stdin:
    if line.startswith("{"):
        r = json.loads(line)
        r["label"] = sys.argv[1]
        print(json.dumps(r))' "$label" | tee -a "$LINES"
}

for n in $HIST_NS; do
  runs="$REPEAT"
  [ "$n" -gt 1000 ] && runs="$REPEAT_BIG"
  for _ in $(seq "$runs"); do
    run "hist-$n-threads" histogram --n "$n" --scheduler threads --workers 2 --images "$IMAGES" --no-eager
    run "hist-$n-dask" histogram --n "$n" --scheduler dask --workers 2 --images "$IMAGES" --no-eager
  done
done
for _ in $(seq "$REPEAT"); do
  run "hist-100-dask" histogram --n 100 --scheduler dask --workers 2 --images "$IMAGES" --no-eager
  run "tree-dask" tree --n 1000000 --scheduler dask --workers 2
  run "sleep-dask" sleep --n 8 --sleep-ms 250 --scheduler dask --workers 2
done

TABLE="$OUT/table.md"
python3 - "$LINES" "$ANCHOR_RESULTS" "$(machine_line)" "$REPEAT" > "$TABLE" <<'EOF_PY'
import json, statistics, sys
lines, anchor_path, machine, repeat = sys.argv[1:5]
rows = {}
for line in open(lines):
    r = json.loads(line)
    rows.setdefault(r["label"], []).append(r)
def med(label, field="total_s"):
    rs = rows.get(label)
    return statistics.median(r[field] for r in rs) if rs else None
def fmt(x, unit=" s"):
    return "—" if x is None else f"{x:.3f}{unit}"
print(f"Measured by `scripts/compare-cluster.sh` on {machine}; medians of {repeat} runs "
      "(N > 1000: REPEAT_BIG runs), local and cluster alternated. The cluster is a LocalCluster of 2 worker processes on "
      "the same 2 cores as the 2 local threads: the difference is the cluster path's own cost.")
print()
print("| row | local (2 threads) | cluster (2 workers) | ratio | target |")
print("|---|---|---|---|---|")
for label in sorted({k.split("-")[1] for k in rows if k.startswith("hist-") and k.endswith("-threads")}, key=int):
    local, cluster = med(f"hist-{label}-threads"), med(f"hist-{label}-dask")
    ratio = cluster / local if local and cluster else None
    met = "met" if ratio is not None and ratio <= 1.3 else "not met"
    print(f"| `histogram --n {label}` total | {fmt(local)} | {fmt(cluster)} | "
          f"{'—' if ratio is None else f'{ratio:.2f}×'} | ≤ 1.3× ({met}) |")
anchor = None
for line in open(anchor_path):
    r = json.loads(line)
    if r.get("workload") == "histogram" and r.get("n") == 100 and r.get("scheduler") == "distributed" and "total_s" in r:
        anchor = r["total_s"]
ours100 = med("hist-100-dask")
speedup = anchor / ours100 if anchor and ours100 else None
print(f"| `histogram --n 100` vs dask.distributed (anchor file: {fmt(anchor)}) | — | {fmt(ours100)} | "
      f"{'—' if speedup is None else f'{speedup:.1f}× faster'} | ≥ 50× ({'met' if speedup and speedup >= 50 else 'not met'}) |")
tree = med("tree-dask")
print(f"| `tree` 10^6 tasks on the cluster | — | {fmt(tree)} | — | < 3 s ({'met' if tree is not None and tree < 3 else 'not met'}) |")
sleep = med("sleep-dask", "compute_s")
eff = 1.0 / sleep if sleep else None
print(f"| `sleep` 8 × 250 ms on the cluster (compute) | — | {fmt(sleep)} | "
      f"{'—' if eff is None else f'efficiency {eff:.2f}'} | ≥ 0.9 ({'met' if eff is not None and eff >= 0.9 else 'not met'}) |")
EOF_PY
cat "$TABLE"
if [ "$WRITE_MD" = 1 ]; then
  write_table "$ROOT/BENCHMARKS.md" "$TABLE" compare-cluster
fi
