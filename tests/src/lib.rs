//! Shared harness for integration tests against the real `ringkeeper` binary.
//!
//! [`RingkeeperProcess::start`] writes a zoo.cfg into a fresh temporary directory, starts the
//! binary on a free loopback port, waits until `ruok` answers `imok`, and kills the process
//! (and removes the directory) when dropped, including while a failing test unwinds.
//!
//! The binary is found, in order, at `$RINGKEEPER_BIN`, next to the test executable's target
//! directory (`<target>/debug/ringkeeper`, so a `CARGO_TARGET_DIR` build finds its own
//! binary), and at `<workspace>/target/debug/ringkeeper`. If none exists it runs
//! `cargo build -p ringkeeper` once and looks again.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a server may take to answer `ruok` after it was spawned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// zoo.cfg lines every test server gets, before the test's own lines.
pub const BASE_CFG: &[&str] = &[
    "tickTime=2000",
    "extendedTypesEnabled=true",
    "4lw.commands.whitelist=*",
    // The AdminServer is on by default (port 8080): parallel test servers would all try it.
    "admin.enableServer=false",
];

/// A running `ringkeeper server` with its own data directory.
pub struct RingkeeperProcess {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    /// A failed start attempt keeps the directory for the next attempt.
    keep_dir: bool,
}

impl RingkeeperProcess {
    /// Starts a server with `BASE_CFG` plus `extra_cfg_lines` (e.g. `"skipACL=yes"`); later
    /// lines win. Panics with the server's log tail if it does not become ready.
    pub fn start(extra_cfg_lines: &[&str]) -> RingkeeperProcess {
        Self::start_with_env(extra_cfg_lines, &[])
    }

    /// As [`Self::start`], with extra environment variables for the server process.
    pub fn start_with_env(extra_cfg_lines: &[&str], env: &[(&str, &str)]) -> RingkeeperProcess {
        let bin = ringkeeper_bin();
        let dir = temp_dir();
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let cfg = dir.join("zoo.cfg");
            let data = dir.join("data");
            std::fs::create_dir_all(&data).expect("create dataDir");
            let mut text = String::new();
            for line in BASE_CFG {
                text.push_str(line);
                text.push('\n');
            }
            text.push_str(&format!("dataDir={}\n", data.display()));
            text.push_str(&format!("clientPort={port}\n"));
            text.push_str("clientPortAddress=127.0.0.1\n");
            for line in extra_cfg_lines {
                text.push_str(line);
                text.push('\n');
            }
            std::fs::write(&cfg, text).expect("write zoo.cfg");
            let log = std::fs::File::create(dir.join("server.log")).expect("create server.log");
            let child = Command::new(&bin)
                .arg("server")
                .arg("--config")
                .arg(&cfg)
                .current_dir(&dir)
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", bin.display()));
            let mut p = RingkeeperProcess {
                child,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                dir: dir.clone(),
                keep_dir: false,
            };
            if p.wait_ready() {
                return p;
            }
            last_log = p.log_tail(40);
            p.keep_dir = true;
            drop(p);
            if !last_log.contains("in use") {
                break;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!(
            "ringkeeper ({}) did not answer ruok within {:?}\n--- log tail ---\n{last_log}",
            bin.display(),
            READY_TIMEOUT
        );
    }

    /// The client address, 127.0.0.1:<port>.
    /// The server's process id (for /proc readings such as VmRSS).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// "127.0.0.1:<port>", the connect string clients take.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// The temporary directory holding zoo.cfg, data/ and server.log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sends a four-letter word and returns the whole answer.
    pub fn four(&self, cmd: &str) -> std::io::Result<String> {
        four_letter(self.addr, cmd, Duration::from_secs(5))
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Is the process still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                return false;
            }
            if let Ok(answer) = four_letter(self.addr, "ruok", Duration::from_secs(1)) {
                if answer == "imok" {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RingkeeperProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && !self.keep_dir {
            eprintln!(
                "--- ringkeeper log tail ({}) ---\n{}",
                self.dir.display(),
                self.log_tail(40)
            );
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends `cmd` as the first 4 bytes of a connection and reads until the server closes it.
pub fn four_letter(addr: SocketAddr, cmd: &str, timeout: Duration) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "ringkeeper-it-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // <target>/debug/deps/<test>-<hash>
        if let Some(profile) = exe.parent().and_then(|deps| deps.parent()) {
            v.push(profile.join("ringkeeper"));
            if let Some(target) = profile.parent() {
                v.push(target.join("debug").join("ringkeeper"));
            }
        }
    }
    v.push(
        workspace_root()
            .join("target")
            .join("debug")
            .join("ringkeeper"),
    );
    v
}

/// The `ringkeeper` binary to test (see the crate docs for the search order).
pub fn ringkeeper_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RINGKEEPER_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "RINGKEEPER_BIN={} does not exist", p.display());
        return p;
    }
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = candidates().into_iter().find(|p| p.is_file()) {
        return p;
    }
    if !*built {
        *built = true;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "ringkeeper"])
            .current_dir(workspace_root())
            .status();
        if let Some(p) = candidates().into_iter().find(|p| p.is_file()) {
            return p;
        }
        panic!(
            "ringkeeper binary not found (tried {:?}); `cargo build -p ringkeeper` gave {status:?}. \
             Build it first or set RINGKEEPER_BIN.",
            candidates()
        );
    }
    panic!(
        "ringkeeper binary not found (tried {:?}); build it with `cargo build -p ringkeeper` \
         or set RINGKEEPER_BIN",
        candidates()
    );
}
