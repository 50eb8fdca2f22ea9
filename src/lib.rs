//! # delayed
//!
//! `dask.delayed` for Rust. Annotate ordinary functions with `#[delayed]`; calling them
//! builds a lazy task graph instead of running. Every node has a content key (blake3);
//! [`compute`](Delayed::compute) runs each distinct node once, in parallel (rayon), and
//! returns the results.
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn lazy_func(a: i64, b: i64, c: i64) -> i64 {
//!     2 * a + (b - c)
//! }
//!
//! let d: Delayed<i64> = lazy_func(3, 4, 5); // nothing runs yet
//! assert!(format!("{d:?}").starts_with("Delayed(\"lazy_func-"));
//! assert_eq!(d.compute()?, 5);
//! assert_eq!(lazy_func_eager(3, 4, 5), 5); // the original function, run now
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## Building graphs
//!
//! - **[`#[delayed]`](macro@delayed) functions** (the attribute's page has the whole
//!   contract). A parameter `x: T` accepts a plain `T` (keyed by content
//!   through [`Tokenize`]), a `Delayed<T>` or a `&Delayed<T>`; integer literals infer as
//!   usual. A parameter `x: &T` takes the same and borrows the computed value instead of
//!   cloning it (`&str` borrows a `String`, `&[T]` a `Vec<T>`, `&Path` a `PathBuf`). A
//!   parameter `xs: Vec<T>` also accepts a `Vec<Delayed<T>>`. The original function stays
//!   callable, unchanged, as `<name>_eager`.
//! - **`delay!`** wraps one call of any function or closure at the call site, like dask's
//!   `delayed(f)(x)`: `delay!(std::ops::Mul::mul(2i64, 3i64))`, `delay!((|n: usize| vec![1; n])(5))`.
//! - **[`value`]** puts data into the graph (dask's `delayed(obj)`).
//! - **Operators** `+ - * / % & | ^ << >>`, unary `-` and `!` work between `Delayed`,
//!   `&Delayed` and plain values; lazy comparisons are methods ([`Delayed::lt`],
//!   [`Delayed::eq_`], …).
//! - **[`Delayed::map`]**, **[`Delayed::get`]** (indexing) and `unpack()` (tuples) derive
//!   new nodes; [`collect`] gathers many into a `Delayed<Vec<T>>`.
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn inc(i: i64) -> i64 {
//!     i + 1
//! }
//!
//! let e = delay!(std::ops::Mul::mul(2i64, 3i64));
//! let f = inc(e.clone());
//! let g = &e + &f; // 6 + 7
//! let h = e - 1;
//! let (x, y) = delayed::compute((g, h))?;
//! assert_eq!((x, y), (13, 5));
//!
//! let var1 = value(String::from("12345"));
//! let var2 = delay!((|n: usize| vec![1usize; n])(5));
//! let c = var1.map(|s| s.len()) + var2.get(3);
//! assert_eq!(c.compute()?, 6);
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## Keys and deduplication
//!
//! Every node has a 32-byte [`Key`]: blake3 over the function's identity (module path,
//! name, a hash of its own tokens, the concrete types of its generic parameters) and the
//! keys of its inputs. Plain values are keyed by type name and content ([`Tokenize`],
//! dask's `tokenize`); derive it for your types with `#[derive(Tokenize)]`. Equal keys are
//! computed once per `compute`. Building a call does not hash when it need not: a call
//! whose arguments are all `Delayed` values, or all small plain values, makes its key on
//! the first [`key()`](Delayed::key) (or when a cache or a cluster needs it), and
//! `compute` deduplicates by the same identity and inputs, which is what equal keys say:
//!
//! ```
//! use delayed::prelude::*;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! static RUNS: AtomicUsize = AtomicUsize::new(0);
//!
//! #[delayed]
//! fn inc(i: i64) -> i64 {
//!     RUNS.fetch_add(1, Ordering::SeqCst);
//!     i + 1
//! }
//!
//! let a = inc(1);
//! let b = inc(1);            // the same key as `a`
//! let c = inc(a.clone());
//! assert_eq!(a.key(), b.key());
//! assert_eq!((b + c).compute()?, 5);
//! assert_eq!(RUNS.load(Ordering::SeqCst), 2); // inc(1) once, inc(2) once
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! **What a key covers.** Equal key, equal result: two different pieces of code never
//! share a key, whatever way they reach the graph. How far a key holds depends on what
//! the macros could see:
//!
//! - `#[delayed]` functions, [`value`], operators, `get`, `unpack`, [`collect`] and
//!   [`file()`]: module path, name and a hash of the function's own tokens; data by
//!   content; a file by its path as given and the blake3 of its bytes. The same key in
//!   every run, build and machine with one toolchain: no addresses, `TypeId`s, absolute
//!   paths or run order. Generic type names come from `std::any::type_name`, which a
//!   toolchain upgrade may change.
//! - A plain fn through `delay!(f(x))` (its type name), a closure literal
//!   `delay!((|x: i64| x + 1)(a))` (module, line, column, tokens and type name) and
//!   `d.map(fn_item)`: the code behind the name can change while the name stays, so these
//!   keys hold for one executable. The on-disk cache stores what is downstream of them
//!   under the key *and* a blake3 fingerprint of the running executable, so a rebuild that
//!   changes the program recomputes them.
//! - A closure that reaches [`Delayed::map`] or `delay!` through a variable or a generic
//!   helper: every closure of a function has the same type name, so it is told apart by
//!   its `TypeId`, which holds only in this process. Nothing downstream of it is read from
//!   or written to the on-disk cache.
//! - `#[delayed(pure = false)]` functions and closures that capture data: a fresh key per
//!   call (nothing downstream is cached either).
//!
//! No key covers the definitions of types or of other functions a body calls, nor files
//! a function opens by path: pass files as [`file()`]`(path)`, and for keys (and cached
//! results) that hold across builds, write the code as a `#[delayed]` function.
//! `#[delayed(name = "…")]` sets the display name only.
//!
//! ```
//! use delayed::prelude::*;
//!
//! fn apply<F: Fn(&i64) -> i64 + Send + Sync + 'static>(d: &Delayed<i64>, f: F) -> Delayed<i64> {
//!     d.map(f)
//! }
//!
//! let a = value(10i64);
//! let (inc, dbl) = (apply(&a, |v| v + 1), apply(&a, |v| v * 2));
//! assert_ne!(inc.key(), dbl.key()); // one helper, two closures: two keys
//! assert_eq!(delayed::compute((inc, dbl))?, (11, 20));
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! A method's key includes the implementing type (`Self`). The macro sees only the
//! function, not its `impl` block, so it adds `Self` to the key when the function takes
//! `self` or mentions `Self`. An associated function of a *generic* impl that uses the
//! impl's type parameters but neither takes `self` nor mentions `Self` should mention it
//! (return `Self`, call `Self::…`) or take the type as an argument, or two instantiations
//! would share keys.
//!
//! ## Failures
//!
//! A `#[delayed]` function returning `Result<T, E>` yields a `Delayed<T>`; an `Err` stops
//! the compute with [`Error::Failed`]` { task, source, .. }` (`task: String` is the label
//! `name-1f3a9c0e`, `source: Box<dyn std::error::Error + Send + Sync>` the error itself).
//! A panicking task gives [`Error::Panicked`]` { task, message, .. }`. Both also carry the
//! cancelled `dependents`; every variant is `#[non_exhaustive]`, so match with `..`.
//! [`Error`] implements `std::error::Error` (`source()` gives a `Failed` task's error),
//! and its `Display` names the task and the message. Nothing hangs, and the next compute
//! works.
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn parse(s: &str) -> Result<i64, std::num::ParseIntError> {
//!     s.trim().parse()
//! }
//!
//! assert_eq!(parse(" 42 ").compute()?, 42);
//! let err = parse("forty-two").compute().unwrap_err();
//! assert!(matches!(err, delayed::Error::Failed { .. }));
//! assert!(err.to_string().contains("invalid digit"));
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## No side effects
//!
//! A task's only effect is its result: the graph runs each distinct call once, in any
//! order, on any thread, and reuses results (the tutorial: "Side effect should not be
//! used!"). So `#[delayed]` rejects, at compile time and pointing at the offending tokens:
//! `&mut` parameters and `&mut self`; a missing or `()` return type; `static mut` and
//! `unsafe` blocks in the body; `Cell`, `RefCell`, `Mutex`, `RwLock`, `OnceCell`,
//! `UnsafeCell` or atomics anywhere in the signature of a pure function; and, in a pure
//! function, calls that read randomness, clocks or the environment (`rand::…`,
//! `thread_rng`, `random`, `SystemTime::now`, `Instant::now`, `std::env::var`): mark such
//! a function `#[delayed(pure = false)]`. These checks read the function's tokens, so they
//! match by name. Through types, everything that enters the graph is `Send + Sync +
//! 'static`, closures given to `delay!` and [`Delayed::map`] are `Fn`, and plain
//! arguments implement [`Tokenize`]; `tests/ui/` holds one compile-fail case per rule.
//! Instead of mutating, take the value and return the new one, and chain the calls:
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn append(mut l: Vec<i64>, i: i64) -> Vec<i64> {
//!     l.push(i); // mutating what the function owns is fine
//!     l
//! }
//!
//! let l = (0..10).fold(value(Vec::new()), |l, i| append(l, i));
//! assert_eq!(l.compute()?, (0..10).collect::<Vec<i64>>());
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ```compile_fail
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn append(l: &mut Vec<i64>, i: i64) -> usize { // error: cannot take a `&mut` parameter
//!     l.push(i);
//!     l.len()
//! }
//! ```
//!
//! ## Scheduling and memory
//!
//! `compute()` runs on rayon's global pool; [`Scheduler::threads`] and
//! [`Scheduler::sync`] choose otherwise, through `compute_with`. A node's result is
//! dropped as soon as its last consumer has run, and the last consumer of a by-value
//! argument receives it moved, not cloned. Nothing recurses on the depth of the graph:
//! chains of millions of nodes build, compute and drop on a normal stack.
//!
//! The first task to fail cancels the compute: no other task starts, the running ones
//! finish, and the error names the failing task and, in [`Error::dependents`], the tasks
//! that were waiting for it. [`persist`] (or `d.persist()`) computes values now and gives
//! back `Delayed`s that hold them under the same keys, so later graphs built on them do
//! not compute them again.
//!
//! ## Futures: computes in the background
//!
//! [`submit`] starts a compute and returns at once with a [`Job`] (dask's
//! `client.compute(x)`, a future); [`submit_with`] takes any [`Scheduler`], whose progress
//! bar, trace and cache work as with `compute_with` ([`submit_with_report`] adds the
//! [`Report`]). A job can be polled ([`Job::is_finished`]), waited for ([`Job::wait`]: the
//! same values or [`Error`] as `compute`), awaited (`job.await`: a `Job` is a
//! `std::future::Future`, woken through its `Waker`, so it works under tokio, async-std or
//! `futures::executor` with none of them a dependency) and cancelled ([`Job::cancel`]:
//! tasks not yet started never start, and the result is [`Error::Cancelled`]).
//! [`as_completed`] gives many jobs' results in the order they finish, each with its
//! index. Dropping an unfinished job cancels it, as dask releases a future nobody holds:
//! the drop returns at once, the tasks that were running finish on their threads.
//!
//! Each job drives its compute from a thread of its own; on a pool (the default, or
//! [`Scheduler::threads`]) that thread only hands the tasks to the pool and waits, so many
//! jobs share the pool's workers task by task. On [`Scheduler::sync`] the job's thread
//! runs its tasks itself, in plan order.
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn inc(x: i64) -> i64 {
//!     x + 1
//! }
//!
//! let jobs = (0..4).map(|i| delayed::submit(inc(i))).collect::<Result<Vec<_>, _>>()?;
//! jobs[3].cancel();
//! let mut done = Vec::new();
//! for (i, result) in delayed::as_completed(jobs) {
//!     match result {
//!         Ok(v) => done.push((i, v)), // printed as they finish, in a real program
//!         Err(delayed::Error::Cancelled { .. }) => assert_eq!(i, 3),
//!         Err(e) => return Err(e),
//!     }
//! }
//! done.sort();
//! assert_eq!(done, [(0, 1), (1, 2), (2, 3)]);
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## Methods on delayed values
//!
//! `#[delayed]` on an `impl` block makes its methods (those with a `&self` or `self`
//! receiver) callable on a `Delayed<Self>`, lazily: the macro adds a trait named
//! `<Type>Delayed`, implemented for `Delayed<Type>`, beside the block (import it with the
//! type to call the methods elsewhere). Arguments are taken as by `#[delayed]` functions;
//! a method's key includes `Self`, and a method may carry its own `#[delayed(...)]`
//! arguments. The methods stay eager on the type itself. A method named like one of
//! `Delayed`'s own (`map`, `get`, `key`, ...) is reached through the trait's path:
//! `AccDelayed::get(&d)`.
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[derive(Clone, Default, Tokenize)]
//! struct Acc {
//!     total: i64,
//! }
//!
//! #[delayed]
//! impl Acc {
//!     fn add(mut self, x: i64) -> Acc {
//!         self.total += x;
//!         self
//!     }
//!     fn total(&self) -> i64 {
//!         self.total
//!     }
//! }
//!
//! let acc = value(Acc::default());
//! let sum = acc.add(5).add(6).total(); // three tasks
//! assert_eq!(sum.compute()?, 11);
//! assert_eq!(Acc::default().add(1).total(), 1); // eager on `Acc`
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## Shapes: maps, and results that are not `Clone`
//!
//! `compute`, `persist` and `submit` take a `Delayed`, references, tuples, `Vec`s,
//! slices, arrays, `HashMap`s and `BTreeMap`s of them, nested (dask's lists and dicts),
//! and give back the same shape of values. A root's value is moved out when nothing else
//! needs it, and cloned only where it is read twice (the same node twice among the
//! roots, or data the graph holds), so a `Delayed<T>` in a shape needs `T: Clone`. For a
//! type that is not, use [`Delayed::owned`]: that root is always moved, and a value
//! needed twice is [`Error::Shared`] (naming the task) instead of a clone.
//!
//! ```
//! use std::collections::HashMap;
//! use delayed::prelude::*;
//!
//! struct Conn(u16); // not Clone
//! let port = value(8080u16);
//! let stats: HashMap<&str, Delayed<u16>> = [("port", port.clone()), ("next", &port + 1)].into();
//! let (stats, conn) = delayed::compute((stats, port.map(|p| Conn(*p)).owned()))?;
//! assert_eq!((stats["next"], conn.0), (8081, 8080));
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## Watching a compute
//!
//! - [`Scheduler::progress`]`(true)`: a progress bar on stderr (tasks done out of the
//!   total, rate, time left), drawn when stderr is a terminal, or always with
//!   [`Progress::Always`].
//! - [`Scheduler::trace`]`("trace.json")`: the task stream as a Chrome trace event file,
//!   one bar per task on the thread that ran it; open it in <https://ui.perfetto.dev> or
//!   `chrome://tracing`.
//! - [`compute_with_report`]: the result and a [`Report`]: tasks run, calls saved by
//!   deduplication, calls and time per function, wall time, peak live results.
//! - Feature `tracing` (off by default): a `tracing` span per task (`task`, with fields
//!   `name` and `key`), for your own subscriber.
//!
//! Without them a compute pays a couple of branches per task; with them, an atomic counter, two
//! clock reads and a push into the worker's own buffer per task.
//!
//! ```
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn inc(x: u64) -> u64 {
//!     x + 1
//! }
//!
//! let total = delayed::collect((0..100u64).map(|i| inc(i % 10)));
//! let trace = std::env::temp_dir().join(format!("delayed-doc-{}.json", std::process::id()));
//! let sched = Scheduler::threads(2).progress(true).trace(&trace);
//! let (values, report) = delayed::compute_with_report(&total, &sched)?;
//! assert_eq!(values.len(), 100);
//! assert_eq!(report.function("inc").map(|f| f.calls), Some(10)); // 10 distinct keys
//! assert_eq!(report.deduplicated, 90);
//! println!("{report}");
//! # std::fs::remove_file(&trace).unwrap();
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! ## Visualize
//!
//! `d.to_dot()` gives the graph as Graphviz text, in dask's style: functions are ellipses
//! labelled with their name, data are boxes, edges go from inputs to the tasks that read
//! them, and a shared node is drawn once. `d.visualize("graph.png")` (or `.svg`, `.dot`)
//! draws it with no Graphviz install: the layout, SVG and PNG are pure Rust (`tiny-skia`,
//! with text from a bundled font). `visualize_with` takes [`visualize::Options`], such as
//! the direction; [`to_dot`] and [`visualize::write`] take several values at once, in any
//! shape `compute` accepts. Graphs over `Options::max_nodes` (2,000 by default) are an
//! error rather than an unreadable picture. All of it sits behind the default feature
//! `visualize`.
//!
//! ```no_run
//! use delayed::prelude::*;
//! use delayed::visualize::{Options, Rankdir};
//!
//! let var1 = value(String::from("12345"));
//! let var2 = delay!((|n: usize| vec![1usize; n])(5));
//! let oper1 = var1.map(|s| s.len()) + var2.get(3);
//! println!("{}", oper1.to_dot());
//! oper1.visualize("oper1.png")?;
//! oper1.visualize_with("oper1.svg", &Options { rankdir: Rankdir::LR, ..Default::default() })?;
//! # Ok::<(), delayed::visualize::VisualizeError>(())
//! ```

//! ## Caching across runs
//!
//! Keys name computations exactly, so results can outlive the process, the way a build
//! system reuses its outputs. Mark a function `#[delayed(cache)]` (its result type must be
//! serde `Serialize + Deserialize`) and give the scheduler a directory:
//!
//! ```
//! # #[cfg(feature = "cache")] {
//! use delayed::prelude::*;
//!
//! #[delayed(cache)]
//! fn histogram(pixels: &[u8]) -> Vec<u64> {
//!     let mut bins = vec![0u64; 4];
//!     for p in pixels {
//!         bins[usize::from(p / 64)] += 1;
//!     }
//!     bins
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("delayed-doc-cache-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let sched = Scheduler::new().cache(&dir);        // created if needed
//! let h = histogram(vec![0u8, 100, 200, 255]);
//! assert_eq!(h.compute_with(&sched)?, [1, 1, 0, 2]);  // runs, and stores the result
//!
//! // A later compute, or a later run of the program, reads it back instead.
//! let again = Scheduler::new().cache(&dir);
//! assert_eq!(h.compute_with(&again)?, [1, 1, 0, 2]);
//! assert_eq!(again.disk_cache().unwrap().counters().hits, 1);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # }
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! - **What is cached.** Only pure `#[delayed(cache)]` functions, and only their successful
//!   results (an `Err` or a panic is never stored). Everything else runs as usual. A hit
//!   also skips the tasks that only fed it: a second run does none of the upstream work.
//!   A task downstream of a closure keyed by `TypeId` or of a fresh key is never cached;
//!   one downstream of a plain fn through `delay!` is cached for this executable only
//!   (see "What a key covers" above).
//! - **Files as inputs.** A function that reads a file by path is keyed by the path, not
//!   the contents: give it [`file()`]`(path)` instead of the path, a data node whose key is
//!   the blake3 of the file's bytes (streamed; re-read in one process only when its size
//!   or modification time changed), and an edited file recomputes everything downstream.
//! - **When an entry is reused.** Its key covers the function's crate, module path, name
//!   and a hash of its own tokens (signature and body), and the keys of all its inputs.
//!   Editing the function invalidates its entries and, through the keys, everything
//!   downstream; changing one input recomputes only what depends on it. The key does
//!   *not* cover the definitions of types or of other functions the body calls: after
//!   changing those, [`Cache::clear`] the directory (or edit the function); nor does it
//!   cover code the macros cannot see, which is why such keys carry the executable's
//!   fingerprint on disk. Generic type
//!   names come from `std::any::type_name`, so a toolchain upgrade may change the keys of
//!   generic functions (a one-time recompute, never a wrong hit).
//! - **Format.** One file per result under `dir/v3/`, encoded with postcard (byte
//!   vectors appear as they are), behind a header with a format version, the key, the
//!   length and a blake3 checksum. Files are written to a temporary name and renamed, so
//!   a crash never leaves a half entry, and several processes can share a directory.
//! - **Problems are warnings, never errors.** A damaged or undecodable entry is recomputed
//!   and replaced; a read-only directory is only read; an unusable one means no cache.
//!   Warnings go to stderr and to [`Cache::warnings`].
//! - **Managing it.** [`Cache::open`] gives a handle ([`Scheduler::with_cache`]) with
//!   [`counters`](Cache::counters) (hits, misses, writes, skipped tasks),
//!   [`stats`](Cache::stats), [`clear`](Cache::clear) and a size cap with
//!   least-recently-used eviction ([`max_bytes`](Cache::max_bytes)).
//! - The `cache` cargo feature (on by default) brings serde and postcard; without it,
//!   `#[delayed(cache)]` is a compile error that says so.

//! ## Beyond one machine: dask.distributed
//!
//! With the `dask` feature (on by default) the same graph runs on a dask.distributed
//! cluster: [`Scheduler::dask`]`(&cluster)` where `cluster` is a [`dask::Cluster`], either
//! [`Cluster::local`](dask::Cluster::local)`(n)` (a `LocalCluster` of `n` worker processes)
//! or [`Cluster::connect`](dask::Cluster::connect)`("tcp://host:8786")` (a running
//! `dask scheduler`). dask is driven through the Python of `DELAYED_PYTHON` (default
//! `python3`), which needs `pip install distributed` (and `bokeh` for
//! [`dashboard_link`](dask::Cluster::dashboard_link)).
//!
//! ```no_run
//! use delayed::dask::Cluster;
//! use delayed::prelude::*;
//!
//! #[delayed]
//! fn inc(x: i64) -> i64 {
//!     x + 1
//! }
//!
//! #[delayed::main] // = delayed::worker::enter() as main's first statement
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let cluster = Cluster::local(2)?;
//!     println!("dashboard: {:?}", cluster.dashboard_link());
//!     let total = delayed::collect((0..100).map(inc));
//!     let values = total.compute_with(&Scheduler::dask(&cluster))?;
//!     assert_eq!(values.iter().sum::<i64>(), 5050);
//!     Ok(())
//! }
//! ```
//!
//! dask's workers run this same binary (one resident runtime per worker) to execute
//! tasks, so `main` must start with [`worker::enter`] (`#[delayed::main]` adds it). The
//! graph is cut into coarse partitions, each one dask task that the worker's runtime runs
//! on its threads; only values that cross partitions travel, as postcard bytes. Every
//! task whose body captures nothing runs on the cluster (functions, generic or not,
//! methods, `map` and `delay!` without captures, operators, `get`, `unpack`, `collect`)
//! when the values it reads and makes have serde; the others run here, on the driver,
//! and every graph runs, unless the scheduler is `strict(true)`. A
//! [`compute_with_report`](crate::compute_with_report) counts where tasks ran. See
//! [`dask`] for the details.

#![warn(missing_docs)]

#[doc = include_str!("delayed_attribute.md")]
#[doc(inline)]
pub use delayed_macros::delayed;
pub use delayed_macros::{delay, main, Tokenize};
#[cfg(feature = "dask")]
pub use delayed_runtime::dask;
/// The `ndarray` crate (0.17), for arrays as task values: `Tokenize` for its arrays and
/// views (keyed by shape and elements in logical order, whatever the memory layout), serde
/// through the cache and the cluster (feature `ndarray`).
///
/// ```
/// use delayed::ndarray::{array, Array1, ShapeBuilder};
/// use delayed::prelude::*;
///
/// #[delayed]
/// fn spread(x: &Array1<f64>) -> f64 {
///     x.std(0.0)
/// }
///
/// let x: Array1<f64> = array![1.0, 2.0, 3.0, 4.0];
/// assert_eq!(spread(x.clone()).compute()?, x.std(0.0));
/// // Equal content and shape, another memory layout: the same key.
/// let c = delayed::ndarray::Array2::from_shape_vec((2, 2), vec![1, 2, 3, 4]).unwrap();
/// let f = delayed::ndarray::Array2::from_shape_vec((2, 2).f(), vec![1, 3, 2, 4]).unwrap();
/// assert_eq!(c, f);
/// assert_eq!(value(c).key(), value(f).key());
/// # Ok::<(), delayed::Error>(())
/// ```
#[cfg(feature = "ndarray")]
pub use delayed_runtime::ndarray;
pub use delayed_runtime::worker;
#[cfg(feature = "dashboard")]
pub use delayed_runtime::Dashboard;
pub use delayed_runtime::{
    as_completed, submit, submit_with, submit_with_report, AsCompleted, Job,
};
pub use delayed_runtime::{
    collect, compute, compute_with, file, value, Computable, Delayed, Error, IntoArg, Key,
    KeyHasher, NodeKind, Owned, Scheduler, Tokenize,
};
pub use delayed_runtime::{
    compute_with_report, persist, persist_with, FunctionStats, Persistable, Progress, Report,
};
#[cfg(feature = "visualize")]
pub use delayed_runtime::{to_dot, visualize};

/// Everything a program using `delayed` needs: `use delayed::prelude::*;`.
pub mod prelude {
    pub use crate::{delay, delayed, value, Delayed, Scheduler, Tokenize};
}

#[cfg(feature = "cache")]
pub use delayed_runtime::{Cache, CacheCounters, CacheMode, CacheStats, Cacheable};

/// The API the macros expand to. Not public: it changes with every release (its name
/// carries the version the macros were built for).
#[doc(hidden)]
pub use delayed_runtime::private as __private_0_1;
