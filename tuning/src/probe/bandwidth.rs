//! Sequential write bandwidth: large buffered writes ended by one `fdatasync`, the way a
//! snapshot is written.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

use super::AlignedBuf;

/// The file the measurement writes (and removes).
pub const FILE_NAME: &str = "ringkeeper-tune-bandwidth.dat";

/// Writes `mib` MiB in 1 MiB writes plus a final sync; returns MiB/s. The file is removed.
pub fn measure(dir: &Path, mib: usize) -> io::Result<f64> {
    let path = dir.join(FILE_NAME);
    let result = write_file(&path, mib);
    let _ = std::fs::remove_file(&path);
    result
}

fn write_file(path: &Path, mib: usize) -> io::Result<f64> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let mut buf = AlignedBuf::zeroed(1 << 20);
    let start = Instant::now();
    for i in 0..mib {
        buf[..8].copy_from_slice(&(i as u64).to_le_bytes());
        file.write_all(&buf)?;
    }
    file.sync_data()?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(mib as f64 / secs)
}
