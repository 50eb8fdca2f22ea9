//! The worker side of `Scheduler::dask`: each dask worker runs the program's own binary
//! as its resident runtime, which executes the partitions of the graph the worker's
//! tasks hand it, and [`enter`] is where it takes over.

/// Serves as a dask worker's runtime and exits when the worker goes, if this process was
/// started as one; otherwise returns at once (one environment lookup).
///
/// Call it as the first statement of `main` in every program that computes on a
/// `delayed::dask::Cluster`: `#[delayed::main]` does it for you. Programs that
/// cannot use the attribute (a `harness = false` test, another `main` macro) call it
/// themselves. Anything `main` does before it also happens in every worker's runtime.
pub fn enter() {
    #[cfg(feature = "dask")]
    if crate::dask::task::is_task() {
        std::process::exit(crate::dask::task::main());
    }
}
