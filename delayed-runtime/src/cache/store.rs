//! The cache directory: looking entries up, writing them safely, statistics, clearing and
//! least-recently-used eviction.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::cache::entry::{self, VERSION};
use crate::codec::Codec;
use crate::erased::AnyValue;
use crate::key::Key;

/// What a [`Cache`] does with its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheMode {
    /// Reads entries and writes new ones.
    ReadWrite,
    /// The directory cannot be written: existing entries are used, nothing new is kept.
    ReadOnly,
    /// The directory cannot be used at all: every task runs, as without a cache.
    Off,
}

/// The size of a cache directory, from [`Cache::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// How many results are stored.
    pub entries: u64,
    /// Their total size on disk, headers included.
    pub bytes: u64,
}

/// What a [`Cache`] has done so far (in this process, over every compute that used it or
/// one of its clones), from [`Cache::counters`]. Subtract an earlier snapshot with
/// [`since`](CacheCounters::since) to see one compute's share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Tasks whose result was read from disk instead of being computed.
    pub hits: u64,
    /// Cacheable tasks that were looked up and not found (or found damaged), so ran.
    pub misses: u64,
    /// Results written to disk.
    pub writes: u64,
    /// Tasks that did not run at all because every consumer of theirs was a hit (the
    /// upstream work a hit saves).
    pub skipped: u64,
    /// Entries found damaged (bad length, checksum, version or encoding): recomputed and
    /// replaced.
    pub corrupt: u64,
    /// Failed reads, writes or encodings (each also gives a warning).
    pub errors: u64,
}

impl CacheCounters {
    /// The counts accumulated since `earlier` (a previous snapshot of the same cache).
    pub fn since(&self, earlier: &CacheCounters) -> CacheCounters {
        CacheCounters {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            writes: self.writes.saturating_sub(earlier.writes),
            skipped: self.skipped.saturating_sub(earlier.skipped),
            corrupt: self.corrupt.saturating_sub(earlier.corrupt),
            errors: self.errors.saturating_sub(earlier.errors),
        }
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    skipped: AtomicU64,
    corrupt: AtomicU64,
    errors: AtomicU64,
}

/// The most warnings kept for [`Cache::warnings`]; older ones are dropped.
const KEPT_WARNINGS: usize = 100;

/// A directory of computed results, shared by every run of a program (and by several
/// programs at once): a task's result is stored under its [`Key`], which changes whenever
/// the function's code or any input changes.
///
/// Give it to a scheduler with [`Scheduler::cache`](crate::Scheduler::cache) (a
/// directory) or [`Scheduler::with_cache`](crate::Scheduler::with_cache) (an opened
/// `Cache`, to keep a handle for [`counters`](Cache::counters) and
/// [`stats`](Cache::stats)). Only functions marked `#[delayed(cache)]` are stored.
///
/// `Cache` is a cheap `Clone`: clones share the directory, the size cap and the counters.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use delayed::{Cache, CacheMode};
/// let dir = std::env::temp_dir().join(format!("delayed-doc-{}", std::process::id()));
/// let cache = Cache::open(&dir)?.max_bytes(64 << 20);
/// assert_eq!(cache.mode(), CacheMode::ReadWrite);
/// assert_eq!(cache.stats()?.entries, 0);
/// cache.clear()?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// `dir/v<VERSION>`: one subdirectory per first byte of the key.
    entries: PathBuf,
    mode: CacheMode,
    /// 0: no cap.
    max_bytes: AtomicU64,
    /// Bytes on disk as far as this process knows; rescanned when over the cap.
    approx_bytes: AtomicU64,
    sized: AtomicBool,
    quiet: AtomicBool,
    counters: Counters,
    warnings: Mutex<Vec<String>>,
    evicting: Mutex<()>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("dir", &self.inner.dir)
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Cache {
    /// Opens (creating it if needed) a cache directory.
    ///
    /// A directory that exists but cannot be written opens in [`CacheMode::ReadOnly`]
    /// with a warning: its entries are used, nothing new is stored. An error means the
    /// directory can neither be created nor read.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Cache> {
        let dir = dir.as_ref().to_path_buf();
        let entries = dir.join(format!("v{VERSION}"));
        let created = fs::create_dir_all(&entries);
        let mode = match created {
            Ok(()) => match probe_write(&entries) {
                Ok(()) => CacheMode::ReadWrite,
                Err(_) => CacheMode::ReadOnly,
            },
            // It exists but is not writable: read what is there.
            Err(_) if fs::read_dir(&dir).is_ok() => CacheMode::ReadOnly,
            Err(error) => return Err(error),
        };
        let cache = Cache::with_mode(dir, entries, mode);
        if mode == CacheMode::ReadOnly {
            cache.warn(format!(
                "{} is not writable: using its entries, storing nothing new",
                cache.inner.dir.display()
            ));
        } else {
            write_cachedir_tag(&cache.inner.dir);
        }
        Ok(cache)
    }

    /// [`open`](Cache::open), or, when the directory cannot be used at all, a cache in
    /// [`CacheMode::Off`] with a warning saying why: computing still works, without it.
    pub fn open_or_off(dir: impl AsRef<Path>) -> Cache {
        let dir = dir.as_ref();
        match Cache::open(dir) {
            Ok(cache) => cache,
            Err(error) => {
                let cache = Cache::with_mode(
                    dir.to_path_buf(),
                    dir.join(format!("v{VERSION}")),
                    CacheMode::Off,
                );
                cache.warn(format!(
                    "cannot use {}: {error}; computing without a cache",
                    dir.display()
                ));
                cache
            }
        }
    }

    fn with_mode(dir: PathBuf, entries: PathBuf, mode: CacheMode) -> Cache {
        Cache {
            inner: Arc::new(Inner {
                dir,
                entries,
                mode,
                max_bytes: AtomicU64::new(0),
                approx_bytes: AtomicU64::new(0),
                sized: AtomicBool::new(false),
                quiet: AtomicBool::new(false),
                counters: Counters::default(),
                warnings: Mutex::new(Vec::new()),
                evicting: Mutex::new(()),
            }),
        }
    }

    /// Caps the directory at `bytes`: when a write takes it over, the least recently used
    /// entries (oldest modification time; a hit refreshes it) are removed until it is
    /// under 90% of the cap. `0` means no cap (the default). Applies to every clone.
    pub fn max_bytes(self, bytes: u64) -> Cache {
        self.inner.max_bytes.store(bytes, Relaxed);
        self
    }

    /// Stops printing warnings to stderr (they are still kept for
    /// [`warnings`](Cache::warnings)). Applies to every clone.
    pub fn quiet(self, quiet: bool) -> Cache {
        self.inner.quiet.store(quiet, Relaxed);
        self
    }

    /// The directory given to [`open`](Cache::open).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether entries are read and written, only read, or neither.
    pub fn mode(&self) -> CacheMode {
        self.inner.mode
    }

    /// A snapshot of what this cache has done in this process.
    pub fn counters(&self) -> CacheCounters {
        let c = &self.inner.counters;
        CacheCounters {
            hits: c.hits.load(Relaxed),
            misses: c.misses.load(Relaxed),
            writes: c.writes.load(Relaxed),
            skipped: c.skipped.load(Relaxed),
            corrupt: c.corrupt.load(Relaxed),
            errors: c.errors.load(Relaxed),
        }
    }

    /// The warnings given so far (the last 100): damaged entries, failed writes, a
    /// read-only or unusable directory. Each was also printed to stderr unless
    /// [`quiet`](Cache::quiet).
    pub fn warnings(&self) -> Vec<String> {
        lock(&self.inner.warnings).clone()
    }

    /// How many results the directory holds and their size, by reading it.
    pub fn stats(&self) -> io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        for (_, len, _) in self.scan()? {
            stats.entries += 1;
            stats.bytes += len;
        }
        Ok(stats)
    }

    /// Removes every entry (and any temporary file a crashed writer left behind).
    /// Safe while other processes use the directory: their lookups then miss.
    pub fn clear(&self) -> io::Result<()> {
        for shard in read_dir_or_empty(&self.inner.entries)? {
            let shard = shard?.path();
            if !shard.is_dir() {
                continue;
            }
            for file in read_dir_or_empty(&shard)? {
                let path = file?.path();
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.inner.approx_bytes.store(0, Relaxed);
        Ok(())
    }

    /// Removes least recently used entries until the directory holds at most `bytes`;
    /// returns what is left.
    pub fn evict_to(&self, bytes: u64) -> io::Result<CacheStats> {
        let _one_at_a_time = lock(&self.inner.evicting);
        let mut entries = self.scan()?;
        entries.sort_by_key(|(modified, _, _)| *modified);
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        let mut left = entries.len() as u64;
        for (_, len, path) in entries {
            if total <= bytes {
                break;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    total -= len;
                    left -= 1;
                }
                // Another process evicted or replaced it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    total -= len;
                    left -= 1;
                }
                Err(e) => return Err(e),
            }
        }
        self.inner.approx_bytes.store(total, Relaxed);
        self.inner.sized.store(true, Relaxed);
        Ok(CacheStats {
            entries: left,
            bytes: total,
        })
    }

    /// Every entry: (modification time, length, path).
    fn scan(&self) -> io::Result<Vec<(SystemTime, u64, PathBuf)>> {
        let mut out = Vec::new();
        for shard in read_dir_or_empty(&self.inner.entries)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for file in read_dir_or_empty(&shard.path())? {
                let file = file?;
                let is_entry = file
                    .file_name()
                    .to_str()
                    .is_some_and(|name| Key::from_hex(name).is_some());
                if !is_entry {
                    continue;
                }
                // An entry removed since the listing is simply not counted.
                let Ok(meta) = file.metadata() else { continue };
                if meta.is_file() {
                    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    out.push((modified, meta.len(), file.path()));
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn is_on(&self) -> bool {
        self.inner.mode != CacheMode::Off
    }

    fn path(&self, key: &Key) -> PathBuf {
        let hex = key.to_hex();
        self.inner.entries.join(&hex[..2]).join(hex)
    }

    pub(crate) fn warn(&self, message: String) {
        if !self.inner.quiet.load(Relaxed) {
            eprintln!("delayed: cache: {message}");
        }
        let mut warnings = lock(&self.inner.warnings);
        if warnings.len() == KEPT_WARNINGS {
            warnings.remove(0);
        }
        warnings.push(message);
    }

    pub(crate) fn count_skipped(&self, n: u64) {
        self.inner.counters.skipped.fetch_add(n, Relaxed);
    }

    /// The stored result of task `name` with `key`, if there is a sound one. A damaged
    /// entry is reported, removed and treated as missing.
    pub(crate) fn load(&self, key: &Key, name: &str, codec: &Codec) -> Option<AnyValue> {
        let counters = &self.inner.counters;
        let found = self.load_inner(key, name, codec);
        match &found {
            Some(_) => counters.hits.fetch_add(1, Relaxed),
            None => counters.misses.fetch_add(1, Relaxed),
        };
        found
    }

    fn load_inner(&self, key: &Key, name: &str, codec: &Codec) -> Option<AnyValue> {
        if !self.is_on() {
            return None;
        }
        let path = self.path(key);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.failed(format!("cannot read {}: {e}; recomputing", path.display()));
                return None;
            }
        };
        let mut bytes = Vec::new();
        if let Err(e) = file.read_to_end(&mut bytes) {
            self.failed(format!("cannot read {}: {e}; recomputing", path.display()));
            return None;
        }
        let label = || format!("{name}-{}", key.short());
        let value = entry::payload(key, &bytes)
            .map_err(|why| why.to_string())
            .and_then(|payload| {
                (codec.decode)(payload).map_err(|e| {
                    format!(
                        "cannot decode it as `{}` ({e}; did the type change?)",
                        (codec.type_name)()
                    )
                })
            });
        match value {
            Ok(value) => {
                if self.inner.mode == CacheMode::ReadWrite {
                    // Least-recently-used eviction goes by modification time.
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(value)
            }
            Err(why) => {
                self.inner.counters.corrupt.fetch_add(1, Relaxed);
                self.warn(format!(
                    "damaged entry for task `{}` ({}): {why}; recomputing it",
                    label(),
                    path.display()
                ));
                drop(file);
                if self.inner.mode == CacheMode::ReadWrite {
                    let _ = fs::remove_file(&path);
                }
                None
            }
        }
    }

    /// Stores the result of task `name` with `key`. Failures are warnings: the compute
    /// goes on.
    pub(crate) fn store(&self, key: &Key, name: &str, codec: &Codec, value: &AnyValue) {
        if self.inner.mode != CacheMode::ReadWrite {
            return;
        }
        let payload = match (codec.encode)(value) {
            Ok(payload) => payload,
            Err(e) => {
                self.failed(format!(
                    "cannot encode the result of task `{name}-{}` as `{}`: {e}; not cached",
                    key.short(),
                    (codec.type_name)()
                ));
                return;
            }
        };
        let path = self.path(key);
        match self.write_atomically(&path, &entry::header(key, &payload), &payload) {
            Ok(len) => {
                self.inner.counters.writes.fetch_add(1, Relaxed);
                self.account(len);
            }
            Err(e) => self.failed(format!("cannot write {}: {e}", path.display())),
        }
    }

    fn failed(&self, message: String) {
        self.inner.counters.errors.fetch_add(1, Relaxed);
        self.warn(message);
    }

    /// Writes a temporary file beside `path` and renames it into place: readers (in this
    /// process or another) see the whole entry or none, and a crash leaves at most a
    /// temporary file, which [`clear`](Cache::clear) removes.
    fn write_atomically(&self, path: &Path, header: &[u8], payload: &[u8]) -> io::Result<u64> {
        let shard = path
            .parent()
            .ok_or_else(|| io::Error::other("an entry path has no parent"))?;
        fs::create_dir_all(shard)?;
        crate::atomic_file::write(path, |out| {
            out.write_all(header)?;
            out.write_all(payload)
        })?;
        Ok((header.len() + payload.len()) as u64)
    }

    /// Counts `added` bytes against the cap, evicting when over it.
    fn account(&self, added: u64) {
        let cap = self.inner.max_bytes.load(Relaxed);
        if cap == 0 {
            return;
        }
        if !self.inner.sized.swap(true, Relaxed) {
            // The first write under a cap measures what other runs left.
            if let Ok(stats) = self.stats() {
                self.inner.approx_bytes.store(stats.bytes, Relaxed);
                if stats.bytes > cap {
                    self.evict(cap);
                }
                return;
            }
        }
        let total = self.inner.approx_bytes.fetch_add(added, Relaxed) + added;
        if total > cap {
            self.evict(cap);
        }
    }

    fn evict(&self, cap: u64) {
        if let Err(e) = self.evict_to(cap / 10 * 9) {
            self.failed(format!(
                "cannot evict from {}: {e}",
                self.inner.entries.display()
            ));
        }
    }
}

/// Whether `dir` accepts new files.
fn probe_write(dir: &Path) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let probe = dir.join(format!(
        ".probe-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Relaxed)
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

/// Marks the directory as a cache for backup tools (<https://bford.info/cachedir/>).
fn write_cachedir_tag(dir: &Path) {
    let tag = dir.join("CACHEDIR.TAG");
    if !tag.exists() {
        let _ = fs::write(
            &tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n\
             # This directory holds results cached by the `delayed` crate.\n",
        );
    }
}

fn read_dir_or_empty(dir: &Path) -> io::Result<Vec<io::Result<fs::DirEntry>>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::codec_of;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("delayed-cache-unit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn key(n: u8) -> Key {
        Key::from_bytes([n; 32])
    }

    #[test]
    fn store_then_load() {
        let dir = temp_dir("roundtrip");
        let cache = Cache::open(&dir).unwrap().quiet(true);
        assert_eq!(cache.mode(), CacheMode::ReadWrite);
        assert!(dir.join("CACHEDIR.TAG").is_file());
        let codec = codec_of::<String>();
        assert!(cache.load(&key(1), "t", codec).is_none());
        let value: AnyValue = Arc::new(String::from("hello"));
        cache.store(&key(1), "t", codec, &value);
        let back = cache.load(&key(1), "t", codec).unwrap();
        assert_eq!(
            back.downcast_ref::<String>().map(String::as_str),
            Some("hello")
        );
        let counters = cache.counters();
        assert_eq!((counters.hits, counters.misses, counters.writes), (1, 1, 1));
        let stats = cache.stats().unwrap();
        assert_eq!(stats.entries, 1);
        assert_eq!(stats.bytes, (entry::HEADER_LEN + 6) as u64);
        cache.clear().unwrap();
        assert_eq!(cache.stats().unwrap(), CacheStats::default());
        assert!(cache.load(&key(1), "t", codec).is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_entries_are_reported_and_removed() {
        let dir = temp_dir("damaged");
        let cache = Cache::open(&dir).unwrap().quiet(true);
        let codec = codec_of::<u64>();
        cache.store(&key(2), "t", codec, &(Arc::new(5u64) as AnyValue));
        let path = cache.path(&key(2));
        let mut bytes = fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 1);
        fs::write(&path, &bytes).unwrap();
        assert!(cache.load(&key(2), "t", codec).is_none());
        assert_eq!(cache.counters().corrupt, 1);
        assert!(
            cache.warnings()[0].contains("truncated"),
            "{:?}",
            cache.warnings()
        );
        assert!(!path.exists(), "the damaged entry is removed");

        // A sound entry that no longer decodes as the result type: also recomputed.
        let hi: AnyValue = Arc::new(String::from("hi"));
        cache.store(&key(3), "t", codec_of::<String>(), &hi);
        assert!(cache.load(&key(3), "t", codec_of::<[u64; 4]>()).is_none());
        assert_eq!(cache.counters().corrupt, 2);
        assert!(cache.warnings()[1].contains("did the type change"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn eviction_removes_least_recently_used() {
        let dir = temp_dir("evict");
        let cache = Cache::open(&dir).unwrap().quiet(true);
        let codec = codec_of::<Vec<u8>>();
        let blob: AnyValue = Arc::new(vec![0u8; 1000]);
        for n in 0..4 {
            cache.store(&key(n), "t", codec, &blob);
            // Distinct modification times, oldest first.
            let when =
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000 + u64::from(n));
            File::options()
                .write(true)
                .open(cache.path(&key(n)))
                .and_then(|f| f.set_modified(when))
                .unwrap();
        }
        // A hit makes entry 0 the most recently used.
        assert!(cache.load(&key(0), "t", codec).is_some());
        let entry_len = cache.stats().unwrap().bytes / 4;
        let left = cache.evict_to(2 * entry_len).unwrap();
        assert_eq!(left.entries, 2);
        assert!(cache.path(&key(0)).exists());
        assert!(!cache.path(&key(1)).exists());
        assert!(!cache.path(&key(2)).exists());
        assert!(cache.path(&key(3)).exists());

        // With a cap, writes evict by themselves.
        let capped = cache.clone().max_bytes(3 * entry_len);
        for n in 10..20 {
            capped.store(&key(n), "t", codec, &blob);
        }
        assert!(capped.stats().unwrap().bytes <= 3 * entry_len);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unusable_dir_is_off() {
        let dir = temp_dir("off");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        assert!(Cache::open(file.join("cache")).is_err());
        let cache = Cache::open_or_off(file.join("cache")).quiet(true);
        assert_eq!(cache.mode(), CacheMode::Off);
        assert!(cache.warnings()[0].contains("computing without a cache"));
        let codec = codec_of::<u8>();
        cache.store(&key(1), "t", codec, &(Arc::new(1u8) as AnyValue));
        assert!(cache.load(&key(1), "t", codec).is_none());
        assert_eq!(cache.counters().writes, 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
