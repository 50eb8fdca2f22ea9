#!/usr/bin/env bash
# delayed vs oneTBB's flow graph, side by side, on `tree` and `chain` (the same workloads:
# tree = N inc leaves + a pairwise add reduction, chain = N incs), 2 threads.
#
#   scripts/compare-tbb.sh                 # writes the table into BENCHMARKS.md
#   WRITE_MD=0 scripts/compare-tbb.sh      # print only
#   BASE_BENCH=path/to/old/workloads scripts/compare-tbb.sh   # also an earlier build of ours
#
# For every (workload, N): TBB, ours (and the base build, if given) alternate, REPEAT times
# each, every run its own process; the median by total_s is kept. TBB neither hashes nor
# deduplicates; ours does both. The TBB anchor (shared/bench/tbb/run.sh) installs g++ and
# libtbb-dev with apt-get when missing.
#
# Knobs: SHARED=../shared  REPEAT=5  OUT=target/compare  NS="500000 1000000"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SHARED:-$ROOT/../shared}"
TBB="$SHARED/bench/tbb/run.sh"
REPEAT="${REPEAT:-5}"
OUT="${OUT:-$ROOT/target/compare}"
NS="${NS:-500000 1000000}"
WRITE_MD="${WRITE_MD:-1}"
BASE_BENCH="${BASE_BENCH:-}"
[ -f "$TBB" ] || { echo "missing $TBB (set SHARED=...)" >&2; exit 1; }

# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
BENCH="$(bench_program)"
bash "$TBB" tree 1000 > /dev/null # builds the TBB binary (and installs TBB) before timing

mkdir -p "$OUT"
LINES="$OUT/tbb-compare.jsonl"
: > "$LINES"
tag() { tag_json impl "$1"; } # every line, tagged with its implementation
for w in tree chain; do
  for n in $NS; do
    echo "$w n=$n" >&2
    for _ in $(seq "$REPEAT"); do
      bash "$TBB" "$w" "$n" | tag tbb >> "$LINES"
      "$BENCH" "$w" --n "$n" --scheduler threads | tag delayed >> "$LINES"
      if [ -n "$BASE_BENCH" ]; then
        "$BASE_BENCH" "$w" --n "$n" --scheduler threads | tag delayed-base >> "$LINES"
      fi
    done
  done
done

MACHINE="$(machine_line)"
python3 - "$LINES" "$MACHINE" "$REPEAT" > "$OUT/tbb-table.md" <<'EOF'
import json, sys, datetime, statistics
path, machine, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = {}
for line in open(path):
    r = json.loads(line)
    runs.setdefault((r["workload"], r["n"], r["impl"]), []).append(r)
def median(rs):
    rs = sorted(rs, key=lambda r: r["total_s"])
    return rs[len(rs) // 2]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Measured **{now}** on {machine}; load average at the end {open('/proc/loadavg').read().split()[0]}.\n")
print(f"Median of {repeat} runs each (by total_s = build + compute), every run its own process, TBB and ours alternating. µs/task = total_s / tasks.\n")
has_base = any(k[2] == "delayed-base" for k in runs)
head = "| workload | N | tasks | TBB µs/task | ours µs/task | ours ÷ TBB | ours build / compute s |"
if has_base:
    head += " before µs/task | before ÷ after |"
print(head)
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if has_base else ""))
for (w, n) in sorted({(k[0], k[1]) for k in runs}, key=lambda k: (k[0] != "tree", k[1])):
    t = median(runs[(w, n, "tbb")])
    o = median(runs[(w, n, "delayed")])
    row = f"| {w} | {n} | {o['tasks']} | {t['us_per_task']:.3f} | {o['us_per_task']:.3f} | {o['us_per_task'] / t['us_per_task']:.2f} | {o['build_s']:.3f} / {o['compute_s']:.3f} |"
    if has_base:
        b = median(runs[(w, n, "delayed-base")])
        row += f" {b['us_per_task']:.3f} | {b['us_per_task'] / o['us_per_task']:.2f}× |"
    print(row)
print("\n<details><summary>Every JSON line</summary>\n\n```json")
for line in open(path):
    print(line.rstrip())
print("```\n</details>")
EOF
cat "$OUT/tbb-table.md"
if [ "$WRITE_MD" = 1 ]; then
  write_table "$ROOT/BENCHMARKS.md" "$OUT/tbb-table.md" compare-tbb
fi
