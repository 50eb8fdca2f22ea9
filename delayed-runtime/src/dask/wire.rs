//! The bytes between our processes: frames of fields (to and from the Python driver), and
//! the little-endian records inside partition payloads and results.
//!
//! A *frame* is `u32` field count, then each field as `u32` length and bytes, all
//! little-endian: the Python side reads it with `struct` alone.

use std::io::{self, Read, Write};

/// Writes one frame of `fields`.
pub(crate) fn write_frame(out: &mut impl Write, fields: &[&[u8]]) -> io::Result<()> {
    let mut head = Vec::with_capacity(4 + 4 * fields.len());
    head.extend_from_slice(&len32(fields.len())?.to_le_bytes());
    out.write_all(&head)?;
    for field in fields {
        out.write_all(&len32(field.len())?.to_le_bytes())?;
        out.write_all(field)?;
    }
    out.flush()
}

/// Reads one frame; `None` at a clean end of stream.
pub(crate) fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<Vec<u8>>>> {
    let mut word = [0u8; 4];
    match input.read_exact(&mut word) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let count = u32::from_le_bytes(word) as usize;
    let mut fields = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        input.read_exact(&mut word)?;
        let len = u32::from_le_bytes(word) as usize;
        let mut field = Vec::new();
        input.by_ref().take(len as u64).read_to_end(&mut field)?;
        if field.len() != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        fields.push(field);
    }
    Ok(Some(fields))
}

fn len32(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::other("a field of 4 GiB or more cannot be sent"))
}

/// Appends records to a byte buffer.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        self.raw(bytes);
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}

/// Reads records back; every read checks the bounds.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

/// A payload that does not parse.
/// Field `i` of a driver's reply as text (empty when the reply is shorter).
pub(crate) fn text(reply: &[Vec<u8>], i: usize) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(reply.get(i).map_or(&[][..], |f| f))
}

/// Field `i` of a driver's reply as a count, if it is one.
pub(crate) fn count(reply: &[Vec<u8>], i: usize) -> Option<usize> {
    text(reply, i).parse().ok()
}

pub(crate) fn malformed() -> String {
    "malformed payload (is the worker running the same binary?)".to_owned()
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }
    pub(crate) fn raw(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err(malformed());
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.raw(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.raw(4)?);
        Ok(u32::from_le_bytes(w))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.raw(8)?);
        Ok(u64::from_le_bytes(w))
    }
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = usize::try_from(self.u64()?).map_err(|_| malformed())?;
        self.raw(n)
    }
    pub(crate) fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|_| malformed())
    }
    pub(crate) fn key(&mut self) -> Result<crate::key::Key, String> {
        let mut k = [0u8; 32];
        k.copy_from_slice(self.raw(32)?);
        Ok(crate::key::Key::from_bytes(k))
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut out = Vec::new();
        write_frame(&mut out, &[b"run", b"", &[0, 1, 2]]).unwrap();
        write_frame(&mut out, &[]).unwrap();
        let mut input = out.as_slice();
        let first = read_frame(&mut input).unwrap().unwrap();
        assert_eq!(first, vec![b"run".to_vec(), vec![], vec![0, 1, 2]]);
        assert_eq!(read_frame(&mut input).unwrap().unwrap().len(), 0);
        assert!(read_frame(&mut input).unwrap().is_none());
        let mut cut = &out[..6];
        assert!(read_frame(&mut cut).is_err());
    }

    #[test]
    fn records_round_trip_and_check_bounds() {
        let mut w = Writer::default();
        w.u8(7);
        w.u32(9);
        w.str("name");
        w.bytes(&[1, 2]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u32().unwrap(), 9);
        assert_eq!(r.str().unwrap(), "name");
        assert_eq!(r.bytes().unwrap(), [1, 2]);
        assert!(r.is_empty());
        assert!(r.u8().is_err());
    }
}
