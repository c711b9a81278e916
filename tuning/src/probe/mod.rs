//! The disk probe: for each directory, what a log commit's `fdatasync` costs, how fast a
//! snapshot can be written, and which device and file system hold it.

pub mod bandwidth;
pub mod device;
pub mod fsync;
pub mod latency;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use device::DeviceInfo;
pub use fsync::{FileKind, FsyncCase, FsyncResult};
pub use latency::Distribution;

/// Everything measured on one directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirProbe {
    /// "dataDir" or "dataLogDir".
    pub role: String,
    pub path: PathBuf,
    pub device: Option<DeviceInfo>,
    pub device_error: Option<String>,
    pub fsync: Vec<FsyncResult>,
    pub write_mib_per_sec: Option<f64>,
    pub bandwidth_error: Option<String>,
}

impl DirProbe {
    pub fn case(&self, case: FsyncCase) -> Option<&Distribution> {
        self.fsync
            .iter()
            .find(|r| r.case == case)
            .and_then(|r| r.latency.as_ref())
    }
}

/// How much the probe does.
#[derive(Clone, Copy, Debug)]
pub struct ProbePlan {
    /// `fdatasync`s per case.
    pub samples: usize,
    /// MiB written for the bandwidth figure.
    pub bandwidth_mib: usize,
    /// Leave the probe's files behind (a test points fio at them).
    pub keep_files: bool,
}

/// The cases whose keys are in `only` (all of them when it is empty); an unknown key is an
/// error naming the known ones.
pub fn select_cases(only: &[String]) -> Result<Vec<FsyncCase>, String> {
    let all = FsyncCase::all();
    if only.is_empty() {
        return Ok(all);
    }
    only.iter()
        .map(|k| {
            all.iter().copied().find(|c| &c.key() == k).ok_or_else(|| {
                let known: Vec<String> = all.iter().map(|c| c.key()).collect();
                format!("unknown probe case {k:?}; known: {}", known.join(", "))
            })
        })
        .collect()
}

/// Probes `dir`; `step` is called after each measurement (the progress bar).
pub fn probe_dir(
    role: &str,
    dir: &Path,
    cases: &[FsyncCase],
    plan: ProbePlan,
    mut step: impl FnMut(),
) -> DirProbe {
    let (device, device_error) = match device::describe(dir) {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let mut fsync = Vec::new();
    for &case in cases {
        fsync.push(fsync::measure(dir, case, plan.samples, plan.keep_files));
        step();
    }
    let (write_mib_per_sec, bandwidth_error) = match bandwidth::measure(dir, plan.bandwidth_mib) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e.to_string())),
    };
    step();
    DirProbe {
        role: role.to_string(),
        path: dir.to_path_buf(),
        device,
        device_error,
        fsync,
        write_mib_per_sec,
        bandwidth_error,
    }
}

/// Steps `probe_dir` reports through its callback.
pub fn steps(cases: usize) -> usize {
    cases + 1
}

/// A zeroed buffer aligned for O_DIRECT (4 KiB, the largest logical block size in use).
pub(crate) struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

const ALIGN: usize = 4096;

impl AlignedBuf {
    pub(crate) fn zeroed(len: usize) -> AlignedBuf {
        assert!(
            len > 0 && len & (ALIGN - 1) == 0,
            "O_DIRECT buffer of {len} bytes"
        );
        let layout = std::alloc::Layout::from_size_align(len, ALIGN).expect("layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        AlignedBuf { ptr, len }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr points at len initialised bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and &mut self makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = std::alloc::Layout::from_size_align(self.len, ALIGN).expect("layout");
        // SAFETY: allocated in zeroed() with this layout.
        unsafe { std::alloc::dealloc(self.ptr, layout) }
    }
}
