//! A getChildren answer's names, held as their jute encoding (`vector<ustring>`).
//!
//! The tree builds a parent's sorted list once and every read until the next change to that
//! child set shares it (an `Arc`), so a reply of a thousand names costs one copy instead of a
//! thousand allocations and a sort. ZooKeeper keeps a response cache for the same reason
//! (`maxGetChildrenResponseCacheSize`).

use std::fmt;
use std::sync::Arc;

use super::jute::{DecodeError, JuteReader, JuteWriter};

/// Child names in the order they were given, encoded once.
#[derive(Clone, PartialEq, Eq)]
pub struct ChildNames {
    count: u32,
    /// The whole `vector<ustring>`: count, then each name's length and UTF-8 bytes.
    wire: Arc<[u8]>,
}

impl ChildNames {
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> ChildNames {
        let mut wire = vec![0; 4];
        let mut w = JuteWriter::new(&mut wire);
        let mut count: u32 = 0;
        for name in names {
            w.write_ustring(name.as_ref());
            count += 1;
        }
        wire[..4].copy_from_slice(&count.to_be_bytes());
        ChildNames {
            count,
            wire: wire.into(),
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the encoded vector, count included.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut rest = &self.wire[4..];
        (0..self.count).map(move |_| {
            let (len, tail) = rest.split_at(4);
            let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
            let (name, tail) = tail.split_at(len);
            rest = tail;
            // Only `from_names` and `read` build the wire, both from valid UTF-8.
            std::str::from_utf8(name).expect("child names are UTF-8")
        })
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }

    /// Writes the vector exactly as `write_string_vec` would.
    pub fn write(&self, w: &mut JuteWriter) {
        w.write_raw(&self.wire);
    }

    /// Reads a `vector<ustring>`. Names that are standard UTF-8 are copied as they came; a
    /// null vector, a null name or Java's modified UTF-8 goes through `read_string_vec` and is
    /// encoded again (null reads as empty, as there).
    pub fn read(r: &mut JuteReader) -> Result<ChildNames, DecodeError> {
        let start = r.clone();
        let rest = r.rest();
        if let Some((count, used)) = plain_vector_len(rest) {
            r.skip(used)?;
            return Ok(ChildNames {
                count,
                wire: rest[..used].into(),
            });
        }
        *r = start;
        Ok(ChildNames::from_names(r.read_string_vec()?))
    }
}

/// The count and byte length of a vector of non-null, standard UTF-8 strings at the front of
/// `buf`; `None` when anything else is there (the slow path decides what is wrong).
fn plain_vector_len(buf: &[u8]) -> Option<(u32, usize)> {
    let int_at = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(buf.get(at..at + 4)?.try_into().ok()?))
    };
    let count = u32::try_from(int_at(0)?).ok()?;
    let mut at = 4;
    for _ in 0..count {
        let len = usize::try_from(int_at(at)?).ok()?;
        let name = buf.get(at + 4..at + 4 + len)?;
        std::str::from_utf8(name).ok()?;
        at += 4 + len;
    }
    Some((count, at))
}

impl Default for ChildNames {
    fn default() -> Self {
        ChildNames::from_names(std::iter::empty::<&str>())
    }
}

impl fmt::Debug for ChildNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> From<Vec<S>> for ChildNames {
    fn from(names: Vec<S>) -> Self {
        ChildNames::from_names(names)
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for ChildNames {
    fn eq(&self, other: &Vec<S>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> ChildNames {
        let mut r = JuteReader::new(bytes);
        let names = ChildNames::read(&mut r).unwrap();
        assert!(r.is_empty());
        names
    }

    #[test]
    fn writes_what_write_string_vec_writes_and_reads_it_back() {
        let names = vec!["a".to_string(), "βeta".to_string(), String::new()];
        let mut expected = Vec::new();
        JuteWriter::new(&mut expected).write_string_vec(&names);
        let list = ChildNames::from_names(&names);
        let mut out = Vec::new();
        list.write(&mut JuteWriter::new(&mut out));
        assert_eq!(out, expected);
        assert_eq!(decode(&out), list);
        assert_eq!(list.to_vec(), names);
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn null_vector_and_null_names_read_as_empty() {
        assert!(decode(&(-1i32).to_be_bytes()).is_empty());
        let mut bytes = Vec::new();
        let mut w = JuteWriter::new(&mut bytes);
        w.write_vec_len(2);
        w.write_ustring_opt(None);
        w.write_ustring("x");
        assert_eq!(decode(&bytes), vec!["", "x"]);
    }

    #[test]
    fn java_modified_utf8_is_decoded_like_read_string_vec() {
        // U+0000 as Java writes it in modified UTF-8: C0 80.
        let mut bytes = Vec::new();
        let mut w = JuteWriter::new(&mut bytes);
        w.write_vec_len(1);
        w.write_buffer(&[b'a', 0xC0, 0x80]);
        let expected = JuteReader::new(&bytes).read_string_vec().unwrap();
        assert_eq!(decode(&bytes).to_vec(), expected);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let list = ChildNames::from_names(["abc", "de"]);
        let mut out = Vec::new();
        list.write(&mut JuteWriter::new(&mut out));
        for cut in 1..out.len() {
            assert!(
                ChildNames::read(&mut JuteReader::new(&out[..cut])).is_err(),
                "{cut}"
            );
        }
    }
}
