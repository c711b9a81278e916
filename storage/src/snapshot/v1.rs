//! Snapshot format version 1, read only: znode data was a plain byte vector, so null data
//! had been stored as empty. A version 1 payload is upgraded in memory to the current image
//! (every node's data present, as it was written) once at load; the next snapshot is written
//! in the current format.

use super::{SharedBytes, SharedStr, SnapAclList, SnapNode, SnapSession, SnapshotImage};
use rkyv::rancor;
use rkyv::util::AlignedVec;
use std::sync::Arc;

/// The header's format version of these files.
pub const VERSION: u32 = 1;

/// `SnapNode` as version 1 laid it out.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SnapNodeV1 {
    #[rkyv(with = SharedStr)]
    pub path: Arc<str>,
    #[rkyv(with = SharedBytes)]
    pub data: Arc<[u8]>,
    pub acl_index: u32,
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// `SnapshotImage` as version 1 laid it out.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SnapshotImageV1 {
    pub last_zxid: i64,
    pub sessions: Vec<SnapSession>,
    pub acls: Vec<SnapAclList>,
    pub nodes: Vec<SnapNodeV1>,
}

/// Validates a version 1 payload and re-encodes it as a current one.
pub fn upgrade(payload: &[u8]) -> Result<AlignedVec<16>, rancor::Error> {
    let old = rkyv::access::<ArchivedSnapshotImageV1, rancor::Error>(payload)?;
    let old: SnapshotImageV1 = rkyv::deserialize::<_, rancor::Error>(old)?;
    let image = SnapshotImage {
        last_zxid: old.last_zxid,
        sessions: old.sessions,
        acls: old.acls,
        nodes: old
            .nodes
            .into_iter()
            .map(|n| SnapNode {
                path: n.path,
                data: Some(n.data),
                acl_index: n.acl_index,
                czxid: n.czxid,
                mzxid: n.mzxid,
                ctime: n.ctime,
                mtime: n.mtime,
                version: n.version,
                cversion: n.cversion,
                aversion: n.aversion,
                ephemeral_owner: n.ephemeral_owner,
                pzxid: n.pzxid,
            })
            .collect(),
    };
    rkyv::to_bytes::<rancor::Error>(&image)
}

#[cfg(test)]
mod tests {
    use super::super::{header_of_version, load_snapshot_file, snapshot_file_name, HEADER_LEN};
    use super::*;
    use crate::backend::FsBackend;

    fn node(path: &str, data: &[u8]) -> SnapNodeV1 {
        SnapNodeV1 {
            path: path.into(),
            data: Arc::from(data),
            acl_index: 0,
            czxid: 3,
            mzxid: 4,
            ctime: 5,
            mtime: 6,
            version: 7,
            cversion: 8,
            aversion: 9,
            ephemeral_owner: 0,
            pzxid: 10,
        }
    }

    /// A snapshot written by the version 1 code still loads, every node with the bytes it had.
    #[test]
    fn version_1_snapshot_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let image = SnapshotImageV1 {
            last_zxid: 0x42,
            sessions: vec![SnapSession {
                session_id: 11,
                timeout_ms: 4000,
            }],
            acls: vec![],
            nodes: vec![node("/", b""), node("/a", b"hello")],
        };
        let payload = rkyv::to_bytes::<rancor::Error>(&image).unwrap();
        let crc = crc32c::crc32c(&payload);
        let dir = tmp.path();
        let path = dir.join(snapshot_file_name(0x42));
        let mut file = header_of_version(VERSION, payload.len() as u64, crc, 0x42).to_vec();
        assert_eq!(file.len(), HEADER_LEN);
        file.extend_from_slice(&payload);
        std::fs::write(&path, file).unwrap();

        let loaded = load_snapshot_file(&FsBackend::new(), &path, 0x42).unwrap();
        let back = loaded.to_image().unwrap();
        assert_eq!(back.last_zxid, 0x42);
        assert_eq!(back.sessions, image.sessions);
        let nodes: Vec<(&str, Option<&[u8]>, i32)> = back
            .nodes
            .iter()
            .map(|n| (&*n.path, n.data.as_deref(), n.version))
            .collect();
        assert_eq!(
            nodes,
            vec![("/", Some(&b""[..]), 7), ("/a", Some(&b"hello"[..]), 7)]
        );
    }
}
