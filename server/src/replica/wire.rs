//! The peer protocol's frames: what one Ringkeeper server sends another over a quorum link.
//! Our own protocol (issue 8: Apache ZooKeeper servers do not join a Ringkeeper ensemble).
//!
//! A link is one-way: the dialing server writes, the listening one reads. It opens with a
//! handshake (magic, version, the sender's myid); then frames follow, each a big-endian `u32`
//! length of what follows, a kind byte and the body:
//! - `KIND_RAFT`: a raft-rs `eraftpb::Message` in protobuf;
//! - `KIND_FORWARD`: a client write a follower or Observer forwards to the leader;
//! - `KIND_TOUCH`: session ids active on a follower or Observer;
//! - `KIND_LOG_LOST`: the sender's log ends at this index, short of what the leader counts
//!   on (its data directory was wiped);
//! - `KIND_SNAPSHOT_CHUNK`: a piece of the snapshot file the next MsgSnapshot names (Raft
//!   index, the file's length, the piece's offset, its bytes), sent in order before it.

use protobuf::Message as _;
use ringkeeper_engine::proto::{decode_request_header, decode_request_within, encode_request};
use ringkeeper_engine::proto::{Id, RequestHeader};
use ringkeeper_engine::replica::{Envelope, Message, PeerMessage};
use ringkeeper_engine::{opcode_of, Forwarded, ForwardedOp};

pub const MAGIC: [u8; 4] = *b"RKPR";
pub const VERSION: u8 = 1;
pub const HANDSHAKE_LEN: usize = 4 + 1 + 8;

/// The largest frame a link accepts: raft sends at most 1 MiB of entries per message
/// (`max_size_per_msg`), but one entry is a whole batch of txns and is sent even when it is
/// larger; a frame over this closes the link.
pub const MAX_FRAME: usize = 256 << 20;

/// The largest string or buffer in a forwarded request: the leader accepts what any server
/// accepted from its client (jute.maxbuffer is checked there).
const MAX_FORWARDED_FIELD: usize = MAX_FRAME;

const KIND_RAFT: u8 = 1;
const KIND_FORWARD: u8 = 2;
const KIND_TOUCH: u8 = 3;
const KIND_LOG_LOST: u8 = 4;
const KIND_SNAPSHOT_CHUNK: u8 = 5;

/// A piece of a snapshot file on its way to a follower.
#[derive(Debug, PartialEq)]
pub struct SnapshotChunk {
    /// The Raft index the snapshot stands for (it names the file).
    pub index: u64,
    /// The whole file's length.
    pub total: u64,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// Appends one snapshot chunk frame to `out`.
pub fn encode_snapshot_chunk(index: u64, total: u64, offset: u64, bytes: &[u8], out: &mut Vec<u8>) {
    let len = (1 + 24 + bytes.len()) as u32;
    out.extend_from_slice(&len.to_be_bytes());
    out.push(KIND_SNAPSHOT_CHUNK);
    for w in [index, total, offset] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

/// A frame's contents (after its length prefix) as a snapshot chunk, if it is one.
pub fn decode_snapshot_chunk(frame: &[u8]) -> Option<Result<SnapshotChunk, WireError>> {
    let (&kind, body) = frame.split_first()?;
    if kind != KIND_SNAPSHOT_CHUNK {
        return None;
    }
    let mut r = Reader(body);
    Some((|| {
        let (index, total, offset) = (r.i64()? as u64, r.i64()? as u64, r.i64()? as u64);
        let bytes = r.0.to_vec();
        if offset
            .checked_add(bytes.len() as u64)
            .is_none_or(|end| end > total)
        {
            return Err(WireError::Malformed(format!(
                "snapshot chunk at {offset} of {} bytes past the file's {total}",
                bytes.len()
            )));
        }
        Ok(SnapshotChunk {
            index,
            total,
            offset,
            bytes,
        })
    })())
}

const OP_REQUEST: u8 = 0;
const OP_CREATE_SESSION: u8 = 1;
const OP_FAILED: u8 = 2;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("not a Ringkeeper peer (bad handshake magic)")]
    Magic,
    #[error("peer protocol version {0}, this server speaks {VERSION}")]
    Version(u8),
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("unknown frame kind {0}")]
    Kind(u8),
    #[error("truncated frame")]
    Truncated,
    #[error("bad frame: {0}")]
    Malformed(String),
}

pub fn encode_handshake(my_id: u64) -> [u8; HANDSHAKE_LEN] {
    let mut out = [0u8; HANDSHAKE_LEN];
    out[..4].copy_from_slice(&MAGIC);
    out[4] = VERSION;
    out[5..].copy_from_slice(&my_id.to_be_bytes());
    out
}

/// The sender's myid.
pub fn decode_handshake(b: &[u8; HANDSHAKE_LEN]) -> Result<u64, WireError> {
    if b[..4] != MAGIC {
        return Err(WireError::Magic);
    }
    if b[4] != VERSION {
        return Err(WireError::Version(b[4]));
    }
    Ok(u64::from_be_bytes(b[5..].try_into().expect("eight bytes")))
}

/// Appends one frame for `body` to `out`.
pub fn encode_frame(body: &PeerMessage, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    match body {
        PeerMessage::Raft(m) => {
            out.push(KIND_RAFT);
            m.write_to_vec(out).expect("raft messages encode");
        }
        PeerMessage::Forward(f) => {
            out.push(KIND_FORWARD);
            encode_forwarded(f, out);
        }
        PeerMessage::LogLost { last_index } => {
            out.push(KIND_LOG_LOST);
            out.extend_from_slice(&last_index.to_be_bytes());
        }
        PeerMessage::Touch(ids) => {
            out.push(KIND_TOUCH);
            out.extend_from_slice(&(ids.len() as u32).to_be_bytes());
            for id in ids {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// The length of the frame starting at `buf`, once its length prefix is there.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, WireError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes(buf[..4].try_into().expect("four bytes")) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    Ok(Some(4 + len))
}

/// Decodes a frame's contents (after its length prefix) from peer `from` to `to`.
pub fn decode_frame(frame: &[u8], from: u64, to: u64) -> Result<Envelope, WireError> {
    let (&kind, body) = frame.split_first().ok_or(WireError::Truncated)?;
    let body = match kind {
        KIND_RAFT => PeerMessage::Raft(
            Message::parse_from_bytes(body).map_err(|e| WireError::Malformed(e.to_string()))?,
        ),
        KIND_FORWARD => PeerMessage::Forward(decode_forwarded(body)?),
        KIND_TOUCH => {
            let mut r = Reader(body);
            let n = r.u32()? as usize;
            let mut ids = Vec::with_capacity(n.min(body.len() / 8));
            for _ in 0..n {
                ids.push(r.i64()?);
            }
            r.end()?;
            PeerMessage::Touch(ids)
        }
        KIND_LOG_LOST => {
            let mut r = Reader(body);
            let last_index = r.i64()? as u64;
            r.end()?;
            PeerMessage::LogLost { last_index }
        }
        k => return Err(WireError::Kind(k)),
    };
    Ok(Envelope { from, to, body })
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_forwarded(f: &Forwarded, out: &mut Vec<u8>) {
    out.extend_from_slice(&f.session_id.to_be_bytes());
    out.extend_from_slice(&f.cxid.to_be_bytes());
    out.extend_from_slice(&(f.auth.len() as u32).to_be_bytes());
    for id in &f.auth {
        put_str(out, &id.scheme);
        put_str(out, &id.id);
    }
    match &f.op {
        ForwardedOp::Request(req) => {
            out.push(OP_REQUEST);
            // The client's own frame encoding, length prefix included.
            let header = RequestHeader {
                xid: f.cxid,
                opcode: opcode_of(req),
            };
            encode_request(&header, req, out);
        }
        ForwardedOp::CreateSession { timeout_ms } => {
            out.push(OP_CREATE_SESSION);
            out.extend_from_slice(&timeout_ms.to_be_bytes());
        }
        ForwardedOp::Failed { err } => {
            out.push(OP_FAILED);
            out.extend_from_slice(&err.to_be_bytes());
        }
    }
}

fn decode_forwarded(body: &[u8]) -> Result<Forwarded, WireError> {
    let mut r = Reader(body);
    let session_id = r.i64()?;
    let cxid = r.i32()?;
    let n = r.u32()? as usize;
    let mut auth = Vec::with_capacity(n.min(body.len() / 8));
    for _ in 0..n {
        let scheme = r.string()?;
        let id = r.string()?;
        auth.push(Id { scheme, id });
    }
    let op = match r.u8()? {
        OP_REQUEST => {
            let len = r.u32()? as usize;
            let frame = r.take(len)?;
            let (header, rest) =
                decode_request_header(frame).map_err(|e| WireError::Malformed(e.to_string()))?;
            let req = decode_request_within(header.opcode, rest, MAX_FORWARDED_FIELD)
                .map_err(|e| WireError::Malformed(e.to_string()))?;
            ForwardedOp::Request(req)
        }
        OP_CREATE_SESSION => ForwardedOp::CreateSession {
            timeout_ms: r.i32()?,
        },
        OP_FAILED => ForwardedOp::Failed { err: r.i32()? },
        k => return Err(WireError::Malformed(format!("forwarded op kind {k}"))),
    };
    r.end()?;
    Ok(Forwarded {
        session_id,
        cxid,
        auth,
        op,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("four bytes"),
        ))
    }

    fn i32(&mut self) -> Result<i32, WireError> {
        Ok(self.u32()? as i32)
    }

    fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("eight bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, WireError> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| WireError::Malformed("string is not UTF-8".into()))
    }

    fn end(&self) -> Result<(), WireError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed(format!(
                "{} bytes after the end",
                self.0.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringkeeper_engine::proto::{op, Acl, CreateRequest, Request};

    #[test]
    fn snapshot_chunks_round_trip_and_stay_inside_their_file() {
        let mut out = Vec::new();
        encode_snapshot_chunk(42, 10, 4, b"abcdef", &mut out);
        let len = frame_len(&out).unwrap().unwrap();
        assert_eq!(len, out.len());
        let chunk = decode_snapshot_chunk(&out[4..]).unwrap().unwrap();
        assert_eq!(
            chunk,
            SnapshotChunk {
                index: 42,
                total: 10,
                offset: 4,
                bytes: b"abcdef".to_vec()
            }
        );
        out.clear();
        encode_snapshot_chunk(42, 9, 4, b"abcdef", &mut out);
        assert!(decode_snapshot_chunk(&out[4..]).unwrap().is_err());
        let mut raft = Vec::new();
        encode_frame(&PeerMessage::LogLost { last_index: 3 }, &mut raft);
        assert!(decode_snapshot_chunk(&raft[4..]).is_none());
    }

    fn round_trip(body: PeerMessage) -> PeerMessage {
        let mut out = Vec::new();
        encode_frame(&body, &mut out);
        let len = frame_len(&out).unwrap().unwrap();
        assert_eq!(len, out.len());
        let env = decode_frame(&out[4..], 2, 3).unwrap();
        assert_eq!((env.from, env.to), (2, 3));
        env.body
    }

    #[test]
    fn handshake_round_trip_and_rejects() {
        let h = encode_handshake(7);
        assert_eq!(decode_handshake(&h), Ok(7));
        let mut bad = h;
        bad[0] = b'X';
        assert_eq!(decode_handshake(&bad), Err(WireError::Magic));
        let mut old = h;
        old[4] = 9;
        assert_eq!(decode_handshake(&old), Err(WireError::Version(9)));
    }

    #[test]
    fn raft_message_round_trips() {
        let e = raft::eraftpb::Entry {
            index: 10,
            term: 5,
            data: vec![1, 2, 3].into(),
            ..Default::default()
        };
        let m = Message {
            from: 1,
            to: 2,
            term: 5,
            commit: 9,
            entries: vec![e].into(),
            ..Default::default()
        };
        match round_trip(PeerMessage::Raft(m.clone())) {
            PeerMessage::Raft(got) => assert_eq!(got, m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forwarded_writes_round_trip() {
        let create = Request::Create {
            opcode: op::CREATE2,
            req: CreateRequest {
                path: "/a".into(),
                data: b"x".to_vec().into(),
                acl: Acl::open_unsafe(),
                flags: 1,
                ttl: None,
            },
        };
        let ops = [
            ForwardedOp::Request(create),
            ForwardedOp::Request(Request::Delete {
                path: "/a".into(),
                version: 3,
            }),
            ForwardedOp::CreateSession { timeout_ms: 4000 },
            ForwardedOp::Failed { err: -8 },
        ];
        for op in ops {
            let f = Forwarded {
                session_id: 0x0100_0000_0000_0001,
                cxid: 42,
                auth: vec![Id {
                    scheme: "digest".into(),
                    id: "u:p".into(),
                }],
                op,
            };
            match round_trip(PeerMessage::Forward(f.clone())) {
                PeerMessage::Forward(got) => assert_eq!(got, f),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn touch_round_trips_and_bad_frames_are_errors() {
        match round_trip(PeerMessage::LogLost { last_index: 304 }) {
            PeerMessage::LogLost { last_index } => assert_eq!(last_index, 304),
            other => panic!("{other:?}"),
        }
        match round_trip(PeerMessage::Touch(vec![1, -2, 3])) {
            PeerMessage::Touch(ids) => assert_eq!(ids, vec![1, -2, 3]),
            other => panic!("{other:?}"),
        }
        assert_eq!(decode_frame(&[9], 1, 2).unwrap_err(), WireError::Kind(9));
        assert_eq!(
            decode_frame(&[KIND_TOUCH, 0, 0, 0, 2, 0], 1, 2).unwrap_err(),
            WireError::Truncated
        );
        let huge = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(frame_len(&huge), Err(WireError::TooLarge(_))));
    }
}
