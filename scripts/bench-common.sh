# Shared by the comparison scripts (source it): building the bench program and keeping
# the median of several runs.

# Builds benches/workloads.rs (release) and prints the path of its executable.
bench_program() {
  echo "building the bench program" >&2
  local bench
  bench="$(cargo bench --bench workloads --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "workloads" and m.get("executable"):
        print(m["executable"])')"
  [ -x "$bench" ] || { echo "could not build benches/workloads.rs" >&2; return 1; }
  echo "$bench"
}

# The JSON lines of stdin (other lines dropped) → the median one by total_s, with the
# number of runs and every run's total_s added.
median_line() {
  python3 -c 'import sys, json
rs = sorted((json.loads(l) for l in sys.stdin if l.startswith("{")), key=lambda r: r["total_s"])
m = rs[len(rs) // 2]
m["runs"] = len(rs)
m["total_s_all"] = [r["total_s"] for r in rs]
print(json.dumps(m))'
}
