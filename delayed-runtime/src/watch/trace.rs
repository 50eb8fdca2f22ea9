//! The task stream as a Chrome trace event file (the JSON object format), which Perfetto
//! (<https://ui.perfetto.dev>) and `chrome://tracing` open: one complete event (`"ph":"X"`)
//! per task that ran, named after its function, on the thread that ran it, with times in
//! microseconds since the compute started and the key's first 8 hex digits in `args.key`
//! (the task's label is `name-key`). A task that ran on a cluster's worker has
//! `args.where` `"cluster"`, on a track of its worker runtime's process (its own pid) and
//! thread, with the times the worker measured.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::Event;
use crate::plan::Plan;

/// Writes the trace to `path`, replacing it whole (see `atomic_file`), so a reader never
/// sees half a trace.
pub(crate) fn write(
    path: &Path,
    plan: &Plan<'_>,
    events: &[Event],
    workers: usize,
    wall: Duration,
) -> io::Result<()> {
    crate::atomic_file::write(path, |out| write_json(out, plan, events, workers, wall))
}

fn write_json(
    out: &mut impl Write,
    plan: &Plan<'_>,
    events: &[Event],
    workers: usize,
    wall: Duration,
) -> io::Result<()> {
    let mut line = String::new();
    write!(
        out,
        "{{\"displayTimeUnit\":\"ms\",\"otherData\":{{\"tool\":\"delayed\",\"tasks\":{},\"workers\":{workers},\"wall_us\":{}}},\n\"traceEvents\":[\n",
        events.len(),
        micros(super::nanos(wall))
    )?;
    writeln!(
        out,
        "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{{\"name\":\"delayed compute\"}}}},"
    )?;
    // A track per thread: this process's (pid 1), and each cluster worker runtime's (its
    // own process id) when the workers sent their tasks' times.
    let mut tracks: Vec<(u32, u32)> = events.iter().map(|e| (e.process, e.tid)).collect();
    tracks.sort_unstable();
    tracks.dedup();
    for (i, &(process, tid)) in tracks.iter().enumerate() {
        let pid = trace_pid(process);
        if process != 0 && (i == 0 || tracks[i - 1].0 != process) {
            writeln!(
                out,
                "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":\"worker runtime {process}\"}}}},"
            )?;
        }
        let name = match (process, tid) {
            (0, 0) => "caller".to_owned(),
            (_, i) => format!("worker {}", i.saturating_sub(1)),
        };
        writeln!(
            out,
            "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":\"{name}\"}}}},"
        )?;
    }
    // One line per task, built in one reused buffer (traces of a million tasks are
    // common): {"name":"inc","ph":"X","pid":1,"tid":1,"ts":1.5,"dur":0.2,"args":{"key":"…"}}
    for (i, e) in events.iter().enumerate() {
        let node = plan.task(e.task);
        line.clear();
        line.push_str("{\"name\":");
        push_json_str(&mut line, node.name());
        let pid = trace_pid(e.process);
        let _ = write!(
            line,
            ",\"ph\":\"X\",\"pid\":{pid},\"tid\":{},\"ts\":",
            e.tid
        );
        push_micros(&mut line, e.start_ns);
        line.push_str(",\"dur\":");
        push_micros(&mut line, e.dur_ns);
        line.push_str(",\"args\":{\"key\":\"");
        for &byte in &node.key().as_bytes()[..4] {
            line.push(HEX[usize::from(byte >> 4)] as char);
            line.push(HEX[usize::from(byte & 15)] as char);
        }
        line.push('"');
        if e.cluster {
            line.push_str(",\"where\":\"cluster\"");
        }
        line.push_str("}}");
        if i + 1 < events.len() {
            line.push(',');
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.write_all(b"]}\n")
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The trace's process of an event: 1 for this one, the runtime's pid for a worker's.
fn trace_pid(process: u32) -> u32 {
    if process == 0 {
        1
    } else {
        process
    }
}

/// Nanoseconds as microseconds with three decimals (`12.345`), exactly.
fn micros(ns: u64) -> String {
    let mut s = String::new();
    push_micros(&mut s, ns);
    s
}

fn push_micros(out: &mut String, ns: u64) {
    let _ = write!(out, "{}.{:03}", ns / 1000, ns % 1000);
}

/// `s` as a JSON string literal.
pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é<T>");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é<T>""#);
    }

    #[test]
    fn micros_are_exact() {
        assert_eq!(micros(0), "0.000");
        assert_eq!(micros(1_234_567), "1234.567");
        assert_eq!(micros(5), "0.005");
    }
}
