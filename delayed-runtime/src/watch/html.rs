//! The performance report ([`Scheduler::performance_report`](crate::Scheduler::performance_report))
//! of a local compute: one self-contained HTML page (inline SVG and CSS, no script, no
//! network), from the same events as the trace and the [`Report`].
//!
//! The task stream has a lane per thread and a bar per task, coloured by function, while
//! the compute has at most [`BARS`] tasks. Above that it is binned so the file stays
//! small whatever the graph: each lane is cut into [`COLUMNS`] columns of equal time, and
//! each column is drawn in the colour of the function that ran longest in it, as dense
//! as the lane was busy (a few hundred kB for a million tasks).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use super::{Event, Report};
use crate::graph::node::Node;
use crate::plan::{Plan, CONST};

/// Up to this many tasks, one bar each; above, the stream is binned.
pub(crate) const BARS: usize = 5_000;
/// Columns of a binned lane, and points of the curves over time.
const COLUMNS: usize = 1_000;
/// Graphs up to this many nodes are drawn in the report.
const PICTURE_NODES: usize = 300;
/// The drawing's width in SVG units.
const WIDTH: f64 = 1000.0;
const LANE: f64 = 18.0;
/// Room for the lanes' names, left of the time axis (the curves keep the same axis).
const LABEL: f64 = 90.0;

/// Writes the report of one compute to `path`, replacing it whole.
pub(crate) fn write(
    path: &Path,
    plan: &Plan<'_>,
    roots: &[&Arc<Node>],
    events: &[Event],
    report: &Report,
) -> io::Result<()> {
    let page = page(plan, roots, events, report);
    crate::atomic_file::write(path, |out| out.write_all(page.as_bytes()))
}

/// One function's row: calls, total and longest time (ns).
#[derive(Default, Clone, Copy)]
struct Row {
    calls: u64,
    total: u64,
    max: u64,
}

fn page(plan: &Plan<'_>, roots: &[&Arc<Node>], events: &[Event], report: &Report) -> String {
    let wall = (super::nanos(report.wall)).max(1);
    let mut rows: HashMap<&str, Row> = HashMap::new();
    for e in events {
        let row = rows.entry(plan.task(e.task).name()).or_default();
        row.calls += 1;
        row.total = row.total.saturating_add(e.dur_ns);
        row.max = row.max.max(e.dur_ns);
    }
    let mut rows: Vec<(&str, Row)> = rows.into_iter().collect();
    rows.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(b.0)));
    let colour: HashMap<&str, String> = (rows.iter().enumerate())
        .map(|(i, (name, _))| (*name, palette(i)))
        .collect();

    let mut html = String::with_capacity(64 * 1024);
    html.push_str(HEAD);
    let _ = write!(
        html,
        "<h1>delayed performance report</h1>\n<p class=\"sub\">{} tasks in {} on {} {}</p>\n",
        report.tasks_run,
        duration(super::nanos(report.wall)),
        report.workers,
        if report.workers == 1 {
            "thread"
        } else {
            "threads"
        },
    );
    summary(&mut html, report);
    html.push_str("<h2>Task stream</h2>\n");
    stream(&mut html, plan, events, wall, &colour);
    html.push_str("<h2>Functions</h2>\n");
    functions(&mut html, &rows, &colour);
    html.push_str("<h2>Tasks running</h2>\n");
    let running = running(events, wall);
    curve(&mut html, "running", &running, wall, "tasks");
    html.push_str("<h2>Results held</h2>\n");
    let held = held(plan, events, wall);
    curve(&mut html, "held", &held, wall, "results");
    picture(&mut html, plan, roots);
    html.push_str("</body>\n</html>\n");
    html
}

const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>delayed performance report</title>\n<style>\n\
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\n\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px}\n\
.sub{color:#555;margin-top:0}\n\
table{border-collapse:collapse}td,th{padding:3px 12px;text-align:right;border-bottom:1px solid #ddd}\n\
td:first-child,th:first-child{text-align:left}\n\
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}\n\
svg{display:block;margin:6px 0}svg text{font-size:11px;fill:#444}\n\
.note{color:#666;font-size:13px}\n\
</style>\n</head>\n<body>\n";

fn summary(html: &mut String, report: &Report) {
    html.push_str("<table class=\"summary\">\n");
    let mut row = |what: &str, value: String| {
        let _ = writeln!(html, "<tr><td>{what}</td><td>{value}</td></tr>");
    };
    row("tasks run", report.tasks_run.to_string());
    row("calls saved by dedup", report.deduplicated.to_string());
    row("cache hits", report.cache_hits.to_string());
    row("wall time", duration(super::nanos(report.wall)));
    row("threads", report.workers.to_string());
    row(
        "most results held at once",
        report.peak_live_results.to_string(),
    );
    if report.tasks_on_cluster > 0 {
        row("tasks on the cluster", report.tasks_on_cluster.to_string());
        row("bytes to the cluster", report.bytes_to_cluster.to_string());
        row(
            "bytes from the cluster",
            report.bytes_from_cluster.to_string(),
        );
    }
    html.push_str("</table>\n");
}

/// The task stream: a lane per (process, thread), a bar per task or a binned lane.
fn stream(
    html: &mut String,
    plan: &Plan<'_>,
    events: &[Event],
    wall: u64,
    colour: &HashMap<&str, String>,
) {
    let mut lanes: Vec<(u32, u32)> = events.iter().map(|e| (e.process, e.tid)).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let lane_of: HashMap<(u32, u32), usize> =
        lanes.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    let label = LABEL;
    let height = LANE * lanes.len().max(1) as f64 + 20.0;
    let _ = writeln!(
        html,
        "<svg id=\"task-stream\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">",
        WIDTH + label,
        WIDTH + label
    );
    for (i, &(process, tid)) in lanes.iter().enumerate() {
        let name = match (process, tid) {
            (0, 0) => "caller".to_owned(),
            (0, t) => format!("thread {t}"),
            (p, t) => format!("{p} · {t}"),
        };
        let _ = writeln!(
            html,
            "<text x=\"0\" y=\"{}\">{name}</text>",
            LANE * i as f64 + 13.0
        );
    }
    let x = |ns: u64| label + ns as f64 / wall as f64 * WIDTH;
    if events.len() <= BARS {
        for e in events {
            let node = plan.task(e.task);
            let y = LANE * lane_of[&(e.process, e.tid)] as f64 + 2.0;
            let w = (e.dur_ns as f64 / wall as f64 * WIDTH).max(0.5);
            let _ = writeln!(
                html,
                "<rect class=\"task\" x=\"{:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\" fill=\"{}\"><title>{} ({})</title></rect>",
                x(e.start_ns),
                LANE - 4.0,
                colour[node.name()],
                escape(&node.label()),
                duration(e.dur_ns)
            );
        }
    } else {
        binned(html, plan, events, wall, (&lane_of, label), colour);
    }
    let _ = writeln!(
        html,
        "<text x=\"{label}\" y=\"{}\">0</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n</svg>",
        height - 4.0,
        WIDTH + label,
        height - 4.0,
        duration(wall)
    );
    if events.len() > BARS {
        let _ = writeln!(
            html,
            "<p class=\"note\">{} tasks: binned into {COLUMNS} columns per lane; each column has the colour of the function that ran longest in it, its opacity how busy the lane was.</p>",
            events.len()
        );
    }
}

/// A lane cut into columns: per column, the busy time of each function in it.
fn binned(
    html: &mut String,
    plan: &Plan<'_>,
    events: &[Event],
    wall: u64,
    (lane_of, label): (&HashMap<(u32, u32), usize>, f64),
    colour: &HashMap<&str, String>,
) {
    let mut busy: Vec<HashMap<&str, u64>> = vec![HashMap::new(); lane_of.len() * COLUMNS];
    for e in events {
        let lane = lane_of[&(e.process, e.tid)];
        let name = plan.task(e.task).name();
        for_columns(e.start_ns, e.dur_ns, wall, |column, ns| {
            *busy[lane * COLUMNS + column].entry(name).or_default() += ns;
        });
    }
    let span = wall as f64 / COLUMNS as f64;
    let w = WIDTH / COLUMNS as f64;
    for (i, column) in busy.iter().enumerate() {
        let Some((name, _)) = column.iter().max_by_key(|(name, &ns)| (ns, *name)) else {
            continue;
        };
        let total: u64 = column.values().sum();
        let (lane, c) = (i / COLUMNS, i % COLUMNS);
        let _ = writeln!(
            html,
            "<rect class=\"bin\" x=\"{:.2}\" y=\"{}\" width=\"{w:.2}\" height=\"{}\" fill=\"{}\" fill-opacity=\"{:.2}\"/>",
            label + c as f64 * w,
            LANE * lane as f64 + 2.0,
            LANE - 4.0,
            colour[name],
            (total as f64 / span).clamp(0.15, 1.0)
        );
    }
}

/// Calls `f(column, ns)` for each column of `wall / COLUMNS` that `[start, start + dur)`
/// overlaps, with the time it spends in it.
fn for_columns(start: u64, dur: u64, wall: u64, mut f: impl FnMut(usize, u64)) {
    let span = (wall / COLUMNS as u64).max(1);
    let end = start.saturating_add(dur.max(1));
    let mut c = (start / span) as usize;
    while c < COLUMNS {
        let (lo, hi) = (c as u64 * span, (c as u64 + 1) * span);
        if lo >= end {
            break;
        }
        f(c, end.min(hi) - start.max(lo));
        c += 1;
    }
}

/// Tasks running, averaged over each column of time.
fn running(events: &[Event], wall: u64) -> Vec<f64> {
    let mut busy = vec![0u64; COLUMNS];
    for e in events {
        for_columns(e.start_ns, e.dur_ns, wall, |c, ns| busy[c] += ns);
    }
    let span = (wall / COLUMNS as u64).max(1) as f64;
    busy.into_iter().map(|ns| ns as f64 / span).collect()
}

/// Results held (computed, some reader still to run, or a root), averaged over each
/// column of time: each result from its task's end to its last reader's end. A node that
/// is not timed (the crate's own `collect`) passes its readers' ends on to its inputs.
fn held(plan: &Plan<'_>, events: &[Event], wall: u64) -> Vec<f64> {
    let mut end = vec![None; plan.len()];
    for e in events {
        end[e.task as usize] = Some(e.start_ns.saturating_add(e.dur_ns));
    }
    let mut release = vec![0u64; plan.len()];
    for &r in plan.roots() {
        release[r as usize] = wall;
    }
    // Readers come after their inputs in the plan: from the last, each node's release is
    // known before its inputs are visited.
    for t in (0..plan.len() as u32).rev() {
        let read_until = end[t as usize].unwrap_or(release[t as usize]);
        for &s in plan.sources_of(t) {
            if s != CONST {
                release[s as usize] = release[s as usize].max(read_until);
            }
        }
    }
    let mut held = vec![0u64; COLUMNS];
    for (t, end) in end.iter().enumerate() {
        if let Some(end) = *end {
            let until = release[t].max(end);
            for_columns(end, until - end, wall, |c, ns| held[c] += ns);
        }
    }
    let span = (wall / COLUMNS as u64).max(1) as f64;
    held.into_iter().map(|ns| ns as f64 / span).collect()
}

/// A curve over the compute's time, with its peak written on it.
fn curve(html: &mut String, id: &str, points: &[f64], wall: u64, unit: &str) {
    let height = 80.0;
    let peak = points.iter().copied().fold(0.0f64, f64::max);
    let scale = if peak > 0.0 {
        (height - 14.0) / peak
    } else {
        0.0
    };
    let step = WIDTH / points.len().max(1) as f64;
    let mut path = format!("M{LABEL},{height}");
    for (i, &v) in points.iter().enumerate() {
        let y = height - v * scale;
        let (x0, x1) = (LABEL + i as f64 * step, LABEL + (i + 1) as f64 * step);
        let _ = write!(path, " L{x0:.1},{y:.1} L{x1:.1},{y:.1}");
    }
    let _ = write!(path, " L{},{height} Z", LABEL + WIDTH);
    let full = LABEL + WIDTH;
    let _ = writeln!(
        html,
        "<svg id=\"{id}\" width=\"{full}\" height=\"{}\" viewBox=\"0 0 {full} {}\">\n<path d=\"{path}\" fill=\"#4c78a8\" fill-opacity=\"0.5\" stroke=\"#4c78a8\"/>\n<text x=\"0\" y=\"{}\">peak {peak:.1}</text><text x=\"0\" y=\"{}\">{unit}</text><text x=\"{full}\" y=\"{}\" text-anchor=\"end\">{}</text>\n</svg>",
        height + 14.0,
        height + 14.0,
        height - (height - 14.0) + 2.0,
        height - (height - 14.0) + 15.0,
        height + 12.0,
        duration(wall)
    );
}

fn functions(html: &mut String, rows: &[(&str, Row)], colour: &HashMap<&str, String>) {
    html.push_str(
        "<table class=\"functions\">\n<tr><th>function</th><th>calls</th><th>total</th><th>mean</th><th>max</th></tr>\n",
    );
    for (name, row) in rows {
        let _ = writeln!(
            html,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            colour[name],
            escape(name),
            row.calls,
            duration(row.total),
            duration(row.total / row.calls.max(1)),
            duration(row.max)
        );
    }
    html.push_str("</table>\n");
}

/// The graph's picture, when it is small enough to read.
fn picture(html: &mut String, plan: &Plan<'_>, roots: &[&Arc<Node>]) {
    #[cfg(feature = "visualize")]
    if plan.len() <= PICTURE_NODES {
        if let Some(svg) = crate::render::svg_of(roots, PICTURE_NODES) {
            html.push_str("<h2>Graph</h2>\n<div id=\"graph\">");
            // The drawing's own XML declaration has no place inside HTML.
            let start = svg.find("<svg").unwrap_or(0);
            html.push_str(&svg[start..]);
            html.push_str("</div>\n");
        }
    }
    let _ = (html, plan, roots, PICTURE_NODES);
}

/// Distinct colours for the functions, longest total first.
fn palette(i: usize) -> String {
    const BASE: [&str; 10] = [
        "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
        "#9d755d", "#bab0ac",
    ];
    match BASE.get(i) {
        Some(c) => (*c).to_owned(),
        None => format!("hsl({}, 55%, 55%)", (i * 137) % 360),
    }
}

fn duration(ns: u64) -> String {
    let d = std::time::Duration::from_nanos(ns);
    format!("{d:.2?}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_split_a_task_by_its_time_in_each() {
        let mut got = Vec::new();
        // wall 1000 ns: columns of 1 ns; a task from 10 for 3 ns.
        for_columns(10, 3, 1000, |c, ns| got.push((c, ns)));
        assert_eq!(got, [(10, 1), (11, 1), (12, 1)]);
        let mut total = 0;
        for_columns(0, 10_000, 10_000, |_, ns| total += ns);
        assert_eq!(total, 10_000);
    }

    #[test]
    fn escaped() {
        assert_eq!(escape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
