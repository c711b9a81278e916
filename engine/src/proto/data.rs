//! Znode data as requests, txns, trees and replies hold it. ZooKeeper tells null data (a jute
//! buffer of length -1: `create(path, null)`, `setData(path, null)`) from empty data (length
//! 0), stores the null, and hands it back as null from getData, also after a restart; so this
//! type keeps the difference and reads as an empty slice wherever only the bytes matter
//! (lengths, Stat.dataLength, size limits).

use super::jute::{DecodeError, JuteReader, JuteWriter};
use std::ops::Deref;
use std::sync::Arc;

/// Shared bytes, or null. Shared so the pipeline's tree and every shard replica applying the
/// same txn keep one copy of the bytes.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Data(Option<Arc<[u8]>>);

impl Data {
    /// Null data: jute length -1.
    pub const fn null() -> Data {
        Data(None)
    }

    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes, or `None` for null.
    pub fn as_option(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }

    /// The shared bytes, or `None` for null.
    pub fn shared(&self) -> Option<&Arc<[u8]>> {
        self.0.as_ref()
    }

    /// A jute buffer, null kept as null.
    pub fn read(r: &mut JuteReader<'_>) -> Result<Data, DecodeError> {
        Ok(r.read_buffer()?.into())
    }

    /// A jute buffer: length -1 for null.
    pub fn write(&self, w: &mut JuteWriter<'_>) {
        match &self.0 {
            Some(bytes) => w.write_buffer(bytes),
            None => w.write_null_buffer(),
        }
    }
}

impl Deref for Data {
    type Target = [u8];

    /// Null reads as no bytes.
    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(bytes) => bytes.fmt(f),
            None => f.write_str("null"),
        }
    }
}

impl From<&[u8]> for Data {
    fn from(bytes: &[u8]) -> Data {
        Data(Some(Arc::from(bytes)))
    }
}

impl<const N: usize> From<&[u8; N]> for Data {
    fn from(bytes: &[u8; N]) -> Data {
        Data(Some(Arc::from(&bytes[..])))
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Data {
        Data(Some(Arc::from(bytes)))
    }
}

impl From<Arc<[u8]>> for Data {
    fn from(bytes: Arc<[u8]>) -> Data {
        Data(Some(bytes))
    }
}

impl From<Option<Vec<u8>>> for Data {
    fn from(bytes: Option<Vec<u8>>) -> Data {
        Data(bytes.map(Arc::from))
    }
}

impl PartialEq<[u8]> for Data {
    fn eq(&self, other: &[u8]) -> bool {
        self.0.as_deref() == Some(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_differ_on_the_wire() {
        for data in [Data::null(), Data::from(&b""[..]), Data::from(&b"xy"[..])] {
            let mut buf = Vec::new();
            data.write(&mut JuteWriter::new(&mut buf));
            let back = Data::read(&mut JuteReader::new(&buf)).unwrap();
            assert_eq!(back, data);
            assert_eq!(back.is_null(), data.is_null());
        }
        let mut buf = Vec::new();
        Data::null().write(&mut JuteWriter::new(&mut buf));
        assert_eq!(buf, (-1i32).to_be_bytes());
        assert_eq!(Data::null().len(), 0);
        assert_ne!(Data::null(), Data::from(&b""[..]));
    }
}
