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
//! - `codec.rs`: how a result is encoded (postcard), chosen per function by the macro;
//! - `entry.rs`: the file format (header with version, key, length and blake3 checksum);
//! - `store.rs`: the directory: lookups, atomic writes, stats, clearing, LRU eviction;
//! - `rewrite.rs`: the scheduler hook that puts hits in place of tasks.

pub(crate) mod codec;
#[cfg(feature = "cache")]
mod disk_key;
#[cfg(feature = "cache")]
mod entry;
#[cfg(feature = "cache")]
mod rewrite;
#[cfg(feature = "cache")]
mod store;

pub use codec::Cacheable;
#[cfg(feature = "cache")]
pub(crate) use rewrite::rewrite;
#[cfg(feature = "cache")]
pub use store::{Cache, CacheCounters, CacheMode, CacheStats};

#[cfg(feature = "cache")]
impl crate::Scheduler {
    /// Keeps the results of `#[delayed(cache)]` functions in `dir` (created if needed)
    /// and reuses them in later computes and later runs: see [`Cache`].
    ///
    /// Never fails: a directory that cannot be written is only read, and one that cannot
    /// be used at all means no cache, each with a warning on stderr (also in
    /// [`Cache::warnings`], through [`disk_cache`](Self::disk_cache)).
    pub fn cache(self, dir: impl AsRef<std::path::Path>) -> crate::Scheduler {
        self.with_cache(Cache::open_or_off(dir))
    }

    /// Uses an opened [`Cache`] (keep a clone to read its
    /// [`counters`](Cache::counters)).
    pub fn with_cache(mut self, cache: Cache) -> crate::Scheduler {
        self.cache = Some(cache);
        self
    }

    /// The cache this scheduler uses, if any.
    pub fn disk_cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }
}
