#!/usr/bin/env python3
"""The side-by-side table of scripts/compare-dask.sh, as Markdown on stdout.

    compare_table.py DASK.jsonl OURS.jsonl "machine text" REPEAT DASK_FRESH_MAX [TBB.jsonl]
"""
import datetime
import json
import sys


def load(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def fmt_us(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}".replace(",", " ")
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:,.0f}×".replace(",", " ") if r >= 10 else f"{r:.1f}×"


def main():
    dask_path, ours_path, machine, repeat, fresh_max = sys.argv[1:6]
    tbb_rows = load(sys.argv[6]) if len(sys.argv) > 6 else []
    tbb = {(r["workload"], r["n"]): r for r in tbb_rows}
    dask = {(r["workload"], r["scheduler"], r["n"]): r for r in load(dask_path)}
    ours = load(ours_path)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    out.append(f"Measured **{now}** on {machine}.")
    out.append("")
    out.append(
        f"Ours: median of {repeat} runs by total_s (each its own process). dask: one run, "
        f"fresh in this run up to N = {fresh_max}; larger N come from the measured "
        "`shared/bench/dask_results.jsonl` (column *dask from*). µs/task = total_s / tasks "
        "(build + compute). ratio = dask µs/task ÷ ours; on rows where dask has no figure, "
        "the ratio is against dask's per-task cost at its largest finished N of the same "
        "workload (in brackets). TBB: oneTBB's flow graph on the same `tree`/`chain` "
        "(`shared/bench/tbb/run.sh`, 2 threads, no hashing, no dedup), median of the same "
        "number of runs; ours ÷ TBB below 1 means we are faster. eager s (histogram): the "
        "same functions called eagerly one pair after another on one thread, in the same "
        "process right after the lazy run (checked equal); vs eager = eager s ÷ ours "
        "total_s, the lazy run's speedup over it. build µs/task = build_s / tasks."
    )
    out.append("")
    out.append(
        "| workload | sched | N | tasks dask / ours | dask µs/task | TBB µs/task | ours µs/task | ratio "
        "| ours ÷ TBB | dask total_s | ours total_s | ours build µs/task | ours eager s | vs eager "
        "| ours peak RSS MB | check equal | dask from |"
    )
    out.append(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | --- | --- |"
    )
    lines = []
    best_dask = {}
    for o in ours:
        key = (o["workload"], o["scheduler"], o["n"])
        d = dask.get(key)
        d_ok = d is not None and "us_per_task" in d
        if d_ok:
            best_dask[(o["workload"], o["scheduler"])] = d
        ratio, note = None, ""
        if d_ok:
            ratio = d["us_per_task"] / o["us_per_task"]
        else:
            ref = best_dask.get((o["workload"], o["scheduler"]))
            if ref is not None:
                ratio = ref["us_per_task"] / o["us_per_task"]
                note = f" (vs N={ref['n']})"
        if d is None:
            d_status = "—"
        elif d_ok:
            d_status = d.get("source", "")
        else:
            d_status = f"{d.get('status', '?')} ({d.get('source', '')})"
        check = "—"
        if d_ok:
            check = "yes" if d["check"] == o["check"] else "**NO**"
        extra = ""
        if o["workload"] == "sleep":
            extra = f" (efficiency {o['efficiency']:.4f}"
            if d_ok:
                extra += f"; dask {d['efficiency']:.4f}"
            extra += ")"
        t = tbb.get((o["workload"], o["n"])) if o["scheduler"] == "threads" else None
        vs_tbb = f"{o['us_per_task'] / t['us_per_task']:.2f}" if t else "—"
        build_us = fmt_us(o.get("build_us_per_task"))
        eager_s = o.get("eager_s", "—")
        vs_eager = f"{o['vs_eager']:.2f}×" if "vs_eager" in o else "—"
        out.append(
            f"| {o['workload']} | {o['scheduler']} | {o['n']} | "
            f"{d['tasks'] if d_ok else '—'} / {o['tasks']} | "
            f"{fmt_us(d['us_per_task']) if d_ok else '—'} | "
            f"{fmt_us(t['us_per_task']) if t else '—'} | {fmt_us(o['us_per_task'])} | "
            f"{fmt_ratio(ratio)}{note}{extra} | {vs_tbb} | "
            f"{d['total_s'] if d_ok else '—'} | {o['total_s']} | {build_us} | {eager_s} | "
            f"{vs_eager} | {o['peak_rss_mb']} | "
            f"{check} | {d_status} |"
        )
        if d is not None:
            lines.append(json.dumps(d))
        if t is not None:
            lines.append(json.dumps(t))
        lines.append(json.dumps(o))
    out.append("")
    out.append("<details><summary>The JSON lines, dask, TBB, then ours, per configuration</summary>")
    out.append("")
    out.append("```json")
    out.extend(lines)
    out.append("```")
    out.append("")
    out.append("</details>")
    out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
