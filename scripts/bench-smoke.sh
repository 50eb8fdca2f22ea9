#!/usr/bin/env bash
# Runs benches/workloads.rs once per workload on tiny N, sync and threads, and checks the
# `check` field against what dask_anchor.py computes for the same N (no timing checks).
# The histogram runs only when the shared images are there (IMAGES=dir to point elsewhere).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGES="${IMAGES:-$ROOT/../shared/images}"
cargo bench --bench workloads --no-run -q 2>/dev/null || cargo bench --bench workloads --no-run
# n=100: tree/fanout sum(i+1) = 5050, chain 100, dedup 5050 (100 distinct inc), sleep n=4: 6.
expect() {
  case "$1" in
    tree | fanout | dedup) echo 5050 ;;
    chain) echo 100 ;;
    sleep) echo 6 ;;
    histogram) echo '{"counts": [0, 6, 57, 85, 39, 2, 1, 0, 0, 0], "edges": [0.0, 25.5, 51.0, 76.5, 102.0, 127.5, 153.0, 178.5, 204.0, 229.5, 255.0]}' ;;
  esac
}
workloads="tree chain fanout dedup sleep"
# With DELAYED_PYTHON (CI sets it), also on a dask LocalCluster of 2 workers.
schedulers="sync threads"
if [ -n "${DELAYED_PYTHON:-}" ]; then schedulers="$schedulers dask"; fi
if [ -d "$IMAGES" ]; then workloads="$workloads histogram"; else echo "no $IMAGES: histogram skipped" >&2; fi
for w in $workloads; do
  case "$w" in sleep) n=4 ;; histogram) n=20 ;; *) n=100 ;; esac
  for s in $schedulers; do
    line="$(cargo bench -q --bench workloads -- "$w" --n "$n" --scheduler "$s" --images "$IMAGES")"
    echo "$line"
    got="$(printf '%s' "$line" | python3 -c 'import sys, json; print(json.dumps(json.loads(sys.stdin.read())["check"]))')"
    if [ "$got" != "$(expect "$w")" ]; then
      echo "bench smoke: $w --n $n --scheduler $s: check $got, expected $(expect "$w")" >&2
      exit 1
    fi
  done
done
echo "bench smoke: all checks equal dask's"
