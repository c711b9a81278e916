//! `fdatasync` latency after appends: what a log commit costs on this directory's device, for
//! each way the log could be written (O_DIRECT or buffered, 4 KiB or 64 KiB per commit, into a
//! fresh file, a preallocated one, or one whose blocks were written with zeros ahead).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::latency::Distribution;
use super::AlignedBuf;

/// How the file looks before the appends start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// Created empty: every append extends the file and its metadata.
    Fresh,
    /// `fallocate`d to its full size (unwritten extents, as `preAllocSize` does).
    Preallocated,
    /// Preallocated and then written with zeros, as Ringkeeper's zero-ahead does: an append
    /// overwrites written blocks, so its sync has no extent conversion to commit.
    Zeroed,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [FileKind::Fresh, FileKind::Preallocated, FileKind::Zeroed];

    pub fn name(self) -> &'static str {
        match self {
            FileKind::Fresh => "fresh",
            FileKind::Preallocated => "preallocated",
            FileKind::Zeroed => "zeroed",
        }
    }
}

/// One combination the probe measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsyncCase {
    pub file: FileKind,
    pub block: usize,
    pub direct: bool,
}

impl FsyncCase {
    /// All twelve combinations, in report order.
    pub fn all() -> Vec<FsyncCase> {
        let mut cases = Vec::new();
        for direct in [true, false] {
            for block in [4096, 65536] {
                for file in FileKind::ALL {
                    cases.push(FsyncCase {
                        file,
                        block,
                        direct,
                    });
                }
            }
        }
        cases
    }

    pub fn label(&self) -> String {
        format!(
            "{} {} KiB {}",
            if self.direct { "O_DIRECT" } else { "buffered" },
            self.block / 1024,
            self.file.name()
        )
    }

    /// "direct-4k-zeroed": the name `--probe-cases` takes.
    pub fn key(&self) -> String {
        format!(
            "{}-{}k-{}",
            if self.direct { "direct" } else { "buffered" },
            self.block / 1024,
            self.file.name()
        )
    }

    /// The probe's file for this case, in `dir`. Named so that a test can point fio at it.
    pub fn file_name(&self) -> String {
        format!("ringkeeper-tune-probe-{}.dat", self.key())
    }
}

/// The outcome of one case: a distribution, or why it could not be measured (tmpfs refuses
/// O_DIRECT, for one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FsyncResult {
    pub case: FsyncCase,
    pub label: String,
    pub latency: Option<Distribution>,
    pub error: Option<String>,
}

/// Appends `samples` blocks to a file in `dir`, timing each `fdatasync`, then removes the file
/// unless `keep`.
pub fn measure(dir: &Path, case: FsyncCase, samples: usize, keep: bool) -> FsyncResult {
    let path = dir.join(case.file_name());
    let result = measure_file(&path, case, samples);
    if !keep {
        let _ = std::fs::remove_file(&path);
    }
    let (latency, error) = match result {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e.to_string())),
    };
    FsyncResult {
        case,
        label: case.label(),
        latency,
        error,
    }
}

fn measure_file(path: &Path, case: FsyncCase, samples: usize) -> io::Result<Distribution> {
    let size = (samples * case.block) as u64;
    let _ = std::fs::remove_file(path);
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(true);
    if case.direct {
        opts.custom_flags(libc::O_DIRECT);
    }
    let file = opts.open(path).map_err(|e| {
        if case.direct && e.raw_os_error() == Some(libc::EINVAL) {
            io::Error::other("the file system refuses O_DIRECT")
        } else {
            e
        }
    })?;
    match case.file {
        FileKind::Fresh => {}
        FileKind::Preallocated => fallocate(&file, size)?,
        FileKind::Zeroed => {
            fallocate(&file, size)?;
            let zeros = AlignedBuf::zeroed(1 << 20);
            let mut off = 0;
            while off < size {
                let n = zeros.len().min((size - off) as usize);
                file.write_all_at(&zeros[..n], off)?;
                off += n as u64;
            }
        }
    }
    file.sync_all()?;
    let mut block = AlignedBuf::zeroed(case.block);
    let mut nanos = Vec::with_capacity(samples);
    for i in 0..samples {
        // Different bytes each time, so nothing downstream can skip an identical block.
        block[..8].copy_from_slice(&(i as u64).to_le_bytes());
        file.write_all_at(&block, (i * case.block) as u64)?;
        let start = Instant::now();
        file.sync_data()?;
        nanos.push(start.elapsed().as_nanos() as u64);
    }
    Ok(Distribution::from_nanos(nanos))
}

fn fallocate(file: &File, size: u64) -> io::Result<()> {
    // SAFETY: a plain syscall on an fd we own.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, size as libc::off_t) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_cases_measure_every_sample() {
        let dir = tempfile::tempdir().unwrap();
        for case in FsyncCase::all().into_iter().filter(|c| !c.direct) {
            let r = measure(dir.path(), case, 5, false);
            let d = r
                .latency
                .unwrap_or_else(|| panic!("{}: {:?}", r.label, r.error));
            assert_eq!(d.count, 5);
            assert!(d.max_us >= d.p50_us && d.p50_us > 0.0);
            assert!(!dir.path().join(case.file_name()).exists());
        }
    }
}
