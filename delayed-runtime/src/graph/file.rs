//! Files as inputs, the way build tools treat them: a node keyed by the file's contents.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::graph::delayed::Delayed;
use crate::graph::node::{Body, InputList, Node, Scope};
use crate::key::{fresh_key, Key, KeyHasher};

/// A file as an input of the graph: a data node holding `path`, keyed by the path as
/// given *and the blake3 of the file's bytes*, so that any change to the file changes the
/// key of everything computed from it, and a `#[delayed(cache)]` function reading it
/// misses the cache instead of serving stale results. A function keyed only by a path
/// (`load(path)`) would keep its key when the file changes.
///
/// The file is read (streamed, never held in memory) when `file` is called, since a key
/// is made when its node is built. Within one process a file whose size and modification
/// time are unchanged since it was last hashed is not read again; a change that keeps
/// both (within the file system's time resolution) is not seen until the next process.
/// The path is used as given (a relative path stays relative), so keys are the same in
/// every checkout.
///
/// A file that cannot be read gives a node with a fresh key that fails when computed,
/// with an error naming the file: nothing is cached from it.
///
/// ```
/// use std::path::Path;
/// use delayed::file;
///
/// let path = std::env::temp_dir().join("delayed-doc-file.txt");
/// std::fs::write(&path, "one\n")?;
/// let before = file(&path);
/// let lines = before.map(|p| std::fs::read_to_string(p).map_or(0, |s| s.lines().count()));
/// assert_eq!(lines.compute()?, 1);
///
/// std::fs::write(&path, "one\ntwo\n")?;
/// assert_ne!(file(&path).key(), before.key()); // new contents, new key
/// assert_eq!(file(&path).key(), file(&path).key());
///
/// let missing = file("no/such/file.txt");
/// let err = missing.compute().unwrap_err();
/// assert!(err.to_string().contains("no/such/file.txt"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn file(path: impl AsRef<Path>) -> Delayed<PathBuf> {
    let path = path.as_ref().to_path_buf();
    match content_hash(&path) {
        Ok(contents) => {
            let mut h = KeyHasher::new("delayed.file");
            h.write_bytes(path.as_os_str().as_encoded_bytes());
            h.write_key(&contents);
            let body = Body::data(Arc::new(path));
            let node = Node::new(h.finish(), "file", Scope::Portable, InputList::Zero, body);
            Delayed::from_node(Arc::new(node))
        }
        Err(error) => unreadable(path, error),
    }
}

/// The node of a file that cannot be read: a task that fails with the reason.
fn unreadable(path: PathBuf, error: io::Error) -> Delayed<PathBuf> {
    let message = format!("cannot read input file {}: {error}", path.display());
    let body = Body::Task(Box::new(move |_| {
        Err(io::Error::new(io::ErrorKind::NotFound, message.clone()).into())
    }));
    let node = Node::new(
        fresh_key("file"),
        "file",
        Scope::Process,
        InputList::Zero,
        body,
    );
    Delayed::from_node(Arc::new(node))
}

/// What a file looked like when it was hashed.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// blake3 of the file's bytes, reusing this process's last hash of it while its size and
/// modification time stay the same.
fn content_hash(path: &Path) -> io::Result<Key> {
    static HASHED: Mutex<Option<HashMap<PathBuf, (Stamp, Key)>>> = Mutex::new(None);
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory, not a file",
        ));
    }
    let stamp = Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    };
    let id = std::fs::canonicalize(path)?;
    let lock = || HASHED.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some((seen, key)) = lock().as_ref().and_then(|m| m.get(&id)) {
        if *seen == stamp && stamp.modified.is_some() {
            return Ok(*key);
        }
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    let key = Key::from_bytes(*hasher.finalize().as_bytes());
    lock()
        .get_or_insert_with(HashMap::new)
        .insert(id, (stamp, key));
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_follows_contents_and_path_as_given() {
        let dir = std::env::temp_dir().join(format!("delayed-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.txt");
        let b = dir.join("b.txt");
        std::fs::write(&a, "same").unwrap();
        std::fs::write(&b, "same").unwrap();
        let ka = file(&a).key();
        assert_eq!(ka, file(&a).key());
        assert_ne!(ka, file(&b).key(), "the path is part of the key");
        std::fs::write(&a, "different, and longer").unwrap();
        assert_ne!(ka, file(&a).key());
        assert_eq!(file(&a).compute().unwrap(), a);
        assert!(file(&dir).compute().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
