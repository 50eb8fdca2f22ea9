//! Which key a task's result is stored under on disk, if any.
//!
//! A node's [`Scope`] says how far its key holds. Portable keys name a file as they are.
//! Build-scoped keys (upstream of them is code the macros could not see whole, such as a
//! plain fn through `delay!`) are valid for one executable only: they are stored under a
//! key derived from the node's key and a fingerprint of the running executable (blake3 of
//! its bytes), so any rebuild that changes the program misses. Process-scoped keys
//! (`TypeId` identities, fresh keys) are never stored or looked up.

use std::sync::OnceLock;

use crate::graph::node::{Node, Scope};
use crate::key::{Key, KeyHasher};

/// The key under which `node`'s result may be read from or written to disk.
pub(crate) fn disk_key(node: &Node) -> Option<Key> {
    match node.scope() {
        Scope::Portable => Some(node.key()),
        Scope::Build => build_fingerprint().map(|build| {
            let mut h = KeyHasher::new("delayed.build-key");
            h.write_key(&build);
            h.write_key(&node.key());
            h.finish()
        }),
        Scope::Process => None,
    }
}

/// blake3 of the running executable, read once per process; `None` (nothing of build
/// scope is cached) when it cannot be read.
pub(crate) fn build_fingerprint() -> Option<Key> {
    static FINGERPRINT: OnceLock<Option<Key>> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        let file = std::fs::File::open(exe).ok()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(file).ok()?;
        Some(Key::from_bytes(*hasher.finalize().as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;

    #[test]
    fn scopes_choose_the_disk_key() {
        let portable = value(1i64) + 1;
        assert_eq!(disk_key(&portable.node), Some(portable.key()));
        fn abs(v: &i64) -> i64 {
            v.abs()
        }
        let build = portable.map(abs);
        let on_disk = disk_key(&build.node).expect("the test binary can be read");
        assert_ne!(on_disk, build.key(), "the fingerprint is mixed in");
        assert_eq!(disk_key(&build.node), Some(on_disk));
        let process = portable.map(|v| v * 2);
        assert_eq!(disk_key(&process.node), None);
        // Downstream nodes inherit the narrowest scope.
        assert_eq!(disk_key(&(&process + 1).node), None);
        assert!(disk_key(&(&build + 1).node).is_some_and(|k| k != (&build + 1).key()));
    }
}
