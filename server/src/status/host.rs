//! What the host tells: open descriptors, directory sizes, the environment. These read
//! /proc and the data directories, so they run off the pipeline core: on the admin or metrics
//! thread, or on a shard's blocking-thread pool for a four-letter word.

use super::snapshot::Snapshot;
use crate::config::ServerConfig;
use std::path::Path;

/// Which host figures a command prints.
pub fn wants(cmd: &str) -> (bool, bool, bool) {
    // (descriptors, directory sizes, environment)
    match cmd {
        "mntr" => (true, false, false),
        "conf" | "dirs" => (false, true, false),
        "envi" => (false, false, true),
        _ => (false, false, false),
    }
}

/// Adds the host figures `cmd` prints to `snap`.
pub fn fill(cmd: &str, snap: &mut Snapshot, config: &ServerConfig) {
    let (fds, dirs, env) = wants(cmd);
    if fds {
        (snap.open_fds, snap.max_fds) = fd_counts();
    }
    if dirs {
        fill_dirs(snap, config);
    }
    if env {
        snap.env = default_env(&snap.version);
    }
}

/// Directory sizes and the `conf` lines that print them.
pub fn fill_dirs(snap: &mut Snapshot, config: &ServerConfig) {
    snap.data_dir_size = dir_size(&config.snap_dir());
    snap.log_dir_size = dir_size(&config.txn_log_dir());
    snap.conf_lines = config.conf_lines(snap.data_dir_size, snap.log_dir_size);
    snap.conf_membership = config.membership();
}

/// Bytes in the regular files directly in `p` (ZooKeeper's getDataDirSize does the same).
pub fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// (open, max) file descriptors of this process; -1 when unknown.
pub fn fd_counts() -> (i64, i64) {
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(-1);
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
        rl.rlim_cur as i64
    } else {
        -1
    };
    (open, max)
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn meminfo_mb(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// `envi` entries in ZooKeeper's order (Environment.list). There is no JVM: the `java.*`
/// entries print `<NA>` (ZooKeeper's own fallback) except java.io.tmpdir; `os.memory.*` are
/// the machine's (free = MemAvailable, max = total = MemTotal), in MB.
pub fn default_env(version: &str) -> Vec<(String, String)> {
    let na = || "<NA>".to_string();
    let env_or_na = |k: &str| std::env::var(k).unwrap_or_else(|_| na());
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64".to_string(),
        other => other.to_string(),
    };
    let os_name = match std::env::consts::OS {
        "linux" => "Linux".to_string(),
        other => other.to_string(),
    };
    let mb = |v: Option<u64>| v.map_or_else(na, |v| format!("{v}MB"));
    vec![
        ("zookeeper.version".into(), version.to_string()),
        (
            "host.name".into(),
            read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(na),
        ),
        ("java.version".into(), na()),
        ("java.vendor".into(), na()),
        ("java.home".into(), na()),
        ("java.class.path".into(), na()),
        ("java.library.path".into(), na()),
        (
            "java.io.tmpdir".into(),
            std::env::temp_dir().display().to_string(),
        ),
        ("java.compiler".into(), na()),
        ("os.name".into(), os_name),
        ("os.arch".into(), arch),
        (
            "os.version".into(),
            read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(na),
        ),
        ("user.name".into(), env_or_na("USER")),
        ("user.home".into(), env_or_na("HOME")),
        (
            "user.dir".into(),
            std::env::current_dir().map_or_else(|_| na(), |d| d.display().to_string()),
        ),
        ("os.memory.free".into(), mb(meminfo_mb("MemAvailable:"))),
        ("os.memory.max".into(), mb(meminfo_mb("MemTotal:"))),
        ("os.memory.total".into(), mb(meminfo_mb("MemTotal:"))),
    ]
}
