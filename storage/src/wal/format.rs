//! Record framing and segment scanning (no I/O of its own: a [`Source`] loads the bytes).
//!
//! A record is `[u32 len][u32 crc][i64 zxid][payload; len]`, all integers little-endian,
//! where `crc = crc32c(zxid as 8 LE bytes ++ payload)`. A header of 16 zero bytes (the
//! preallocated zeros) or the end of the file ends a segment.
//!
//! Every commit's batch starts with a batch header `[u32 BATCH_TAG][u32 crc][u64 offset]
//! [u64 synced_to]`, `crc = crc32c(bytes 8..24)`: `offset` is where the header itself lies,
//! `synced_to` how far the segment was durable (`fdatasync`ed) when the batch was written.
//! The tag is above [`MAX_RECORD_LEN`], so a header never parses as a record. Recovery uses
//! the claims to tell a torn unsynced write (cut) from damage to data that was durable
//! (an error); see "Recovery rules" in DESIGN.md.

/// Bytes of the record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Largest payload the format accepts (64 MiB; jute.maxbuffer is about 1 MiB).
pub const MAX_RECORD_LEN: usize = 64 << 20;

/// First word of a batch header (in the place of a record's length; above any valid length).
pub const BATCH_TAG: u32 = 0xB7C4_0001;
/// Bytes of a batch header.
pub const BATCH_HEADER_LEN: usize = 24;
/// The smallest unit a disk writes whole (or not at all): a sector. A write torn by a power
/// cut loses whole sectors, which then read as what they held before (zeros, in the log).
pub const SECTOR: usize = 512;

/// Frames the header of a batch that starts at `offset` of its segment, written when the
/// segment was durable up to `synced_to` (`<= offset`), and appends it to `out`.
pub fn frame_batch_header(offset: u64, synced_to: u64, out: &mut Vec<u8>) {
    assert!(
        synced_to <= offset,
        "synced_to {synced_to} past batch at {offset}"
    );
    let start = out.len();
    out.extend_from_slice(&BATCH_TAG.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&synced_to.to_le_bytes());
    let crc = crc32c::crc32c(&out[start + 8..start + BATCH_HEADER_LEN]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Frames one record and appends it to `out`.
///
/// The caller checks `payload.len() <= MAX_RECORD_LEN`; a longer payload is a programming
/// error and panics.
pub fn frame_record(zxid: i64, payload: &[u8], out: &mut Vec<u8>) {
    assert!(payload.len() <= MAX_RECORD_LEN, "record payload too large");
    let len = payload.len() as u32;
    out.reserve(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&record_crc(zxid, payload).to_le_bytes());
    out.extend_from_slice(&zxid.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The checksum stored in a record header.
pub fn record_crc(zxid: i64, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&zxid.to_le_bytes()), payload)
}

/// One record found by [`parse_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordRef {
    pub zxid: i64,
    /// Offset of the payload.
    pub payload_start: usize,
    /// Offset just past the record.
    pub end: usize,
}

/// One batch header found by [`parse_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchRef {
    /// How far the segment was durable when the batch was written.
    pub synced_to: u64,
    /// Offset just past the header.
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    Record(RecordRef),
    Batch(BatchRef),
    /// End of file or an all-zero header.
    End,
    Bad(String),
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

fn read_i64(bytes: &[u8], at: usize) -> Option<i64> {
    bytes
        .get(at..at + 8)?
        .try_into()
        .ok()
        .map(i64::from_le_bytes)
}

fn parse_batch_header(rest: &[u8], off: usize) -> Parsed {
    let Some(header) = rest.get(..BATCH_HEADER_LEN) else {
        return Parsed::Bad(format!(
            "incomplete batch header ({} bytes left)",
            rest.len()
        ));
    };
    let (Some(crc), Some(at), Some(synced_to)) = (
        read_u32(header, 4),
        read_i64(header, 8),
        read_i64(header, 16),
    ) else {
        return Parsed::Bad("unreadable batch header".into());
    };
    let want = crc32c::crc32c(&header[8..]);
    if want != crc {
        return Parsed::Bad(format!(
            "batch header crc mismatch (stored {crc:#010x}, computed {want:#010x})"
        ));
    }
    let (at, synced_to) = (at as u64, synced_to as u64);
    if at != off as u64 || synced_to > at {
        return Parsed::Bad(format!(
            "batch header for offset {at} (synced to {synced_to}) found at offset {off}"
        ));
    }
    Parsed::Batch(BatchRef {
        synced_to,
        end: off + BATCH_HEADER_LEN,
    })
}

/// Parses the record at `off`. `after` is the zxid the record must exceed, if known.
pub(crate) fn parse_at(bytes: &[u8], off: usize, after: Option<i64>) -> Parsed {
    let rest = bytes.get(off..).unwrap_or(&[]);
    if rest.is_empty() {
        return Parsed::End;
    }
    if rest.len() < RECORD_HEADER_LEN {
        return if rest.iter().all(|b| *b == 0) {
            Parsed::End
        } else {
            Parsed::Bad(format!(
                "incomplete record header ({} bytes left)",
                rest.len()
            ))
        };
    }
    if rest[..RECORD_HEADER_LEN].iter().all(|b| *b == 0) {
        return Parsed::End;
    }
    if read_u32(rest, 0) == Some(BATCH_TAG) {
        return parse_batch_header(rest, off);
    }
    let (Some(len), Some(crc), Some(zxid)) =
        (read_u32(rest, 0), read_u32(rest, 4), read_i64(rest, 8))
    else {
        return Parsed::Bad("unreadable header".into());
    };
    let len = len as usize;
    if len > MAX_RECORD_LEN {
        return Parsed::Bad(format!("record length {len} above limit {MAX_RECORD_LEN}"));
    }
    let Some(payload) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
        return Parsed::Bad(format!(
            "record of {len} bytes extends past the end of the file ({} bytes left)",
            rest.len() - RECORD_HEADER_LEN
        ));
    };
    let want = record_crc(zxid, payload);
    if want != crc {
        return Parsed::Bad(format!(
            "crc mismatch (stored {crc:#010x}, computed {want:#010x})"
        ));
    }
    if let Some(prev) = after {
        if zxid <= prev {
            return Parsed::Bad(format!("zxid {zxid:#x} not above previous {prev:#x}"));
        }
    }
    Parsed::Record(RecordRef {
        zxid,
        payload_start: off + RECORD_HEADER_LEN,
        end: off + RECORD_HEADER_LEN + len,
    })
}

/// After an end marker (zero header), this many bytes from the marker on must be zero for the
/// end to count as clean. Anything non-zero in that window is treated like a bad record
/// (resync search, `Corrupt` or a cut tail); non-zero bytes further away are not looked at.
/// See "Recovery rules" in DESIGN.md.
pub const END_CHECK_LEN: usize = 1 << 20;

/// Why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// EOF, or a zero header followed by [`END_CHECK_LEN`] zero bytes (or zeros up to EOF).
    Clean,
    /// A bad record, or non-zero bytes within [`END_CHECK_LEN`] of a zero header.
    Garbage { reason: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Scan {
    pub records: Vec<RecordRef>,
    /// The segment starts with a batch header (or with nothing valid at all). A segment
    /// written before batch headers existed starts with a record.
    pub framed: bool,
    /// Offset just past the last valid record.
    pub valid_end: usize,
    pub stop: Stop,
}

/// The bytes of a segment, loaded on demand from its start.
pub(crate) trait Source {
    /// Makes at least the first `upto` bytes available (fewer only at end of file).
    fn ensure(&mut self, upto: usize) -> crate::error::Result<()>;
    /// The bytes loaded so far, from the start of the segment.
    fn bytes(&self) -> &[u8];
}

/// A segment that is already in memory.
#[cfg(test)]
pub(crate) struct Whole<'a>(pub &'a [u8]);

#[cfg(test)]
impl Source for Whole<'_> {
    fn ensure(&mut self, _upto: usize) -> crate::error::Result<()> {
        Ok(())
    }
    fn bytes(&self) -> &[u8] {
        self.0
    }
}

/// Reads records from the start of a segment until the first end marker or bad record,
/// loading only as much of it as that needs: every record, plus [`END_CHECK_LEN`] bytes
/// after a zero header. [`parse_at`] then sees exactly what it would see on the whole file,
/// because each record's header and claimed length are loaded (or EOF reached) first.
pub(crate) fn scan<S: Source>(src: &mut S, after: Option<i64>) -> crate::error::Result<Scan> {
    let mut records = Vec::new();
    let mut off = 0;
    let mut last = after;
    let mut framed = false;
    let reason = loop {
        src.ensure(off + BATCH_HEADER_LEN.max(RECORD_HEADER_LEN))?;
        if let Some(len) = read_u32(src.bytes(), off) {
            let len = len as usize;
            if len <= MAX_RECORD_LEN {
                src.ensure(off + RECORD_HEADER_LEN + len)?;
            }
        }
        match parse_at(src.bytes(), off, last) {
            Parsed::Record(r) => {
                last = Some(r.zxid);
                off = r.end;
                records.push(r);
            }
            Parsed::Batch(b) => {
                framed |= off == 0;
                off = b.end;
            }
            Parsed::End => {
                src.ensure(off + END_CHECK_LEN)?;
                let bytes = src.bytes();
                let window = bytes.get(off..).unwrap_or(&[]);
                let window = &window[..window.len().min(END_CHECK_LEN)];
                break if window.iter().all(|b| *b == 0) {
                    None
                } else {
                    Some("end marker followed by non-zero bytes".to_string())
                };
            }
            Parsed::Bad(reason) => break Some(reason),
        }
    };
    Ok(Scan {
        records,
        framed: framed || off == 0,
        valid_end: off,
        stop: match reason {
            None => Stop::Clean,
            Some(reason) => Stop::Garbage { reason },
        },
    })
}

/// Offset of the last non-zero byte at or after `from`.
pub(crate) fn last_nonzero(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .rposition(|b| *b != 0)
        .map(|p| from + p)
}

/// What follows the first bad record of a segment, at `from`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AfterDamage {
    /// The first valid record with a zxid above `after`.
    pub record: Option<usize>,
    /// A valid batch header saying the segment was durable past `from`: (its offset, its
    /// `synced_to`). The bytes at `from` were then synced before, not torn by the crash.
    pub synced_past: Option<(usize, u64)>,
}

/// Searches everything after `from` for valid records and batch headers (a damaged length
/// field hides where the next item starts, so every offset is tried).
pub(crate) fn look_after_damage(bytes: &[u8], from: usize, after: Option<i64>) -> AfterDamage {
    let mut found = AfterDamage::default();
    let mut off = from + 1;
    while off + RECORD_HEADER_LEN <= bytes.len() {
        if bytes[off..off + RECORD_HEADER_LEN].iter().all(|b| *b == 0) {
            // Skip a zero run quickly: a header must contain a non-zero byte.
            match bytes[off..].iter().position(|b| *b != 0) {
                None => break,
                Some(p) => {
                    let nz = off + p;
                    off = (nz + 1).saturating_sub(RECORD_HEADER_LEN).max(off + 1);
                    continue;
                }
            }
        }
        match parse_at(bytes, off, after) {
            Parsed::Record(_) if found.record.is_none() => found.record = Some(off),
            Parsed::Batch(b) if b.synced_to > from as u64 => {
                found.synced_past = Some((off, b.synced_to));
                break;
            }
            _ => {}
        }
        off += 1;
    }
    found
}

/// True when `bytes[from..to]` looks like the work of a power cut during an unsynced write:
/// some sector ending in `(from, to]` reads as zeros from `from` or from the sector's start
/// on. The first sector the disk did not write keeps its old content, which behind the
/// previous write position is zeros (preallocated, zeroed ahead, or the padding of an
/// aligned write); a flipped bit in written data leaves no such run.
pub(crate) fn torn_sector_between(bytes: &[u8], from: usize, to: usize) -> bool {
    let to = to.min(bytes.len());
    let mut end = (from / SECTOR + 1) * SECTOR;
    while end <= to {
        let start = from.max(end - SECTOR);
        if bytes[start..end].iter().all(|b| *b == 0) {
            return true;
        }
        end += SECTOR;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(zxids: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        for z in zxids {
            frame_record(*z, format!("txn-{z}").as_bytes(), &mut out);
        }
        out
    }

    #[test]
    fn frame_layout_is_little_endian() {
        let mut out = Vec::new();
        frame_record(0x0102, b"ab", &mut out);
        assert_eq!(out.len(), RECORD_HEADER_LEN + 2);
        assert_eq!(&out[0..4], &2u32.to_le_bytes());
        assert_eq!(&out[4..8], &record_crc(0x0102, b"ab").to_le_bytes());
        assert_eq!(&out[8..16], &0x0102i64.to_le_bytes());
        assert_eq!(&out[16..], b"ab");
    }

    #[test]
    fn scan_stops_at_zeros() {
        let mut bytes = log(&[1, 2, 3]);
        let end = bytes.len();
        bytes.resize(end + 4096, 0);
        let s = scan(&mut Whole(&bytes), None).unwrap();
        assert_eq!(
            s.records.iter().map(|r| r.zxid).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(s.valid_end, end);
        assert_eq!(s.stop, Stop::Clean);
        // Non-zero bytes close after the end marker are garbage, far ones are not looked at.
        let mut near = bytes.clone();
        near[end + 100] = 1;
        assert!(matches!(
            scan(&mut Whole(&near), None).unwrap().stop,
            Stop::Garbage { .. }
        ));
        let mut far = bytes.clone();
        far.resize(end + END_CHECK_LEN + 10, 0);
        far[end + END_CHECK_LEN + 1] = 1;
        assert_eq!(scan(&mut Whole(&far), None).unwrap().stop, Stop::Clean);
    }

    #[test]
    fn scan_reports_torn_record() {
        let mut bytes = log(&[1, 2, 3]);
        let two_end = log(&[1, 2]).len();
        bytes.truncate(bytes.len() - 3);
        bytes.resize(bytes.len() + 100, 0);
        let s = scan(&mut Whole(&bytes), None).unwrap();
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.valid_end, two_end);
        assert!(matches!(s.stop, Stop::Garbage { .. }));
        assert_eq!(look_after_damage(&bytes, s.valid_end, Some(2)).record, None);
    }

    #[test]
    fn resync_finds_record_after_damage() {
        let mut bytes = log(&[1, 2, 3]);
        let one_end = log(&[1]).len();
        bytes[one_end + RECORD_HEADER_LEN] ^= 1; // payload of record 2
        let s = scan(&mut Whole(&bytes), None).unwrap();
        assert_eq!(s.valid_end, one_end);
        let found = look_after_damage(&bytes, one_end, Some(1)).record;
        assert_eq!(found, Some(log(&[1, 2]).len()));
        // A damaged length field is found too.
        let mut bytes = log(&[1, 2, 3]);
        bytes[one_end] ^= 0x40;
        assert_eq!(
            look_after_damage(&bytes, one_end, Some(1)).record,
            Some(log(&[1, 2]).len())
        );
    }

    #[test]
    fn batch_headers_are_skipped_and_checked() {
        let mut bytes = Vec::new();
        frame_batch_header(0, 0, &mut bytes);
        frame_record(1, b"one", &mut bytes);
        let second = bytes.len();
        frame_batch_header(second as u64, second as u64, &mut bytes);
        frame_record(2, b"two", &mut bytes);
        let s = scan(&mut Whole(&bytes), None).unwrap();
        assert_eq!(s.records.len(), 2);
        assert!(s.framed);
        assert_eq!(s.stop, Stop::Clean);
        // A header copied to another offset is not valid there.
        let mut moved = bytes[..second].to_vec();
        moved.extend_from_slice(&bytes[..BATCH_HEADER_LEN]);
        assert!(matches!(
            scan(&mut Whole(&moved), None).unwrap().stop,
            Stop::Garbage { .. }
        ));
        // Damage in the first batch: the second one says it was synced past it.
        let mut damaged = bytes.clone();
        damaged[BATCH_HEADER_LEN + RECORD_HEADER_LEN] ^= 1;
        let found = look_after_damage(&damaged, BATCH_HEADER_LEN, None);
        assert_eq!(found.synced_past, Some((second, second as u64)));
    }

    #[test]
    fn torn_sector_needs_a_zero_run_to_a_sector_end() {
        let mut bytes = vec![7u8; 4 * SECTOR];
        assert!(!torn_sector_between(&bytes, 100, 3 * SECTOR));
        // Zeros from the damage to the end of its sector: the old content of a lost sector.
        bytes[100..SECTOR].fill(0);
        assert!(torn_sector_between(&bytes, 100, 3 * SECTOR));
        // A whole lost sector further on.
        let mut bytes = vec![7u8; 4 * SECTOR];
        bytes[SECTOR..2 * SECTOR].fill(0);
        assert!(torn_sector_between(&bytes, 100, 3 * SECTOR));
        // It must end before the valid record that follows.
        assert!(!torn_sector_between(&bytes, 100, 2 * SECTOR - 1));
    }

    #[test]
    fn zxid_must_increase() {
        let bytes = log(&[5, 4]);
        let s = scan(&mut Whole(&bytes), None).unwrap();
        assert_eq!(s.records.len(), 1);
        assert!(matches!(s.stop, Stop::Garbage { .. }));
    }
}
