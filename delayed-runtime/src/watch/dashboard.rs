//! [`Dashboard`]: a page in the browser that follows computes while they run (feature
//! `dashboard`).
//!
//! One thread of its own serves the page and, four times a second, reads what the
//! running computes recorded since the last time (the same per-thread event buffers the
//! trace and the report are made from; their workers never wait for it): tasks done per
//! function, the task stream of the last seconds, the results held and the process's
//! memory. The page (`dashboard.html`, no network) asks for that state as JSON twice a
//! second. A compute with a dashboard records its tasks' times, as with a trace; with
//! 4096 tasks or more and no trace or report (which need every task), one task in 16
//! (chosen by a hash of its index), so watching costs no more than noise: its counts per
//! function are then estimates while it runs (exact once it has succeeded), its task
//! stream a sample, and the results it holds are not counted (the page then shows
//! resident memory only).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Event, Recorder};
use crate::graph::node::Body;
use crate::plan::Plan;

/// The page, with its script and style inline.
const PAGE: &str = include_str!("dashboard.html");
/// How often the running computes are read.
const TICK: Duration = Duration::from_millis(250);
/// Task-stream bars kept (the last seconds of a busy compute).
const STREAM: usize = 4_000;
/// Memory samples kept: two minutes at four a second.
const SAMPLES: usize = 480;
/// Computes listed (the running ones and the latest finished).
const COMPUTES: usize = 40;

/// A live dashboard in the browser: the computes of every scheduler given it with
/// [`Scheduler::dashboard`](crate::Scheduler::dashboard), with their progress per
/// function, the task stream of the last seconds, the results held and the process's
/// memory, updated while they run. Nothing to install: the page is served by this
/// process, and needs no network.
///
/// The server runs on a thread of its own until the `Dashboard` is dropped.
///
/// ```
/// use delayed_runtime::{value, Dashboard, Scheduler};
/// let dash = Dashboard::start("127.0.0.1:0")?; // port 0: any free port
/// assert!(dash.link().starts_with("http://127.0.0.1:"));
/// let sched = Scheduler::new().dashboard(&dash);
/// assert_eq!((value(20i64) + 1).compute_with(&sched)?, 21);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dashboard {
    pub(crate) board: Arc<Board>,
    address: SocketAddr,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dashboard({})", self.link())
    }
}

impl Dashboard {
    /// Starts serving the dashboard at `address` (`"127.0.0.1:8787"`; port 0 takes any
    /// free port; a bare port such as `"8787"` means loopback). It binds where it is
    /// told: loopback unless you name another interface (the page shows your task
    /// names to whoever can reach it). A port in use is an error naming it.
    pub fn start(address: &str) -> std::io::Result<Dashboard> {
        let text = address.trim();
        let with_host = match text.parse::<u16>() {
            Ok(port) => format!("127.0.0.1:{port}"),
            Err(_) => text.to_owned(),
        };
        let addr = (with_host.to_socket_addrs())
            .map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("dashboard address {address:?}: {e} (write it as 127.0.0.1:8787)"),
                )
            })?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("dashboard address {address:?} names no address"),
                )
            })?;
        let listener = TcpListener::bind(addr).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    ": another program uses it; choose another port, or 0 for any free one"
                }
                _ => "",
            };
            std::io::Error::new(
                e.kind(),
                format!("cannot serve the dashboard at {addr}: {e}{hint}"),
            )
        })?;
        let address = listener.local_addr()?;
        let server = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| std::io::Error::other(format!("cannot serve the dashboard: {e}")))?;
        let server = Arc::new(server);
        let board = Arc::new(Board::new(format!("http://{address}/")));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, board, stop) = (server.clone(), board.clone(), stop.clone());
            std::thread::Builder::new()
                .name("delayed-dashboard".into())
                .spawn(move || serve(&server, &board, &stop))?
        };
        Ok(Dashboard {
            board,
            address,
            server,
            stop,
            thread: Some(thread),
        })
    }

    /// The page's address, such as `http://127.0.0.1:8787/`.
    pub fn link(&self) -> String {
        self.board.link.clone()
    }

    /// The address it listens on (the port chosen, when asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers requests, and reads the running computes every [`TICK`], until stopped.
fn serve(server: &tiny_http::Server, board: &Board, stop: &AtomicBool) {
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let wait = next.saturating_duration_since(Instant::now());
        match server.recv_timeout(wait) {
            Ok(Some(request)) => answer(request, board),
            Ok(None) => {}
            Err(_) => std::thread::sleep(TICK), // a failed accept: try again later
        }
        if Instant::now() >= next {
            board.tick();
            next = Instant::now() + TICK;
        }
    }
}

fn answer(request: tiny_http::Request, board: &Board) {
    let (body, kind, status) = match request.url() {
        "/" | "/index.html" => (PAGE.to_owned(), "text/html; charset=utf-8", 200),
        "/api/state" => (board.json(), "application/json", 200),
        _ => ("not found".to_owned(), "text/plain", 404),
    };
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", kind))
        .with_header(header("Cache-Control", "no-store"));
    // A browser that went away: nothing to do.
    let _ = request.respond(response);
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    match tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
        Ok(header) => header,
        // Only reached with a malformed constant above.
        Err(()) => tiny_http::Header::from_bytes(&b"X-Invalid"[..], &b"1"[..])
            .unwrap_or_else(|()| unreachable!("a valid header")),
    }
}

/// What the dashboard knows: the computes, the recent task stream, memory over time.
pub(crate) struct Board {
    /// The page's address.
    link: String,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    computes: VecDeque<Compute>,
    next_id: u64,
    /// Recent bars: compute id, lane (thread), function name, start and duration (s since
    /// the dashboard started).
    stream: VecDeque<(u64, u32, &'static str, f64, f64)>,
    /// Time (s), results held (-1 when not counted), resident memory (bytes).
    memory: VecDeque<(f64, i64, u64)>,
}

struct Compute {
    id: u64,
    what: String,
    /// Since the dashboard started.
    started: f64,
    ended: Option<f64>,
    error: Option<String>,
    /// Each function's name, tasks done and tasks in all.
    functions: Vec<(&'static str, u64, u64)>,
    /// While it runs: its recorder, each task's function, how far each buffer was read.
    running: Option<Running>,
}

struct Running {
    recorder: Arc<Recorder>,
    function_of: Vec<u32>,
    read: Vec<usize>,
    /// The compute's start, for its events' times.
    epoch: Instant,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Board({})", self.link)
    }
}

impl Board {
    /// The page's address.
    pub(crate) fn link(&self) -> &str {
        &self.link
    }

    fn new(link: String) -> Board {
        Board {
            link,
            started: Instant::now(),
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A compute of `plan` described as `what` starts, recording into `recorder`: its
    /// entry on the board, which ends it when dropped (as failed, if not ended before).
    pub(crate) fn begin(
        self: &Arc<Board>,
        plan: &Plan<'_>,
        what: String,
        recorder: Arc<Recorder>,
    ) -> Entry {
        let mut index: HashMap<&'static str, u32> = HashMap::new();
        let mut functions: Vec<(&'static str, u64, u64)> = Vec::new();
        // Most graphs call a handful of functions: their names are found by address among
        // the first few seen before any hashing.
        let mut recent: Vec<(&'static str, u32)> = Vec::with_capacity(8);
        let function_of: Vec<u32> = (plan.tasks().iter())
            .map(|node| {
                if !matches!(node.body(), Body::Task(_)) || node.is_collect() {
                    return u32::MAX;
                }
                let name = node.name();
                let seen = recent.iter().find(|(n, _)| std::ptr::eq(*n, name));
                let i = match seen {
                    Some(&(_, i)) => i,
                    None => {
                        let i = *index.entry(name).or_insert_with(|| {
                            functions.push((name, 0, 0));
                            functions.len() as u32 - 1
                        });
                        if recent.len() < 8 {
                            recent.push((name, i));
                        }
                        i
                    }
                };
                functions[i as usize].2 += 1;
                i
            })
            .collect();
        let epoch = recorder.epoch;
        let read = vec![0; recorder.buffers.len()];
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.computes.push_back(Compute {
            id,
            what,
            started: epoch.saturating_duration_since(self.started).as_secs_f64(),
            ended: None,
            error: None,
            functions,
            running: Some(Running {
                recorder,
                function_of,
                read,
                epoch,
            }),
        });
        while state.computes.len() > COMPUTES {
            let finished = state.computes.iter().position(|c| c.running.is_none());
            match finished {
                Some(i) => drop(state.computes.remove(i)),
                None => break,
            }
        }
        Entry {
            board: self.clone(),
            id,
            open: true,
        }
    }

    /// Compute `id` has ended (with `error`, if it failed): read for the last time.
    fn end(&self, id: u64, error: Option<String>) {
        let now = self.started.elapsed().as_secs_f64();
        let mut state = self.lock();
        let State {
            computes, stream, ..
        } = &mut *state;
        if let Some(compute) = computes.iter_mut().find(|c| c.id == id) {
            self.read(compute, stream);
            // Sampled counts were estimates: a compute that succeeded ran every task.
            if error.is_none() {
                for function in &mut compute.functions {
                    function.1 = function.2;
                }
            }
            compute.running = None;
            compute.ended = Some(now);
            compute.error = error;
        }
    }

    /// Reads what the running computes recorded since the last tick; samples memory.
    fn tick(&self) {
        let mut state = self.lock();
        let State {
            computes,
            stream,
            memory,
            ..
        } = &mut *state;
        // Results held, summed over the running computes that count them (-1: none does).
        let mut held: Option<usize> = None;
        for compute in computes.iter_mut() {
            self.read(compute, stream);
            if let Some(now) = (compute.running.as_ref()).and_then(|r| r.recorder.live_now()) {
                held = Some(held.unwrap_or(0) + now);
            }
        }
        let held = held.map_or(-1, |h| h as i64);
        memory.push_back((self.started.elapsed().as_secs_f64(), held, resident_bytes()));
        while memory.len() > SAMPLES {
            memory.pop_front();
        }
    }

    /// Takes in the events `compute` recorded since it was last read.
    fn read(
        &self,
        compute: &mut Compute,
        stream: &mut VecDeque<(u64, u32, &'static str, f64, f64)>,
    ) {
        let Some(running) = &mut compute.running else {
            return;
        };
        let offset = running
            .epoch
            .saturating_duration_since(self.started)
            .as_secs_f64();
        let mut fresh: Vec<Event> = Vec::new();
        for (buffer, read) in running.recorder.buffers.iter().zip(&mut running.read) {
            let events = buffer.0.lock().unwrap_or_else(PoisonError::into_inner);
            if events.len() > *read {
                fresh.extend_from_slice(&events[*read..]);
                *read = events.len();
            }
        }
        for e in &fresh {
            let Some(&f) = running.function_of.get(e.task as usize) else {
                continue;
            };
            if let Some(function) = compute.functions.get_mut(f as usize) {
                // One event stands for `1 << sample_bits` tasks (see `dashboard_sampling`).
                function.1 = (function.1 + (1u64 << running.recorder.sample_bits)).min(function.2);
                let start = offset + e.start_ns as f64 * 1e-9;
                stream.push_back((compute.id, e.tid, function.0, start, e.dur_ns as f64 * 1e-9));
            }
        }
        while stream.len() > STREAM {
            stream.pop_front();
        }
    }

    /// The state the page draws, as JSON.
    fn json(&self) -> String {
        let now = self.started.elapsed().as_secs_f64();
        let state = self.lock();
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(out, "{{\"now\":{now:.3},\"computes\":[");
        for (i, c) in state.computes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let status = match (&c.running, &c.error) {
                (Some(_), _) => "running",
                (None, None) => "done",
                (None, Some(_)) => "failed",
            };
            let (done, total) = (c.functions.iter()).fold((0, 0), |(d, t), f| (d + f.1, t + f.2));
            let _ = write!(
                out,
                "{{\"id\":{},\"what\":{},\"state\":\"{status}\",\"error\":{},\"started\":{:.3},\"ended\":{},\"done\":{done},\"total\":{total},\"functions\":[",
                c.id,
                quoted(&c.what),
                c.error.as_deref().map_or("null".to_owned(), quoted),
                c.started,
                c.ended.map_or("null".to_owned(), |t| format!("{t:.3}")),
            );
            for (j, (name, done, total)) in c.functions.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},{done},{total}]", quoted(name));
            }
            out.push_str("]}");
        }
        out.push_str("],\"stream\":[");
        let since = now - 10.0;
        let mut first = true;
        for &(id, lane, name, start, dur) in &state.stream {
            if start + dur < since {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "[{id},{lane},{},{start:.4},{dur:.4}]", quoted(name));
        }
        out.push_str("],\"memory\":[");
        for (i, (t, held, rss)) in state.memory.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "[{t:.2},{held},{rss}]");
        }
        out.push_str("]}");
        out
    }
}

/// A compute's place on a board, from its start to its end.
pub(crate) struct Entry {
    board: Arc<Board>,
    id: u64,
    open: bool,
}

impl Entry {
    /// The compute has ended, with `error` if it failed.
    pub(crate) fn end(mut self, error: Option<String>) {
        self.open = false;
        self.board.end(self.id, error);
    }
}

impl Drop for Entry {
    /// A compute that unwound (a panic outside any task) is not left running.
    fn drop(&mut self) {
        if self.open {
            let error = "the compute ended without a result (a panic)".to_owned();
            self.board.end(self.id, Some(error));
        }
    }
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    super::trace::push_json_str(&mut out, text);
    out
}

/// This process's resident memory, in bytes (0 where `/proc` is not there).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = (statm.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(quoted("a\"b\\c\n<"), "\"a\\\"b\\\\c\\n<\"");
    }

    #[test]
    fn a_port_in_use_is_a_clear_error() {
        let first = Dashboard::start("127.0.0.1:0").unwrap();
        let port = first.address().port();
        let e = Dashboard::start(&format!("127.0.0.1:{port}")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains("choose another port"), "{e}");
        // A bare port means loopback.
        let bare = Dashboard::start("0").unwrap();
        assert!(bare.address().ip().is_loopback());
    }
}
