//! The worker side of `Scheduler::dask`: dask's workers run the
//! program's own binary to execute a partition of the graph, and [`enter`] is where it
//! takes over.

/// Runs a dask task and exits, if this process was started as one; otherwise returns at
/// once (one environment lookup).
///
/// Call it as the first statement of `main` in every program that computes on a
/// `delayed::dask::Cluster`: `#[delayed::main]` does it for you. Programs that
/// cannot use the attribute (a `harness = false` test, another `main` macro) call it
/// themselves. Anything `main` does before it also happens in every task process.
pub fn enter() {
    #[cfg(feature = "dask")]
    if crate::dask::task::is_task() {
        std::process::exit(crate::dask::task::main());
    }
}
