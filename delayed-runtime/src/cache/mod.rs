//! Results that survive the process: a content-addressed cache on disk.
//!
//! A task's [`Key`](crate::Key) already names its computation exactly (the function's
//! crate, module path, name and a hash of its own tokens, plus the keys of its inputs), so
//! it can name a file too. With a [`Cache`] on the scheduler, a pure
//! `#[delayed(cache)]` task whose key is on disk is read instead of run, and the tasks
//! that only fed it do not run either; a task that runs is stored for next time.
//!
//! - `disk_key.rs`: the key a result is stored under, by how far its key holds
//!   (portable keys as they are, build-local ones with the executable's fingerprint,
//!   process-local ones never);
//! - `entry.rs`: the file format (header with version, key, length and blake3 checksum);
//! - `store.rs`: the directory: lookups, atomic writes, stats, clearing, LRU eviction;
//! - `rewrite.rs`: the pipeline's step that puts hits in place of tasks, and which
//!   results of the rewritten plan are written back.
//!
//! The value codec (postcard) the entries hold is `crate::codec`, shared with the
//! cluster executor.

mod disk_key;
mod entry;
mod rewrite;
mod store;

pub(crate) use rewrite::{rewrite, write_back};
pub use store::{Cache, CacheCounters, CacheMode, CacheStats};
