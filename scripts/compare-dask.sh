#!/usr/bin/env bash
# delayed vs dask.delayed, side by side, on the workloads of shared/bench/dask_anchor.py.
#
#   scripts/compare-dask.sh               # the ladder; writes the table into BENCHMARKS.md
#   TBB=0 scripts/compare-dask.sh         # without the oneTBB column (tree and chain only)
#   QUICK=1 scripts/compare-dask.sh       # smallest N of each ladder only, BENCHMARKS.md untouched
#   DASK_FRESH_MAX=100000 scripts/...     # run dask fresh up to this N (default 10000)
#
# Both sides run alternately, each configuration in its own process: for every
# (workload, scheduler, N), dask's anchor first, then ours REPEAT times (the median run by
# total_s is kept). dask at large N takes minutes or times out (shared/bench/RESULTS.md),
# so above DASK_FRESH_MAX its line is taken from the measured shared/bench/dask_results.jsonl
# and marked "anchor file" in the table; everything up to DASK_FRESH_MAX is measured fresh,
# in this run. Our ladder goes one step further (10^6), where dask has no figure at all.
#
# oneTBB's flow graph (shared/bench/tbb/run.sh: the same tree and chain, no hashing, no
# dedup; it installs g++ and libtbb-dev with apt-get when missing) runs REPEAT times beside
# ours on every tree/chain threads row, so one command prints ours, TBB and dask per row.
#
# Needs python3 (venv + pip reaching PyPI) and cargo. Environment knobs:
#   SHARED=../shared  VENV=target/bench-venv  LIMIT_S=120  REPEAT=3  OUT=target/compare
#   WRITE_MD=1 (0: print only)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SHARED:-$ROOT/../shared}"
ANCHOR="$SHARED/bench/dask_anchor.py"
ANCHOR_RESULTS="$SHARED/bench/dask_results.jsonl"
IMAGES="${IMAGES:-$SHARED/images}"
VENV="${VENV:-$ROOT/target/bench-venv}"
PY="$VENV/bin/python"
LIMIT_S="${LIMIT_S:-120}"
REPEAT="${REPEAT:-3}"
QUICK="${QUICK:-0}"
DASK_FRESH_MAX="${DASK_FRESH_MAX:-10000}"
OUT="${OUT:-$ROOT/target/compare}"
WRITE_MD="${WRITE_MD:-1}"
TBB="${TBB:-1}"
TBB_RUN="$SHARED/bench/tbb/run.sh"
[ "$QUICK" = 1 ] && WRITE_MD=0

[ -f "$ANCHOR" ] || { echo "missing $ANCHOR (set SHARED=...)" >&2; exit 1; }
[ -d "$IMAGES" ] || { echo "missing image directory $IMAGES (set IMAGES=...)" >&2; exit 1; }

# The anchor's own approach (run_anchor.sh): a venv with the latest dask, numpy, pillow.
if [ ! -x "$PY" ]; then
  echo "creating $VENV" >&2
  python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q dask distributed numpy pillow
fi

# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
BENCH="$(bench_program)"

mkdir -p "$OUT"
DASK_OUT="$OUT/dask.jsonl"
OURS_OUT="$OUT/ours.jsonl"
TBB_OUT="$OUT/tbb.jsonl"
: > "$DASK_OUT"
: > "$OURS_OUT"
: > "$TBB_OUT"
if [ "$TBB" = 1 ]; then
  [ -f "$TBB_RUN" ] || { echo "missing $TBB_RUN (set SHARED=..., or TBB=0)" >&2; exit 1; }
  bash "$TBB_RUN" tree 1000 > /dev/null # builds it (and installs TBB) before timing
fi

run_dask() { # workload scheduler n
  local w="$1" s="$2" n="$3" line rc
  if [ "$n" -gt "$DASK_FRESH_MAX" ]; then
    line="$(python3 - "$ANCHOR_RESULTS" "$w" "$s" "$n" <<'EOF'
import json, sys
path, w, s, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for line in open(path):
    r = json.loads(line)
    if r.get("workload") == w and r.get("scheduler") == s and r.get("n") == n and "args" not in r:
        r["source"] = "anchor file"
        print(json.dumps(r))
        break
EOF
)"
    [ -n "$line" ] && echo "$line" >> "$DASK_OUT"
    return 0
  fi
  set +e
  line="$(timeout --kill-after=10 "$LIMIT_S" "$PY" "$ANCHOR" "$w" --n "$n" --scheduler "$s" --images "$IMAGES" 2>"$OUT/dask.err")"
  rc=$?
  set -e
  if [ $rc -eq 0 ] && [ -n "$line" ]; then
    echo "$line" | python3 -c 'import sys, json; r = json.loads(sys.stdin.read()); r["source"] = "fresh"; print(json.dumps(r))' >> "$DASK_OUT"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "{\"workload\": \"$w\", \"n\": $n, \"scheduler\": \"$s\", \"status\": \"timeout\", \"limit_s\": $LIMIT_S, \"source\": \"fresh\"}" >> "$DASK_OUT"
  else
    echo "dask $w $s $n failed: $(tail -n 1 "$OUT/dask.err")" >&2
  fi
}

run_tbb() { # workload scheduler n: the median of REPEAT runs, for tree/chain on threads
  local w="$1" s="$2" n="$3"
  [ "$TBB" = 1 ] && [ "$s" = threads ] || return 0
  case "$w" in tree | chain) ;; *) return 0 ;; esac
  RUNS="$REPEAT" bash "$TBB_RUN" "$w" "$n" | median_line >> "$TBB_OUT"
}

run_ours() { # workload scheduler n
  local w="$1" s="$2" n="$3" i runs=()
  for i in $(seq "$REPEAT"); do
    runs+=("$("$BENCH" "$w" --n "$n" --scheduler "$s" --images "$IMAGES")")
  done
  printf '%s\n' "${runs[@]}" | median_line >> "$OURS_OUT"
}

ladder() { # workload scheduler "dask Ns" "our extra Ns"
  local w="$1" s="$2" ns="$3" extra="${4:-}" n
  if [ "$QUICK" = 1 ]; then ns="${ns%% *}"; extra=""; fi
  for n in $ns; do
    echo "$w $s n=$n" >&2
    run_dask "$w" "$s" "$n"
    run_tbb "$w" "$s" "$n"
    run_ours "$w" "$s" "$n"
  done
  for n in $extra; do
    echo "$w $s n=$n (ours and TBB only)" >&2
    run_tbb "$w" "$s" "$n"
    run_ours "$w" "$s" "$n"
  done
}

CORES="$(nproc)"
for w in tree chain fanout dedup; do
  ladder "$w" threads "1000 10000 100000" "500000 1000000"
done
ladder histogram threads "20 50 100" "1000 3000"
ladder sleep threads "$((2 * CORES))"
ladder tree sync "1000 10000 100000" "1000000"
ladder histogram sync "20 50 100"

MACHINE="$(machine_line)"
python3 "$ROOT/scripts/compare_table.py" "$DASK_OUT" "$OURS_OUT" "$MACHINE" "$REPEAT" "$DASK_FRESH_MAX" "$TBB_OUT" > "$OUT/table.md"
cat "$OUT/table.md"
if [ "$WRITE_MD" = 1 ]; then
  write_table "$ROOT/BENCHMARKS.md" "$OUT/table.md" compare-dask
fi
