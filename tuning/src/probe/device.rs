//! Which device and file system a directory lives on: `stat` gives the device number,
//! `/proc/self/mountinfo` the mount (file system, options, source), `/sys/dev/block` the disk.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// "major:minor" of the file system holding the directory.
    pub dev: String,
    pub mount_point: String,
    pub fs_type: String,
    /// Per-mount options and the file system's own (super block) options.
    pub mount_options: String,
    pub super_options: String,
    pub source: String,
    /// The block device (`sda1`), its whole disk (`sda`), and whether the disk says it spins;
    /// `None` for file systems without one (tmpfs, overlay).
    pub block_device: Option<String>,
    pub disk: Option<String>,
    pub rotational: Option<bool>,
    pub model: Option<String>,
}

/// Looks the directory up; fields that cannot be found stay empty.
pub fn describe(dir: &Path) -> std::io::Result<DeviceInfo> {
    let meta = std::fs::metadata(dir)?;
    let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
    let dev = format!("{major}:{minor}");
    let canon = std::fs::canonicalize(dir)?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut info = find_mount(&mountinfo, &dev, &canon).unwrap_or_default();
    info.dev = dev.clone();
    let sys = PathBuf::from(format!("/sys/dev/block/{dev}"));
    if let Ok(target) = std::fs::read_link(&sys) {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let disk = if sys.join("partition").exists() {
            target
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        } else {
            name.clone()
        };
        if let Some(d) = &disk {
            let queue = PathBuf::from(format!("/sys/block/{d}"));
            info.rotational = std::fs::read_to_string(queue.join("queue/rotational"))
                .ok()
                .map(|s| s.trim() == "1");
            info.model = std::fs::read_to_string(queue.join("device/model"))
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
        }
        info.block_device = name;
        info.disk = disk;
    }
    Ok(info)
}

/// The mount of device `dev` whose mount point is the longest prefix of `dir`.
fn find_mount(mountinfo: &str, dev: &str, dir: &Path) -> Option<DeviceInfo> {
    let mut best: Option<(usize, DeviceInfo)> = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 3 || l[2] != dev {
            continue;
        }
        let mount_point = unescape(l[4]);
        if !dir.starts_with(&mount_point) {
            continue;
        }
        let len = mount_point.len();
        if best.as_ref().is_some_and(|(b, _)| *b >= len) {
            continue;
        }
        let info = DeviceInfo {
            mount_point,
            mount_options: l[5].to_string(),
            fs_type: r[0].to_string(),
            source: unescape(r[1]),
            super_options: r[2].to_string(),
            ..DeviceInfo::default()
        };
        best = Some((len, info));
    }
    best.map(|(_, i)| i)
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether two directories' writes land on the same device: the same disk when both have one,
/// else the same file system.
pub fn shared(a: &DeviceInfo, b: &DeviceInfo) -> bool {
    match (&a.disk, &b.disk) {
        (Some(x), Some(y)) => x == y,
        _ => a.dev == b.dev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 8:1 /srv /mnt/my\\040data rw,noatime shared:2 - ext4 /dev/sda1 rw
24 22 0:21 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw,size=1024k
";

    #[test]
    fn longest_matching_mount_point_wins() {
        let m = find_mount(SAMPLE, "8:1", Path::new("/mnt/my data/zk")).unwrap();
        assert_eq!(m.mount_point, "/mnt/my data");
        assert_eq!(m.mount_options, "rw,noatime");
        let root = find_mount(SAMPLE, "8:1", Path::new("/var/lib/zk")).unwrap();
        assert_eq!(root.mount_point, "/");
        assert_eq!(root.fs_type, "ext4");
        assert_eq!(root.super_options, "rw,errors=remount-ro");
        let shm = find_mount(SAMPLE, "0:21", Path::new("/dev/shm/x")).unwrap();
        assert_eq!(
            (shm.fs_type.as_str(), shm.source.as_str()),
            ("tmpfs", "tmpfs")
        );
        assert!(find_mount(SAMPLE, "9:9", Path::new("/")).is_none());
    }

    #[test]
    fn this_process_cwd_is_found() {
        let info = describe(Path::new(".")).unwrap();
        assert!(!info.fs_type.is_empty(), "{info:?}");
        assert!(shared(&info, &info));
    }
}
