//! One Ringkeeper server the sweep starts: its zoo.cfg, its process, readiness, `mntr`, and
//! its end. Every running server is registered so that Ctrl-C can kill them all; each also
//! dies with the tune process (PR_SET_PDEATHSIG), and dropping the handle kills it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Pids of the servers running now.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// How long a server may take to serve after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for one four-letter-word reply.
const FOUR_TIMEOUT: Duration = Duration::from_secs(5);

/// Kills every registered server; for the Ctrl-C handler.
pub fn kill_all() {
    let pids = match RUNNING.lock() {
        Ok(v) => v,
        Err(poisoned) => poisoned.into_inner(),
    };
    for &pid in pids.iter() {
        // SAFETY: a plain syscall; the pid is one of our children that has not been reaped.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

pub struct ServerProcess {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Writes `dir/zoo.cfg` with `settings` (over the base lines) and starts `bin` on a free
    /// port; returns once it answers `ruok` and `srvr`.
    pub fn start(
        bin: &Path,
        dir: &Path,
        data_dir: &Path,
        log_dir: &Path,
        settings: &[(String, String)],
    ) -> Result<ServerProcess, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let mut cfg: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in [
            ("tickTime", "2000".to_string()),
            ("dataDir", data_dir.display().to_string()),
            ("dataLogDir", log_dir.display().to_string()),
            ("clientPort", port.to_string()),
            ("clientPortAddress", "127.0.0.1".to_string()),
            ("4lw.commands.whitelist", "*".to_string()),
            ("admin.enableServer", "false".to_string()),
            ("maxClientCnxns", "0".to_string()),
        ] {
            cfg.insert(k.to_string(), v);
        }
        for (k, v) in settings {
            cfg.insert(k.clone(), v.clone());
        }
        let text: String = cfg.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let cfg_path = dir.join("zoo.cfg");
        std::fs::write(&cfg_path, text).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        let log = dir.join("server.log");
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(bin);
        cmd.arg("server")
            .arg("--config")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut registry = RUNNING.lock().map_err(|_| "server registry poisoned")?;
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        registry.push(child.id());
        drop(registry);
        let mut server = ServerProcess { child, port, log };
        server.wait_ready()?;
        Ok(server)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the server exited during start-up ({status}):\n{}",
                    self.log_tail()
                ));
            }
            if self.four("ruok").is_ok_and(|r| r == "imok")
                && self.four("srvr").is_ok_and(|r| r.contains("Mode:"))
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the server did not serve within {READY_TIMEOUT:?}:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A four-letter word's reply.
    pub fn four(&self, cmd: &str) -> std::io::Result<String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut s = TcpStream::connect_timeout(&addr, FOUR_TIMEOUT)?;
        s.set_read_timeout(Some(FOUR_TIMEOUT))?;
        s.write_all(cmd.as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    /// `mntr` as key -> value (the `zk_` prefix removed).
    pub fn mntr(&self) -> BTreeMap<String, String> {
        let text = self.four("mntr").unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| {
                (
                    k.trim_start_matches("zk_").to_string(),
                    v.trim().to_string(),
                )
            })
            .collect()
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Whether the process still runs (a server that died mid-run spoils the point).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Under the registry's lock, so that Ctrl-C never signals a pid already reaped.
        let registry = RUNNING.lock();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let pid = self.child.id();
        if let Ok(mut v) = registry {
            v.retain(|&p| p != pid);
        }
    }
}
