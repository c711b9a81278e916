//! Jute primitives: the big-endian binary encoding of `zookeeper.jute` records
//! (ZK-PROTOCOL.md section 3).
//!
//! `JuteReader` never panics on input: every length and count is checked against the bytes
//! left and against a maximum (jute.maxbuffer + extrasize, as `BinaryInputArchive.checkLength`
//! does), and vectors grow only as elements actually decode, so a lying count costs nothing.

use std::fmt;

use super::records::{Acl, ClientInfo, Id, Stat};

/// Default limit for one buffer or string: jute.maxbuffer (0xfffff) plus
/// `zookeeper.jute.maxbuffer.extrasize`, which defaults to jute.maxbuffer.
pub const DEFAULT_MAX_LEN: usize = 1_048_575 * 2;

/// Why a jute record could not be decoded. The server answers any of these with
/// MARSHALLINGERROR (-5), or closes the connection if it happens in the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a field.
    Truncated,
    /// A length or count below -1.
    BadLength(i32),
    /// A buffer or string length above the reader's maximum.
    TooLong(usize),
    /// An opcode (or txn type) this codec does not accept in this position.
    UnknownOpcode(i32),
    /// Structurally wrong input, e.g. mixing read and write ops in a multi.
    Malformed(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "jute record truncated"),
            DecodeError::BadLength(len) => write!(f, "jute length {len} is negative"),
            DecodeError::TooLong(len) => write!(f, "jute length {len} exceeds the maximum"),
            DecodeError::UnknownOpcode(op) => write!(f, "unknown opcode {op}"),
            DecodeError::Malformed(what) => write!(f, "malformed jute record: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads jute fields from a byte slice, front to back.
#[derive(Clone, Debug)]
pub struct JuteReader<'a> {
    buf: &'a [u8],
    max_len: usize,
}

impl<'a> JuteReader<'a> {
    pub fn new(buf: &'a [u8]) -> JuteReader<'a> {
        JuteReader {
            buf,
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// A reader whose buffer and string lengths may not exceed `max_len` bytes.
    pub fn with_max_len(buf: &'a [u8], max_len: usize) -> JuteReader<'a> {
        JuteReader { buf, max_len }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.buf = tail;
        Ok(*head)
    }

    /// Consumes `len` bytes.
    pub fn skip(&mut self, len: usize) -> Result<(), DecodeError> {
        self.take_slice(len).map(|_| ())
    }

    fn take_slice(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    pub fn read_byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    /// Any non-zero byte reads as true, as in `DataInputStream.readBoolean`.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.read_byte()? != 0)
    }

    pub fn read_int(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take::<4>()?))
    }

    pub fn read_long(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take::<8>()?))
    }

    /// A length prefix for a buffer or string: `None` for -1, checked against the maximum.
    fn read_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let len = self.read_int()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| DecodeError::BadLength(len))?;
        if len > self.max_len {
            return Err(DecodeError::TooLong(len));
        }
        Ok(Some(len))
    }

    /// A buffer; length -1 is `None` (null), 0 is an empty buffer.
    pub fn read_buffer(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.read_len()? {
            None => Ok(None),
            Some(len) => Ok(Some(self.take_slice(len)?.to_vec())),
        }
    }

    /// A buffer with null read as empty.
    pub fn read_buffer_or_empty(&mut self) -> Result<Vec<u8>, DecodeError> {
        Ok(self.read_buffer()?.unwrap_or_default())
    }

    /// A ustring; length -1 is `None` (null).
    pub fn read_ustring(&mut self) -> Result<Option<String>, DecodeError> {
        match self.read_len()? {
            None => Ok(None),
            Some(len) => Ok(Some(decode_java_utf8(self.take_slice(len)?))),
        }
    }

    /// A ustring with null read as "".
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        Ok(self.read_ustring()?.unwrap_or_default())
    }

    /// A vector count; `None` for -1. A count that could not fit in the remaining bytes (every
    /// element takes at least one) is rejected before any element is read.
    pub fn read_vec_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let count = self.read_int()?;
        if count == -1 {
            return Ok(None);
        }
        let count = usize::try_from(count).map_err(|_| DecodeError::BadLength(count))?;
        if count > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(Some(count))
    }

    /// A vector of elements read by `read_one`; null reads as empty.
    pub fn read_vec<T>(
        &mut self,
        mut read_one: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.read_vec_len()?.unwrap_or(0);
        let mut out = Vec::new();
        for _ in 0..count {
            out.push(read_one(self)?);
        }
        Ok(out)
    }

    /// `vector<ustring>`; a null vector reads as empty and null elements as "".
    pub fn read_string_vec(&mut self) -> Result<Vec<String>, DecodeError> {
        self.read_vec(|r| r.read_string())
    }

    /// Stat: 68 bytes.
    pub fn read_stat(&mut self) -> Result<Stat, DecodeError> {
        Ok(Stat {
            czxid: self.read_long()?,
            mzxid: self.read_long()?,
            ctime: self.read_long()?,
            mtime: self.read_long()?,
            version: self.read_int()?,
            cversion: self.read_int()?,
            aversion: self.read_int()?,
            ephemeral_owner: self.read_long()?,
            data_length: self.read_int()?,
            num_children: self.read_int()?,
            pzxid: self.read_long()?,
        })
    }

    /// StatPersisted (snapshots): 60 bytes, without dataLength and numChildren, which come
    /// back as 0.
    pub fn read_stat_persisted(&mut self) -> Result<Stat, DecodeError> {
        Ok(Stat {
            czxid: self.read_long()?,
            mzxid: self.read_long()?,
            ctime: self.read_long()?,
            mtime: self.read_long()?,
            version: self.read_int()?,
            cversion: self.read_int()?,
            aversion: self.read_int()?,
            ephemeral_owner: self.read_long()?,
            data_length: 0,
            num_children: 0,
            pzxid: self.read_long()?,
        })
    }

    /// Id {s scheme, s id}.
    pub fn read_id(&mut self) -> Result<Id, DecodeError> {
        Ok(Id {
            scheme: self.read_string()?,
            id: self.read_string()?,
        })
    }

    /// ACL {i perms, Id id}.
    pub fn read_acl(&mut self) -> Result<Acl, DecodeError> {
        Ok(Acl {
            perms: self.read_int()?,
            id: self.read_id()?,
        })
    }

    /// `vector<ACL>`; null reads as empty.
    pub fn read_acl_vec(&mut self) -> Result<Vec<Acl>, DecodeError> {
        self.read_vec(|r| r.read_acl())
    }

    /// ClientInfo {s authScheme, s user}.
    pub fn read_client_info(&mut self) -> Result<ClientInfo, DecodeError> {
        Ok(ClientInfo {
            auth_scheme: self.read_string()?,
            user: self.read_string()?,
        })
    }
}

/// Decodes a jute string. Valid UTF-8 is taken as is. Otherwise the bytes are read as Java's
/// CESU-8 (what `BinaryOutputArchive` writes: each UTF-16 unit on its own, so a supplementary
/// character is two 3-byte surrogate encodings). Any other invalid sequence, modified UTF-8's
/// `C0 80` for NUL included, becomes U+FFFD, as Java's `new String(bytes, UTF_8)` in
/// `BinaryInputArchive.readString` makes it: the request then fails where ZooKeeper's fails
/// (a path holding U+FFFD is invalid, so a write gets BADARGUMENTS and a read NONODE), not
/// with MARSHALLINGERROR.
pub fn decode_java_utf8(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                out.push_str(&String::from_utf8_lossy(valid));
                let (ch, used) = decode_java_special(bad)
                    .unwrap_or(('\u{FFFD}', e.error_len().unwrap_or(bad.len())));
                out.push(ch);
                rest = &bad[used..];
            }
        }
    }
}

/// One CESU-8 surrogate pair (6 bytes) at the start of `bytes`; returns the character and how
/// many bytes it took.
fn decode_java_special(bytes: &[u8]) -> Option<(char, usize)> {
    match bytes {
        [0xED, a, b, 0xED, c, d, ..]
            if (0xA0..=0xAF).contains(a)
                && (0xB0..=0xBF).contains(c)
                && is_continuation(*b)
                && is_continuation(*d) =>
        {
            let high = 0xD800 | (u32::from(a & 0x0F) << 6) | u32::from(b & 0x3F);
            let low = 0xDC00 | (u32::from(c & 0x0F) << 6) | u32::from(d & 0x3F);
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code).map(|ch| (ch, 6))
        }
        _ => None,
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Appends jute fields to a byte vector.
///
/// Strings are written as standard UTF-8 (a supplementary character as 4 bytes); the Java
/// reader (`new String(bytes, UTF_8)`) accepts that.
#[derive(Debug)]
pub struct JuteWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> JuteWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> JuteWriter<'a> {
        JuteWriter { out }
    }

    /// Bytes in the underlying vector (including anything written before this writer).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn write_byte(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn write_bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }

    pub fn write_int(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn write_long(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A length prefix. Jute lengths are i32; a longer buffer cannot be represented, and any
    /// reader would refuse it long before (jute.maxbuffer), so it is clamped rather than
    /// wrapped.
    fn write_len(&mut self, len: usize) {
        self.write_int(i32::try_from(len).unwrap_or(i32::MAX));
    }

    pub fn write_buffer(&mut self, v: &[u8]) {
        self.write_len(v.len());
        self.out.extend_from_slice(v);
    }

    /// Bytes that are already jute-encoded.
    pub fn write_raw(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }

    /// A null buffer: length -1.
    pub fn write_null_buffer(&mut self) {
        self.write_int(-1);
    }

    pub fn write_ustring(&mut self, v: &str) {
        self.write_buffer(v.as_bytes());
    }

    /// A ustring that may be null (length -1).
    pub fn write_ustring_opt(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.write_ustring(s),
            None => self.write_int(-1),
        }
    }

    /// A vector count.
    pub fn write_vec_len(&mut self, count: usize) {
        self.write_len(count);
    }

    pub fn write_string_vec(&mut self, v: &[String]) {
        self.write_vec_len(v.len());
        for s in v {
            self.write_ustring(s);
        }
    }

    /// Stat: 68 bytes.
    pub fn write_stat(&mut self, s: &Stat) {
        self.write_long(s.czxid);
        self.write_long(s.mzxid);
        self.write_long(s.ctime);
        self.write_long(s.mtime);
        self.write_int(s.version);
        self.write_int(s.cversion);
        self.write_int(s.aversion);
        self.write_long(s.ephemeral_owner);
        self.write_int(s.data_length);
        self.write_int(s.num_children);
        self.write_long(s.pzxid);
    }

    /// StatPersisted (snapshots): 60 bytes; dataLength and numChildren are not written.
    pub fn write_stat_persisted(&mut self, s: &Stat) {
        self.write_long(s.czxid);
        self.write_long(s.mzxid);
        self.write_long(s.ctime);
        self.write_long(s.mtime);
        self.write_int(s.version);
        self.write_int(s.cversion);
        self.write_int(s.aversion);
        self.write_long(s.ephemeral_owner);
        self.write_long(s.pzxid);
    }

    pub fn write_id(&mut self, id: &Id) {
        self.write_ustring(&id.scheme);
        self.write_ustring(&id.id);
    }

    pub fn write_acl(&mut self, acl: &Acl) {
        self.write_int(acl.perms);
        self.write_id(&acl.id);
    }

    pub fn write_acl_vec(&mut self, acl: &[Acl]) {
        self.write_vec_len(acl.len());
        for a in acl {
            self.write_acl(a);
        }
    }

    pub fn write_client_info(&mut self, info: &ClientInfo) {
        self.write_ustring(&info.auth_scheme);
        self.write_ustring(&info.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cesu8_surrogate_pair_decodes_to_one_char() {
        // U+1F600 as Java writes it: D83D DE00, each as 3 bytes.
        let bytes = [b'/', 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80, b'x'];
        assert_eq!(decode_java_utf8(&bytes), "/\u{1F600}x");
    }

    #[test]
    fn invalid_sequences_become_replacement_chars() {
        // Java makes one U+FFFD of a lone surrogate's three bytes, this decoder three: either
        // way the string is not a valid path, and no valid string decodes differently.
        assert_eq!(decode_java_utf8(&[0xED, 0xA0, 0xBD]), "\u{FFFD}".repeat(3));
        assert_eq!(decode_java_utf8(&[0xFF]), "\u{FFFD}");
        assert_eq!(decode_java_utf8(&[b'a', 0xC3]), "a\u{FFFD}");
        assert_eq!(
            decode_java_utf8(&[0xFF, b'/', 0xC3, b'x']),
            "\u{FFFD}/\u{FFFD}x"
        );
    }

    #[test]
    fn modified_utf8_nul_is_replaced_as_java_does() {
        // Java's UTF-8 decoder refuses overlong forms: ZooKeeper answers exists("/\xC0\x80")
        // with NONODE, not with the BADARGUMENTS a NUL in the path would get (probed).
        assert_eq!(decode_java_utf8(&[b'a', 0xC0, 0x80]), "a\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn lengths_are_checked() {
        let mut r = JuteReader::new(&[0xFF, 0xFF, 0xFF, 0xFE]);
        assert_eq!(r.read_buffer(), Err(DecodeError::BadLength(-2)));
        let mut r = JuteReader::with_max_len(&[0, 0, 0, 5, 1, 2, 3, 4, 5], 4);
        assert_eq!(r.read_buffer(), Err(DecodeError::TooLong(5)));
        let mut r = JuteReader::new(&[0, 0, 0, 5, 1, 2]);
        assert_eq!(r.read_buffer(), Err(DecodeError::Truncated));
        let mut r = JuteReader::new(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(r.read_ustring(), Ok(None));
        assert!(r.is_empty());
    }
}
