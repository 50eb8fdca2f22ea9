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

# tag_json FIELD VALUE: the JSON lines of stdin with FIELD set to VALUE; other lines
# (a build's chatter) dropped.
tag_json() {
  python3 -c 'import sys, json
for line in sys.stdin:
    if line.startswith("{"):
        r = json.loads(line)
        r[sys.argv[1]] = sys.argv[2]
        print(json.dumps(r))' "$1" "$2"
}

# One line on the machine, for the tables' headers.
machine_line() {
  echo "$(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
}

# write_table FILE.md TABLE.md NAME: replaces what stands between <!-- NAME:begin --> and
# <!-- NAME:end --> in FILE.md by TABLE.md (markers appended when missing; the file
# created when it does not exist).
write_table() {
  python3 - "$1" "$2" "$3" <<'EOF_PY'
import sys
md_path, table_path, name = sys.argv[1:4]
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
table = open(table_path).read()
try:
    md = open(md_path).read()
except FileNotFoundError:
    md = "# Benchmarks\n"
if begin not in md or end not in md:
    md = md.rstrip("\n") + "\n\n" + begin + "\n" + end + "\n"
head, rest = md.split(begin, 1)
_, tail = rest.split(end, 1)
open(md_path, "w").write(head + begin + "\n" + table + end + tail)
EOF_PY
  echo "wrote the table into $(basename "$1")" >&2
}
