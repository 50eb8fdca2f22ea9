//! The format of one cache entry: a small fixed header, then the payload as encoded.
//!
//! ```text
//! offset  size  field
//!      0     8  magic b"DLYCACHE"
//!      8     4  format version, u32 little-endian (VERSION)
//!     12     4  reserved, zero
//!     16    32  the task's key (an entry copied to the wrong name is rejected)
//!     48     8  payload length, u64 little-endian
//!     56    32  blake3 of the payload
//!     88     …  payload (postcard; byte blobs appear in it as they are)
//! ```
//!
//! A truncated, extended or altered file fails the length or checksum test and is
//! recomputed.

use std::fmt;

use crate::key::Key;

const MAGIC: &[u8; 8] = b"DLYCACHE";
/// Bumped whenever the layout, the payload encoding or the key scheme changes (3: a call
/// of the stream whose arguments are all inputs is keyed as `keyed_hash(its identity's
/// shape, the inputs' keys)`, `keying.rs`).
pub(crate) const VERSION: u32 = 3;
pub(crate) const HEADER_LEN: usize = 88;

/// Why stored bytes are not a valid entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    TooShort(usize),
    Magic,
    Version(u32),
    WrongKey,
    Length { header: u64, actual: u64 },
    Checksum,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::TooShort(n) => write!(f, "{n} bytes is shorter than the header"),
            Invalid::Magic => write!(f, "not a delayed cache entry"),
            Invalid::Version(v) => {
                write!(f, "format version {v}, this build reads {VERSION}")
            }
            Invalid::WrongKey => write!(f, "the entry belongs to another key"),
            Invalid::Length { header, actual } => {
                write!(
                    f,
                    "truncated or extended: header says {header} bytes, found {actual}"
                )
            }
            Invalid::Checksum => write!(f, "checksum mismatch"),
        }
    }
}

/// The header for `payload` stored under `key`.
pub(crate) fn header(key: &Key, payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[16..48].copy_from_slice(key.as_bytes());
    out[48..56].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    out[56..88].copy_from_slice(blake3::hash(payload).as_bytes());
    out
}

/// The payload of a stored entry, after checking every header field.
pub(crate) fn payload<'a>(key: &Key, bytes: &'a [u8]) -> Result<&'a [u8], Invalid> {
    if bytes.len() < HEADER_LEN {
        return Err(Invalid::TooShort(bytes.len()));
    }
    let (head, payload) = bytes.split_at(HEADER_LEN);
    if &head[0..8] != MAGIC {
        return Err(Invalid::Magic);
    }
    let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    if version != VERSION {
        return Err(Invalid::Version(version));
    }
    if &head[16..48] != key.as_bytes() {
        return Err(Invalid::WrongKey);
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[48..56]);
    let header_len = u64::from_le_bytes(len);
    if header_len != payload.len() as u64 {
        return Err(Invalid::Length {
            header: header_len,
            actual: payload.len() as u64,
        });
    }
    if blake3::hash(payload).as_bytes() != &head[56..88] {
        return Err(Invalid::Checksum);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &Key, payload: &[u8]) -> Vec<u8> {
        [&header(key, payload)[..], payload].concat()
    }

    #[test]
    fn round_trip() {
        let key = Key::from_bytes([7; 32]);
        let bytes = entry(&key, b"hello");
        assert_eq!(bytes.len(), HEADER_LEN + 5);
        assert_eq!(payload(&key, &bytes), Ok(&b"hello"[..]));
        assert_eq!(payload(&key, &entry(&key, b"")), Ok(&b""[..]));
    }

    #[test]
    fn damage_is_detected() {
        let key = Key::from_bytes([7; 32]);
        let good = entry(&key, b"hello world");
        assert_eq!(payload(&key, &good[..10]), Err(Invalid::TooShort(10)));
        assert_eq!(
            payload(&key, &good[..good.len() - 1]),
            Err(Invalid::Length {
                header: 11,
                actual: 10
            })
        );
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(
            payload(&key, &longer),
            Err(Invalid::Length { .. })
        ));
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(payload(&key, &flipped), Err(Invalid::Checksum));
        let mut magic = good.clone();
        magic[0] = b'X';
        assert_eq!(payload(&key, &magic), Err(Invalid::Magic));
        let mut version = good.clone();
        version[8] = 9;
        assert_eq!(payload(&key, &version), Err(Invalid::Version(9)));
        assert_eq!(
            payload(&Key::from_bytes([8; 32]), &good),
            Err(Invalid::WrongKey)
        );
        assert!(!Invalid::Checksum.to_string().is_empty());
    }
}
