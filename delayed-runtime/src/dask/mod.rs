//! Running graphs on a dask.distributed cluster (feature `dask`).
//!
//! dask schedules, moves data between workers, retries lost work and serves its
//! dashboard; we drive it. No Rust crate speaks dask's protocol, so a small Python driver
//! (`driver.py`, shipped inside this crate) runs under `DELAYED_PYTHON` (default `python3`)
//! and talks to this process over its stdin/stdout in frames (`wire.rs`). It starts a
//! `LocalCluster` of worker processes ([`Cluster::local`]) or connects to a running
//! scheduler ([`Cluster::connect`]).
//!
//! A compute (`exec.rs`) cuts the planned graph into coarse partitions, each one dask
//! task. A worker plugin (in `driver.py`) gives every worker one resident runtime: this
//! very binary, where [`worker::enter`](crate::worker::enter) notices it and serves the
//! worker's partitions on one pool of its threads (`task.rs`) until the worker goes. Only
//! the values that cross partitions travel, as postcard bytes that dask moves between
//! workers.
//!
//! Every task whose body captures nothing runs on the workers (`place.rs` says which do
//! not, and why). To see where a compute ran its tasks, ask for a report (counts, and
//! the bytes that crossed), or for a trace ([`Scheduler::trace`]): each task's event there
//! has `"where": "cluster"` when it ran on a worker. Strict computes refuse the rest:
//!
//! ```no_run
//! # fn main() -> Result<(), delayed_runtime::Error> {
//! use delayed_runtime::dask::Cluster;
//! use delayed_runtime::{compute_with_report, value, Scheduler};
//! let cluster = Cluster::local(2)?;
//! let x = value(20u64).map(|x| x + 1);
//! let (v, report) = compute_with_report(&x, &Scheduler::dask(&cluster))?;
//! assert_eq!((v, report.tasks_on_cluster, report.tasks_in_driver), (21, 1, 0));
//! // Or refuse any task in this process, before anything is submitted:
//! let strict = Scheduler::dask(&cluster).strict(true);
//! # let _ = strict;
//! # Ok(())
//! # }
//! ```
//!
//! - `mod.rs`: [`Cluster`], the driver process and its protocol;
//! - `place.rs`: which task runs where, and why;
//! - `layout.rs`: phases and partitions (the cut);
//! - `payload.rs`: a partition's bytes, and the values scattered once;
//! - `exec.rs`: the executor: the flow of submitting, running here, gathering;
//! - `image.rs`: ops and codecs named by their offset in the executable;
//! - `task.rs`: the worker side of a partition;
//! - `terminal.rs`: the driver's stderr on its way to this program's;
//! - `wire.rs`: frames and records.

mod exec;
mod image;
mod layout;
mod payload;
mod place;
pub(crate) mod task;
mod terminal;
mod wire;

use std::io::{BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Error;
use crate::scheduler::Scheduler;

/// The Python program that drives dask.
const DRIVER: &str = include_str!("driver.py");

/// How long connecting to a scheduler (or starting a local cluster) may take before
/// [`Cluster::connect`] / [`Cluster::local`] give up; `DELAYED_DASK_TIMEOUT` (seconds)
/// overrides it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// A dask.distributed cluster that computes run on: `Scheduler::dask(&cluster)`.
///
/// ```no_run
/// use delayed_runtime::dask::Cluster;
/// use delayed_runtime::{value, Scheduler};
///
/// // With the `delayed` crate: `#[delayed::main]` on `main` makes this its first line.
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     delayed_runtime::worker::enter();
///     let cluster = Cluster::local(2)?; // or Cluster::connect("tcp://10.0.0.5:8786")?
///     println!("dashboard: {:?}", cluster.dashboard_link());
///     let x = value(20i64) + 1;
///     assert_eq!(x.compute_with(&Scheduler::dask(&cluster))?, 21);
///     Ok(())
/// }
/// ```
///
/// The program must call [`delayed::worker::enter`](crate::worker::enter) first thing in
/// `main` (`#[delayed::main]` does): dask's workers run this same binary to execute tasks.
///
/// Dropping the last handle (clones share one cluster) closes the client; a
/// [`local`](Cluster::local) cluster is shut down with it, its worker processes included.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    conn: Mutex<Conn>,
    turns: Turns,
    dashboard: Option<String>,
    address: String,
    /// The worker threads, as of the last compute (or the connect).
    threads: std::sync::atomic::AtomicUsize,
    version: String,
    driver_pid: u32,
    /// Numbers the computes, whose futures the driver keeps apart.
    sessions: std::sync::atomic::AtomicU64,
    /// What each function has cost on the workers so far: calls and nanoseconds.
    costs: Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

/// Turns at the driver's pipe, first come first served. A compute waiting for its
/// partitions asks again right after each reply; with a plain mutex (not fair) it would
/// take the pipe back at once, every time, and another compute on the same cluster
/// would not get to submit or to take its results until the first one ended.
#[derive(Default)]
struct Turns {
    /// The next ticket to hand out, and the ticket whose turn it is.
    tickets: Mutex<(u64, u64)>,
    next: std::sync::Condvar,
}

impl Turns {
    fn take(&self) -> Turn<'_> {
        let mut tickets = (self.tickets.lock()).unwrap_or_else(|p| p.into_inner());
        let mine = tickets.0;
        tickets.0 += 1;
        while tickets.1 != mine {
            tickets = (self.next.wait(tickets)).unwrap_or_else(|p| p.into_inner());
        }
        Turn(self)
    }
}

/// A turn at the pipe; the next ticket's when dropped.
struct Turn<'a>(&'a Turns);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut tickets = (self.0.tickets.lock()).unwrap_or_else(|p| p.into_inner());
        tickets.1 += 1;
        self.0.next.notify_all();
    }
}

/// The pipe, held for one turn (the pipe's guard is dropped before the turn passes).
struct InTurn<'a> {
    conn: std::sync::MutexGuard<'a, Conn>,
    _turn: Turn<'a>,
}

impl std::ops::Deref for InTurn<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for InTurn<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

struct Conn {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    frames: Receiver<std::io::Result<Vec<Vec<u8>>>>,
    /// Says when the driver's stderr has all been passed on (it has exited).
    stderr_done: Receiver<()>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Cluster({}, {} threads)",
            self.inner.address,
            self.inner.threads()
        )
    }
}

fn scheduler_error(message: impl Into<String>) -> Error {
    Error::Scheduler {
        message: message.into(),
    }
}

fn timeout() -> Duration {
    std::env::var("DELAYED_DASK_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64)
}

impl Cluster {
    /// Starts a `LocalCluster` of `workers` worker processes on this machine (dask's
    /// `LocalCluster(n_workers=workers, processes=True)`; each worker gets its share of
    /// the cores as threads). Fails with a one-line error when Python or `distributed`
    /// is missing (`pip install distributed`).
    pub fn local(workers: usize) -> Result<Cluster, Error> {
        if workers == 0 {
            return Err(scheduler_error("Cluster::local needs at least one worker"));
        }
        Cluster::start("local", &workers.to_string(), false, None)
    }

    /// Connects to a running dask scheduler (`dask scheduler` prints its address, such as
    /// `tcp://10.0.0.5:8786`) and uploads this binary to its workers, which run it to
    /// execute tasks (workers on other machines need the same OS and architecture).
    /// Fails within `DELAYED_DASK_TIMEOUT` seconds (default 20) if the scheduler cannot be
    /// reached or has no workers.
    pub fn connect(address: &str) -> Result<Cluster, Error> {
        Cluster::start("connect", address, true, None)
    }

    /// As [`connect`](Cluster::connect), to a scheduler that requires TLS
    /// (`tls://10.0.0.5:8786`), with the certificates in `security` (dask's
    /// `Security(tls_ca_file=…, tls_client_cert=…, tls_client_key=…,
    /// require_encryption=True)`). A missing certificate file is an error before anything
    /// is started.
    ///
    /// ```no_run
    /// use delayed_runtime::dask::{Cluster, Security};
    /// let sec = Security::tls("ca.pem", "client-cert.pem", "client-key.pem");
    /// let cluster = Cluster::connect_with("tls://10.0.0.5:8786", &sec)?;
    /// # Ok::<(), delayed_runtime::Error>(())
    /// ```
    pub fn connect_with(address: &str, security: &Security) -> Result<Cluster, Error> {
        security.check()?;
        Cluster::start("connect", address, true, Some(security))
    }

    /// Connects to the scheduler described by the JSON file that `dask scheduler
    /// --scheduler-file PATH` writes (as dask-jobqueue, dask-mpi and HPC job scripts
    /// share it), and uploads this binary as [`connect`](Cluster::connect) does.
    ///
    /// ```no_run
    /// use delayed_runtime::dask::Cluster;
    /// let cluster = Cluster::from_scheduler_file("/shared/scheduler.json")?;
    /// # Ok::<(), delayed_runtime::Error>(())
    /// ```
    pub fn from_scheduler_file(path: impl AsRef<std::path::Path>) -> Result<Cluster, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            scheduler_error(format!(
                "cannot read the scheduler file {} ({e}); `dask scheduler --scheduler-file {}` writes it",
                path.display(),
                path.display()
            ))
        })?;
        if !text.contains("\"address\"") {
            return Err(scheduler_error(format!(
                "{} is not a dask scheduler file (it names no address)",
                path.display()
            )));
        }
        let path = path
            .to_str()
            .ok_or_else(|| scheduler_error(format!("the path is not UTF-8: {}", path.display())))?;
        Cluster::start("file", path, true, None)
    }

    fn start(
        mode: &str,
        arg: &str,
        upload: bool,
        security: Option<&Security>,
    ) -> Result<Cluster, Error> {
        let python = std::env::var("DELAYED_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let exe = std::env::current_exe()
            .map_err(|e| scheduler_error(format!("cannot find this program's binary: {e}")))?;
        let exe = exe.to_str().ok_or_else(|| {
            scheduler_error(format!("the binary's path is not UTF-8: {}", exe.display()))
        })?;
        let mut conn = Conn::spawn(&python)?;
        let driver_pid = conn.child.id();
        let limit = timeout();
        let upload = if upload { "1" } else { "0" };
        let secs = format!("{}", limit.as_secs_f64());
        let tls = security.map_or([""; 3], |s| [&s.ca, &s.cert, &s.key].map(|p| p.as_str()));
        // Importing distributed and starting processes comes on top of the timeout.
        let reply = conn
            .send(&[
                b"start",
                mode.as_bytes(),
                arg.as_bytes(),
                exe.as_bytes(),
                secs.as_bytes(),
                upload.as_bytes(),
                tls[0].as_bytes(),
                tls[1].as_bytes(),
                tls[2].as_bytes(),
            ])
            .and_then(|()| conn.recv(Some(limit + Duration::from_secs(30))));
        let fields = match reply {
            Ok(fields) => fields,
            Err(e) => {
                conn.kill();
                return Err(e);
            }
        };
        let text = |i: usize| wire::text(&fields, i).into_owned();
        match fields.first().map(Vec::as_slice) {
            Some(b"ok") => {}
            Some(b"missing") => {
                conn.kill();
                return Err(scheduler_error(format!(
                    "the Python `{python}` has no dask.distributed: pip install distributed ({})",
                    text(1)
                )));
            }
            _ => {
                conn.kill();
                let what = match mode {
                    "local" => "could not start a local dask cluster".to_owned(),
                    "file" => format!("could not connect to the dask scheduler of {arg}"),
                    _ => format!("could not connect to the dask scheduler at {arg}"),
                };
                let hint = match (mode, security) {
                    ("local", _) | (_, Some(_)) => "",
                    _ => " (if the scheduler requires TLS, use Cluster::connect_with(address, &Security::tls(ca, cert, key)))",
                };
                return Err(scheduler_error(format!("{what}: {}{hint}", text(1))));
            }
        }
        let threads = text(2).parse::<usize>().unwrap_or(0).max(1);
        let dashboard = Some(text(1)).filter(|s| !s.is_empty());
        Ok(Cluster {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                turns: Turns::default(),
                dashboard,
                address: text(3),
                threads: threads.into(),
                version: text(5),
                driver_pid,
                sessions: std::sync::atomic::AtomicU64::new(0),
                costs: Mutex::default(),
            }),
        })
    }

    /// The link to dask's dashboard (its task stream, progress, workers), or `None` when
    /// the scheduler serves none (dask serves it only when `bokeh` is installed:
    /// `pip install bokeh`).
    pub fn dashboard_link(&self) -> Option<String> {
        self.inner.dashboard.clone()
    }

    /// The scheduler's address, such as `tcp://127.0.0.1:40123`.
    pub fn scheduler_address(&self) -> &str {
        &self.inner.address
    }

    /// The worker threads of the cluster as of its last compute (or when it was started
    /// or connected to): each compute asks the scheduler, so workers that joined since get
    /// work.
    pub fn threads(&self) -> usize {
        self.inner.threads()
    }

    /// The version of `distributed` driving it.
    pub fn dask_version(&self) -> &str {
        &self.inner.version
    }

    /// The process id of the Python driver (the dask client; for a local cluster, also
    /// the parent of its workers).
    pub fn driver_pid(&self) -> u32 {
        self.inner.driver_pid
    }

    /// The process ids of the cluster's workers now (as each reports `os.getpid()`; for a
    /// local cluster, processes of this machine), in the order of their addresses.
    pub fn worker_pids(&self) -> Result<Vec<u32>, Error> {
        let fields = self.inner.request(&[b"pids"])?;
        Ok(wire::text(&fields, 1)
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect())
    }
}

/// Certificates for a scheduler that requires TLS: see [`Cluster::connect_with`].
#[derive(Clone, Debug)]
pub struct Security {
    ca: String,
    cert: String,
    key: String,
}

impl Security {
    /// dask's `Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
    /// require_encryption=True)`: PEM files of the certificate authority the scheduler's
    /// certificate is signed by, and of this client's certificate and key.
    pub fn tls(
        ca: impl AsRef<std::path::Path>,
        cert: impl AsRef<std::path::Path>,
        key: impl AsRef<std::path::Path>,
    ) -> Security {
        let text = |p: &std::path::Path| p.to_string_lossy().into_owned();
        Security {
            ca: text(ca.as_ref()),
            cert: text(cert.as_ref()),
            key: text(key.as_ref()),
        }
    }

    /// Each file is there (dask's own error for a missing one is a long traceback).
    fn check(&self) -> Result<(), Error> {
        for (what, path) in [
            ("CA", &self.ca),
            ("certificate", &self.cert),
            ("key", &self.key),
        ] {
            if !std::path::Path::new(path).is_file() {
                return Err(scheduler_error(format!(
                    "the TLS {what} file {path} does not exist"
                )));
            }
        }
        Ok(())
    }
}

impl Scheduler {
    /// Runs on a dask.distributed cluster: the graph is cut into coarse partitions, each
    /// one dask task run by the local scheduler inside a worker process (see
    /// [`dask`](crate::dask) for which nodes run there and which on this process).
    pub fn dask(cluster: &Cluster) -> Scheduler {
        Scheduler::with_executor(cluster.inner.clone())
    }
}

impl Inner {
    /// Sends a request and waits for its `ok` reply; any other reply is an error.
    pub(crate) fn request(&self, fields: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
        let mut conn = self.lock();
        conn.send(fields)?;
        let reply = conn.recv(None)?;
        match reply.first().map(Vec::as_slice) {
            Some(b"ok") => Ok(reply),
            _ => Err(scheduler_error(format!("dask: {}", wire::text(&reply, 1)))),
        }
    }

    /// Sends a request and returns its reply, whatever it is.
    pub(crate) fn exchange(&self, fields: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
        let mut conn = self.lock();
        conn.send(fields)?;
        conn.recv(None)
    }

    /// The driver's pipe, in turn: computes get it in the order they asked.
    fn lock(&self) -> InTurn<'_> {
        let turn = self.turns.take();
        let conn = (self.conn.lock()).unwrap_or_else(|poison| poison.into_inner());
        InTurn { conn, _turn: turn }
    }

    pub(crate) fn threads(&self) -> usize {
        self.threads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Asks the scheduler how many worker threads the cluster has now.
    pub(crate) fn refresh_threads(&self) -> Result<usize, Error> {
        let reply = self.request(&[b"threads"])?;
        let threads = wire::count(&reply, 1)
            .ok_or_else(|| scheduler_error("dask: the scheduler gave no thread count"))?;
        self.threads
            .store(threads, std::sync::atomic::Ordering::Relaxed);
        Ok(threads)
    }

    /// A new compute's session name. Computes on one cluster from several threads take
    /// turns request by request (see [`Turns`]), each releasing only its own futures.
    pub(crate) fn session(&self) -> String {
        let n = self
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        n.to_string()
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// `calls` of function `name` took `ns` nanoseconds on a worker.
    pub(crate) fn learn(&self, name: &str, calls: u32, ns: u64) {
        let mut costs = self.costs.lock().unwrap_or_else(|p| p.into_inner());
        let entry = costs.entry(name.to_owned()).or_default();
        entry.0 += u64::from(calls);
        entry.1 = entry.1.saturating_add(ns);
    }

    /// The mean cost (ns) of each function measured so far.
    pub(crate) fn mean_costs(&self) -> layout::Costs {
        let costs = self.costs.lock().unwrap_or_else(|p| p.into_inner());
        (costs.iter())
            .filter(|(_, &(calls, _))| calls > 0)
            .map(|(name, &(calls, ns))| (name.clone(), ns as f64 / calls as f64))
            .collect()
    }
}

impl Conn {
    /// The Python driver, started with `python`, and a thread reading its frames.
    fn spawn(python: &str) -> Result<Conn, Error> {
        let mut command = Command::new(python);
        command
            .arg("-c")
            .arg(DRIVER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // The driver's own Python must not be taken for a worker's runtime.
            .env_remove(task::TASK_ENV)
            // Plain text through the filter (`terminal.rs`), whatever FORCE_COLOR says.
            .env("PYTHON_COLORS", "0");
        // Ctrl-C is this program's to handle: the driver (and a local cluster's processes)
        // see it only as their input ending, when this program exits.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| {
                scheduler_error(format!(
                    "cannot run Python `{python}` ({e}): install Python 3 and `pip install distributed`, or set DELAYED_PYTHON"
                ))
            })?;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
            return Err(scheduler_error("the dask driver has no pipes"));
        };
        let (forwarded, stderr_done) = mpsc::channel();
        std::thread::Builder::new()
            .name("delayed-dask-stderr".into())
            .spawn(move || {
                terminal::forward(stderr, std::io::stderr());
                let _ = forwarded.send(());
            })
            .map_err(|e| scheduler_error(format!("cannot start a thread: {e}")))?;
        let (send, frames) = mpsc::channel();
        std::thread::Builder::new()
            .name("delayed-dask-driver".into())
            .spawn(move || {
                let mut stdout = BufReader::new(stdout);
                loop {
                    let frame = wire::read_frame(&mut stdout);
                    let end = !matches!(frame, Ok(Some(_)));
                    let sent = match frame {
                        Ok(Some(fields)) => send.send(Ok(fields)),
                        Ok(None) => break,
                        Err(e) => send.send(Err(e)),
                    };
                    if end || sent.is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| scheduler_error(format!("cannot start a thread: {e}")))?;
        Ok(Conn {
            child,
            stdin: BufWriter::new(stdin),
            frames,
            stderr_done,
        })
    }

    fn send(&mut self, fields: &[&[u8]]) -> Result<(), Error> {
        wire::write_frame(&mut self.stdin, fields)
            .map_err(|e| scheduler_error(format!("the dask driver is gone ({e})")))
    }

    fn recv(&mut self, limit: Option<Duration>) -> Result<Vec<Vec<u8>>, Error> {
        let stderr_done = &self.stderr_done;
        let gone = || {
            // Its last words first: they are what the error points to.
            let _ = stderr_done.recv_timeout(Duration::from_secs(2));
            scheduler_error("the dask driver exited (its messages are above)")
        };
        let frame = match limit {
            None => self.frames.recv().map_err(|_| gone())?,
            Some(limit) => match self.frames.recv_timeout(limit) {
                Ok(frame) => frame,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(scheduler_error(format!(
                        "the dask driver did not answer within {} s",
                        limit.as_secs()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => return Err(gone()),
            },
        };
        frame.map_err(|e| scheduler_error(format!("reading from the dask driver: {e}")))
    }

    /// Kills the driver and its process group (a local cluster's processes with it).
    fn kill(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Inner {
    /// Closes the client (and a local cluster with its workers), waiting a bounded time
    /// for the driver to exit before killing it.
    fn drop(&mut self) {
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner());
        if conn.send(&[b"close"]).is_ok() {
            let _ = conn.stdin.flush();
            let _ = conn.recv(Some(Duration::from_secs(30)));
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = conn.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        conn.kill();
    }
}
