//! Snapshot loading on arbitrary bytes, on the simulated backend: it must return a snapshot
//! or an error, never panic or allocate what a lying header asks for.
//!
//! Input: one mode byte, then bytes. Even mode: the bytes are a whole snapshot file (header
//! checks). Odd mode: the bytes are the rkyv payload, wrapped in a header with the right
//! lengths and checksums, so that the fuzzer reaches the archive validation instead of
//! stopping at a crc. A payload that loads must deserialize, and writing the image back
//! and loading it again must give the same image.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ringkeeper_storage::backend::{Backend, BackendFile, SimBackend};
use ringkeeper_storage::snapshot::{
    load_snapshot_file, snapshot_file_name, ArchivedSnapshotImage, FORMAT_VERSION, HEADER_LEN,
    MAGIC,
};
use ringkeeper_storage::wal::VERSION_DIR;
use ringkeeper_storage::{load_latest_snapshot, write_snapshot};
use rkyv::rancor;
use rkyv::util::AlignedVec;

/// The header `write_snapshot` puts in front of `payload` (see the snapshot module docs).
fn header(payload: &[u8], zxid: i64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[8..16].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[16..24].copy_from_slice(&zxid.to_le_bytes());
    h[24..28].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    let hcrc = crc32c::crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&hcrc.to_le_bytes());
    h
}

fn put(backend: &SimBackend, path: &Path, bytes: &[u8]) {
    let mut f = backend.create(path).expect("create");
    f.write_at(0, bytes).expect("write");
    f.sync_data().expect("sync");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let backend = SimBackend::new();
    let data_dir = Path::new("/data");
    let dir = data_dir.join(VERSION_DIR);
    backend.create_dir_all(&dir).expect("mkdir");

    if mode & 1 == 0 {
        // A whole file, named after the zxid its header claims.
        let zxid = bytes
            .get(16..24)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .filter(|z| *z >= 0)
            .unwrap_or(0);
        put(&backend, &dir.join(snapshot_file_name(zxid)), bytes);
        if let Ok(Some((_, snap))) = load_latest_snapshot(&backend, data_dir) {
            let _ = snap.to_image();
        }
        return;
    }

    // A payload: name the file after the image's zxid when the archive gives one, so a valid
    // archive gets all the way through the loader.
    let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
    aligned.extend_from_slice(bytes);
    let zxid = rkyv::access::<ArchivedSnapshotImage, rancor::Error>(&aligned)
        .map(|a| a.last_zxid.to_native())
        .unwrap_or(0);
    let path = dir.join(snapshot_file_name(zxid));
    let mut file = header(bytes, zxid).to_vec();
    file.extend_from_slice(bytes);
    put(&backend, &path, &file);
    let Ok(snap) = load_snapshot_file(&backend, &path, zxid) else {
        return;
    };
    let Ok(image) = snap.to_image() else {
        return;
    };
    // Round trip through the writer: what loaded once must load again, unchanged.
    let other = SimBackend::new();
    other.create_dir_all(&dir).expect("mkdir");
    let info = write_snapshot(&other, data_dir, &image).expect("write_snapshot");
    let again = load_snapshot_file(&other, &info.path, info.zxid).expect("reload");
    assert_eq!(again.to_image().expect("deserialize again"), image);
});
