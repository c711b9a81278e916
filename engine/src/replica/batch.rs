//! The payload of one Raft entry: a batch of txns the leader prepared together, each in the
//! log's own txn encoding. `u32` count, then per txn a `u32` length and its bytes (big-endian,
//! as jute).

use crate::proto::txn_codec::{decode_txn, encode_txn};
use crate::proto::DecodeError;
use crate::txn::Txn;

pub fn encode_batch(txns: &[Txn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * txns.len());
    out.extend_from_slice(&(txns.len() as u32).to_be_bytes());
    let mut one = Vec::new();
    for txn in txns {
        one.clear();
        encode_txn(txn, &mut one);
        out.extend_from_slice(&(one.len() as u32).to_be_bytes());
        out.extend_from_slice(&one);
    }
    out
}

pub fn decode_batch(mut bytes: &[u8]) -> Result<Vec<Txn>, DecodeError> {
    let count = take_u32(&mut bytes)?;
    let mut txns = Vec::with_capacity((count as usize).min(bytes.len() / 4));
    for _ in 0..count {
        let len = take_u32(&mut bytes)? as usize;
        if bytes.len() < len {
            return Err(DecodeError::Truncated);
        }
        txns.push(decode_txn(&bytes[..len])?);
        bytes = &bytes[len..];
    }
    if !bytes.is_empty() {
        return Err(DecodeError::Malformed(
            "bytes after the last txn of a batch",
        ));
    }
    Ok(txns)
}

fn take_u32(bytes: &mut &[u8]) -> Result<u32, DecodeError> {
    if bytes.len() < 4 {
        return Err(DecodeError::Truncated);
    }
    let v = u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"));
    *bytes = &bytes[4..];
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::TxnBody;

    /// A znode larger than the default jute.maxbuffer (allowed by a raised limit) must come
    /// back out of the log: a committed entry that does not decode stops every member.
    #[test]
    fn a_batch_with_data_over_the_default_jute_limit_decodes() {
        let big = Txn {
            session_id: 1,
            cxid: 1,
            zxid: 0x1_0000_0001,
            time_ms: 5,
            body: TxnBody::SetData {
                path: "/big".into(),
                data: vec![7u8; 3 << 20].into(),
                version: 1,
            },
        };
        let bytes = encode_batch(std::slice::from_ref(&big));
        let back = decode_batch(&bytes).expect("decodes");
        assert_eq!(back, vec![big]);
    }
}
