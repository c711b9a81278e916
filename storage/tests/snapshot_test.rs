//! Snapshot files: write/load round trip (zero-copy access and full deserialization), and
//! fallback to the previous snapshot when the newest has a bad crc, is truncated, has the
//! wrong magic, or was never renamed into place because of a crash.

use std::path::Path;

use ringkeeper_storage::backend::{Backend, FsBackend, SimBackend};
use ringkeeper_storage::snapshot::{
    load_latest_snapshot, load_snapshot_file, write_snapshot, SnapAcl, SnapAclList, SnapNode,
    SnapSession, SnapshotImage, HEADER_LEN,
};
use ringkeeper_storage::StorageError;

fn image(zxid: i64, nodes: usize) -> SnapshotImage {
    let mut list = vec![SnapNode {
        path: "/".into(),
        data: None,
        acl_index: 0,
        czxid: 0,
        mzxid: 0,
        ctime: 0,
        mtime: 0,
        version: 0,
        cversion: nodes as i32,
        aversion: 0,
        ephemeral_owner: 0,
        pzxid: zxid,
    }];
    for i in 0..nodes {
        list.push(SnapNode {
            path: format!("/node-{i:04}").into(),
            data: Some(vec![i as u8; i % 50].into()),
            acl_index: (i % 2) as u32,
            czxid: i as i64 + 1,
            mzxid: zxid,
            ctime: 1_700_000_000_000 + i as i64,
            mtime: 1_700_000_000_500 + i as i64,
            version: i as i32,
            cversion: 0,
            aversion: 1,
            ephemeral_owner: if i % 3 == 0 { 0x1234 } else { 0 },
            pzxid: i as i64 + 1,
        });
    }
    SnapshotImage {
        last_zxid: zxid,
        sessions: vec![SnapSession {
            session_id: 0x1234,
            timeout_ms: 30_000,
        }],
        acls: vec![
            SnapAclList {
                entries: vec![SnapAcl {
                    perms: 31,
                    scheme: "world".into(),
                    id: "anyone".into(),
                }],
            },
            SnapAclList {
                entries: vec![SnapAcl {
                    perms: 1,
                    scheme: "digest".into(),
                    id: "user:Z2Vkm0JtD5e8fWYEqHZ1pGl8h3k=".into(),
                }],
            },
        ],
        nodes: list,
    }
}

fn snap_path(data_dir: &Path, zxid: i64) -> std::path::PathBuf {
    data_dir
        .join("version-2")
        .join(format!("snapshot.{zxid:x}"))
}

#[test]
fn round_trip_fs_in_place_and_owned() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend::new();
    assert!(
        load_latest_snapshot(&b, tmp.path()).unwrap().is_none(),
        "no directory yet"
    );
    let img = image(0x1_0000_00ff, 200);
    let info = write_snapshot(&b, tmp.path(), &img).unwrap();
    assert_eq!(info.path, snap_path(tmp.path(), 0x1_0000_00ff));
    assert_eq!(info.path.file_name().unwrap(), "snapshot.1000000ff");
    assert_eq!(std::fs::metadata(&info.path).unwrap().len(), info.file_len);
    let (zxid, loaded) = load_latest_snapshot(&b, tmp.path()).unwrap().unwrap();
    assert_eq!(zxid, 0x1_0000_00ff);
    assert_eq!(loaded.zxid(), zxid);
    let archived = loaded.image();
    assert_eq!(archived.last_zxid.to_native(), zxid);
    assert_eq!(archived.nodes.len(), 201);
    assert_eq!(archived.nodes[5].path.as_str(), "/node-0004");
    assert_eq!(
        archived.nodes[5].data.as_ref().map(|d| d.as_slice()),
        Some(&[4u8; 4][..])
    );
    assert!(archived.nodes[0].data.is_none(), "null data stays null");
    assert_eq!(archived.nodes[4].ephemeral_owner.to_native(), 0x1234);
    assert_eq!(archived.acls[1].entries[0].scheme.as_str(), "digest");
    assert_eq!(archived.sessions[0].timeout_ms.to_native(), 30_000);
    assert_eq!(loaded.to_image().unwrap(), img);
}

fn three_snapshots(b: &SimBackend) -> &'static Path {
    let dir = Path::new("/data");
    for z in [10, 20, 30] {
        write_snapshot(b, dir, &image(z, z as usize)).unwrap();
    }
    dir
}

#[test]
fn bad_crc_falls_back_to_previous() {
    let b = SimBackend::new();
    let dir = three_snapshots(&b);
    assert!(b.corrupt_byte(&snap_path(dir, 30), HEADER_LEN as u64 + 40));
    let (zxid, s) = load_latest_snapshot(&b, dir).unwrap().unwrap();
    assert_eq!(zxid, 20);
    assert_eq!(s.to_image().unwrap(), image(20, 20));
    match load_snapshot_file(&b, &snap_path(dir, 30), 30) {
        Err(StorageError::Corrupt { offset, reason, .. }) => {
            assert_eq!(offset, HEADER_LEN as u64);
            assert!(reason.contains("crc"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn header_damage_falls_back() {
    let b = SimBackend::new();
    let dir = three_snapshots(&b);
    // Flipping the stored zxid breaks the header crc.
    assert!(b.corrupt_byte(&snap_path(dir, 30), 17));
    assert_eq!(load_latest_snapshot(&b, dir).unwrap().unwrap().0, 20);
}

#[test]
fn truncated_file_falls_back() {
    let b = SimBackend::new();
    let dir = three_snapshots(&b);
    let p = snap_path(dir, 30);
    let len = b.file_len(&p).unwrap();
    assert!(b.truncate_file(&p, len - 1));
    assert_eq!(load_latest_snapshot(&b, dir).unwrap().unwrap().0, 20);
    assert!(b.truncate_file(&snap_path(dir, 20), 10));
    assert_eq!(load_latest_snapshot(&b, dir).unwrap().unwrap().0, 10);
}

#[test]
fn wrong_magic_falls_back_and_none_when_all_bad() {
    let b = SimBackend::new();
    let dir = three_snapshots(&b);
    for z in [30, 20] {
        assert!(b.corrupt_byte(&snap_path(dir, z), 0));
    }
    match load_snapshot_file(&b, &snap_path(dir, 30), 30) {
        Err(StorageError::Corrupt {
            offset: 0, reason, ..
        }) => {
            assert!(reason.contains("magic"), "{reason}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(load_latest_snapshot(&b, dir).unwrap().unwrap().0, 10);
    assert!(b.corrupt_byte(&snap_path(dir, 10), 1));
    assert!(load_latest_snapshot(&b, dir).unwrap().is_none());
}

#[test]
fn file_name_must_match_contents() {
    let b = SimBackend::new();
    let dir = three_snapshots(&b);
    b.rename(&snap_path(dir, 30), &snap_path(dir, 40)).unwrap();
    assert_eq!(load_latest_snapshot(&b, dir).unwrap().unwrap().0, 20);
}

#[test]
fn crash_during_write_leaves_previous_snapshot() {
    let total = {
        let b = SimBackend::new();
        let dir = three_snapshots(&b);
        let before = b.sync_count();
        write_snapshot(&b, dir, &image(40, 5)).unwrap();
        b.sync_count() - before
    };
    assert_eq!(
        total, 2,
        "fdatasync of the tmp file, then fsync of the directory"
    );
    for fail in 1..=total {
        let b = SimBackend::new();
        let dir = three_snapshots(&b);
        b.fail_sync_at(b.sync_count() + fail);
        assert!(write_snapshot(&b, dir, &image(40, 5)).is_err());
        let crashed = b.crash();
        let (zxid, _) = load_latest_snapshot(&crashed, dir).unwrap().unwrap();
        assert_eq!(zxid, 30, "failing sync {fail}");
    }
    // With both syncs done, the new snapshot survives a crash; a stale .tmp is ignored.
    let b = SimBackend::new();
    let dir = three_snapshots(&b);
    write_snapshot(&b, dir, &image(40, 5)).unwrap();
    let mut f = b
        .create(&dir.join("version-2").join("snapshot.50.tmp"))
        .unwrap();
    ringkeeper_storage::BackendFile::write_at(&mut f, 0, b"junk").unwrap();
    assert_eq!(
        load_latest_snapshot(&b.crash(), dir).unwrap().unwrap().0,
        40
    );
    assert_eq!(load_latest_snapshot(&b, dir).unwrap().unwrap().0, 40);
}

#[test]
fn large_snapshot_streams_in_chunks_and_write_errors_surface() {
    let b = SimBackend::new();
    let dir = Path::new("/data");
    let mut img = image(99, 10);
    for n in &mut img.nodes {
        n.data = Some(vec![0xab; 300_000].into());
    }
    let info = write_snapshot(&b, dir, &img).unwrap();
    assert!(info.file_len > 3 << 20, "spans several 1 MiB chunks");
    let (_, s) = load_latest_snapshot(&b, dir).unwrap().unwrap();
    assert_eq!(s.to_image().unwrap(), img);

    // A write failing midway is reported as I/O, and nothing appears under the final name.
    let b = SimBackend::new();
    b.create_dir_all(&dir.join("version-2")).unwrap();
    b.fail_ops_after(4);
    match write_snapshot(&b, dir, &img) {
        Err(StorageError::Io { op: "write", .. }) => {}
        other => panic!("expected write error, got {other:?}"),
    }
    b.heal();
    assert!(load_latest_snapshot(&b, dir).unwrap().is_none());
}

#[test]
fn paced_snapshot_keeps_to_its_bandwidth() {
    let b = SimBackend::new();
    let dir = Path::new("/data");
    let mut img = image(7, 10);
    for n in &mut img.nodes {
        n.data = Some(vec![0xcd; 300_000].into());
    }
    // About 3 MiB at 10 MiB/s: the first chunk goes at once, the other two wait 100 ms each.
    let started = std::time::Instant::now();
    let info = ringkeeper_storage::snapshot::write_snapshot_paced(&b, dir, &img, 10 << 20).unwrap();
    let took = started.elapsed();
    assert!(info.file_len > 3 << 20);
    assert!(
        took >= std::time::Duration::from_millis(180),
        "took {took:?}"
    );
    let (_, s) = load_latest_snapshot(&b, dir).unwrap().unwrap();
    assert_eq!(s.to_image().unwrap(), img);
}
