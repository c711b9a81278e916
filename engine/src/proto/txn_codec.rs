//! ZooKeeper's on-disk txn layout (ZK-PROTOCOL.md section 10), so Ringkeeper's WAL entries
//! are byte-compatible with a ZooKeeper log entry and a ZooKeeper log can be imported.
//!
//! An entry is TxnHeader {l clientId, i cxid, l zxid, l time, i type} followed by the record
//! for that type. Framing, checksum and the 'B' end marker are storage's job, not this codec's.
//!
//! The records cannot hold `ephemeral_owner` directly, so it is carried the way ZooKeeper does:
//! - create (1) and create2 (15): CreateTxn.ephemeral is true when the owner is a session id;
//!   on decode the owner becomes TxnHeader.clientId (for sub-txns of a multi too).
//! - createContainer (19): CreateContainerTxn; the owner is the container marker `i64::MIN`.
//! - createTTL (21): CreateTTLTxn.ttl holds the low 56 bits; the owner is `0xFF << 56 | ttl`.

use super::jute::{DecodeError, JuteReader, JuteWriter};
use super::records::op;
use super::Data;
use crate::txn::{Txn, TxnBody};

/// Owner of a container znode (EphemeralType.CONTAINER_EPHEMERAL_OWNER).
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;
/// The bits of a TTL owner that hold the ttl.
const TTL_MASK: i64 = 0x00FF_FFFF_FFFF_FFFF;
/// Top byte 0xFF of a TTL znode's owner (EphemeralType.TTL): 0xFF00_0000_0000_0000.
const TTL_MARKER: i64 = !TTL_MASK;

/// TxnDigest {i version, l treeDigest} that ZooKeeper 3.6+ appends after the record.
const TXN_DIGEST_LEN: usize = 12;

/// Appends TxnHeader + record. No length, checksum or end marker.
pub fn encode_txn(txn: &Txn, out: &mut Vec<u8>) {
    let mut w = JuteWriter::new(out);
    w.write_long(txn.session_id);
    w.write_int(txn.cxid);
    w.write_long(txn.zxid);
    w.write_long(txn.time_ms);
    w.write_int(txn.body.opcode());
    write_record(&mut w, &txn.body);
}

fn write_record(w: &mut JuteWriter<'_>, body: &TxnBody) {
    match body {
        TxnBody::CreateSession { timeout_ms } => w.write_int(*timeout_ms),
        TxnBody::CloseSession { paths_to_delete } => w.write_string_vec(paths_to_delete),
        TxnBody::Create {
            opcode,
            path,
            data,
            acl,
            ephemeral_owner,
            parent_cversion,
        } => {
            w.write_ustring(path);
            data.write(w);
            w.write_acl_vec(acl);
            match *opcode {
                op::CREATE_CONTAINER => w.write_int(*parent_cversion),
                op::CREATE_TTL => {
                    w.write_int(*parent_cversion);
                    w.write_long(ephemeral_owner & TTL_MASK);
                }
                // create and create2 carry no container or TTL owner (those have opcodes of
                // their own): any non-zero owner is the session, whatever its top byte.
                _ => {
                    w.write_bool(*ephemeral_owner != 0);
                    w.write_int(*parent_cversion);
                }
            }
        }
        TxnBody::Delete { path, .. } => w.write_ustring(path),
        TxnBody::SetData {
            path,
            data,
            version,
        } => {
            w.write_ustring(path);
            data.write(w);
            w.write_int(*version);
        }
        TxnBody::SetAcl { path, acl, version } => {
            w.write_ustring(path);
            w.write_acl_vec(acl);
            w.write_int(*version);
        }
        TxnBody::Check { path, version } => {
            w.write_ustring(path);
            w.write_int(*version);
        }
        TxnBody::Error { err } => w.write_int(*err),
        TxnBody::Multi(subs) => {
            // MultiTxn {v<Txn {i type, b data}>}.
            w.write_vec_len(subs.len());
            for sub in subs {
                w.write_int(sub.opcode());
                let mut data = Vec::new();
                write_record(&mut JuteWriter::new(&mut data), sub);
                w.write_buffer(&data);
            }
        }
    }
}

/// Decodes TxnHeader + record. A trailing TxnDigest (12 bytes, as ZooKeeper 3.6+ writes) is
/// accepted and ignored; any other trailing bytes are `Malformed`.
pub fn decode_txn(bytes: &[u8]) -> Result<Txn, DecodeError> {
    // A logged txn was checked against jute.maxbuffer when its request arrived, and that
    // limit may have been raised: no field can be longer than the record itself.
    let mut r = JuteReader::with_max_len(bytes, bytes.len());
    let session_id = r.read_long()?;
    let cxid = r.read_int()?;
    let zxid = r.read_long()?;
    let time_ms = r.read_long()?;
    let txn_type = r.read_int()?;
    let body = read_record(&mut r, txn_type, session_id, true)?;
    if r.remaining() != 0 && r.remaining() != TXN_DIGEST_LEN {
        return Err(DecodeError::Malformed("trailing bytes after txn record"));
    }
    Ok(Txn {
        session_id,
        cxid,
        zxid,
        time_ms,
        body,
    })
}

fn read_record(
    r: &mut JuteReader<'_>,
    txn_type: i32,
    session_id: i64,
    top_level: bool,
) -> Result<TxnBody, DecodeError> {
    let body = match txn_type {
        op::CREATE_SESSION => TxnBody::CreateSession {
            timeout_ms: r.read_int()?,
        },
        // Logs older than 3.5 write closeSession with no body.
        op::CLOSE_SESSION if r.is_empty() => TxnBody::CloseSession {
            paths_to_delete: Vec::new(),
        },
        op::CLOSE_SESSION => TxnBody::CloseSession {
            paths_to_delete: r.read_string_vec()?,
        },
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            let path = r.read_string()?;
            let data = Data::read(r)?;
            let acl = r.read_acl_vec()?;
            let (ephemeral_owner, parent_cversion) = match txn_type {
                op::CREATE_CONTAINER => (CONTAINER_EPHEMERAL_OWNER, r.read_int()?),
                op::CREATE_TTL => {
                    let parent_cversion = r.read_int()?;
                    (TTL_MARKER | (r.read_long()? & TTL_MASK), parent_cversion)
                }
                _ => {
                    let ephemeral = r.read_bool()?;
                    let owner = if ephemeral { session_id } else { 0 };
                    (owner, r.read_int()?)
                }
            };
            TxnBody::Create {
                opcode: txn_type,
                path: path.into(),
                data,
                acl,
                ephemeral_owner,
                parent_cversion,
            }
        }
        op::DELETE | op::DELETE_CONTAINER => TxnBody::Delete {
            opcode: txn_type,
            path: r.read_string()?,
        },
        // reconfig (16) logs a SetDataTxn on /zookeeper/config.
        op::SET_DATA | op::RECONFIG => TxnBody::SetData {
            path: r.read_string()?,
            data: Data::read(r)?,
            version: r.read_int()?,
        },
        op::SET_ACL => TxnBody::SetAcl {
            path: r.read_string()?,
            acl: r.read_acl_vec()?,
            version: r.read_int()?,
        },
        op::CHECK => TxnBody::Check {
            path: r.read_string()?,
            version: r.read_int()?,
        },
        op::ERROR => TxnBody::Error { err: r.read_int()? },
        op::MULTI if top_level => {
            let subs = r.read_vec(|r| {
                let sub_type = r.read_int()?;
                let data = r.read_buffer_or_empty()?;
                let mut sub = JuteReader::new(&data);
                read_record(&mut sub, sub_type, session_id, false)
            })?;
            TxnBody::Multi(subs)
        }
        op::MULTI => return Err(DecodeError::Malformed("multi txn nested in a multi txn")),
        other => return Err(DecodeError::UnknownOpcode(other)),
    };
    Ok(body)
}
