//! The start-up log: the settings the server runs with and where its data goes, as readable
//! text by default and as one JSON object per line with RINGKEEPER_LOG_FORMAT=json.

use ringkeeper_tests::RingkeeperProcess;

fn log_of(p: &RingkeeperProcess) -> String {
    std::fs::read_to_string(p.dir().join("server.log")).expect("read server.log")
}

#[test]
fn json_log_names_the_settings_and_the_data_directories() {
    let p = RingkeeperProcess::start_with_env(
        &["snapCount=12345", "forceSync=yes"],
        &[("RINGKEEPER_LOG_FORMAT", "json")],
    );
    let log = log_of(&p);
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let event = |message: &str| {
        events
            .iter()
            .find(|e| e["message"] == message)
            .unwrap_or_else(|| panic!("no '{message}' event in:\n{log}"))
    };
    let snapshots = p.dir().join("data").join("version-2");
    let data = event("data");
    assert_eq!(data["snapshots"], snapshots.display().to_string());
    assert_eq!(data["txn_logs"], snapshots.display().to_string());
    assert_eq!(data["snap_count"], 12345);
    assert_eq!(data["force_sync"], true);
    let server = event("server");
    assert_eq!(server["client_port"], p.addr().port().to_string());
    assert_eq!(
        server["config"],
        p.dir().join("zoo.cfg").display().to_string()
    );
    assert_eq!(event("settings")["tick_time_ms"], 2000);
    assert_eq!(event("serving clients")["level"], "INFO");
}

#[test]
fn text_log_is_plain_when_not_on_a_terminal() {
    let p = RingkeeperProcess::start(&["snapCount=23456"]);
    let log = log_of(&p);
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{log}"
    );
    let data_line = log
        .lines()
        .find(|l| l.contains(" data "))
        .unwrap_or_else(|| panic!("no data line in:\n{log}"));
    assert!(data_line.contains("snap_count=23456"), "{data_line}");
    let snapshots = p.dir().join("data").join("version-2");
    assert!(
        data_line.contains(&format!("snapshots={}", snapshots.display())),
        "{data_line}"
    );
}

#[test]
fn an_ensemble_member_refuses_a_standalone_servers_data() {
    let dir = std::env::temp_dir().join(format!("rk-ensemble-cfg-{}", std::process::id()));
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("version-2")).unwrap();
    std::fs::write(data.join("myid"), "1\n").unwrap();
    // A standalone server's log: an ensemble member keeps its state in the replicated log
    // and would silently ignore this tree.
    std::fs::write(data.join("version-2").join("log.1"), b"x").unwrap();
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort=0\n\
             admin.enableServer=false\n\
             server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
             server.3=127.0.0.1:2890:3890\n",
            data.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(ringkeeper_tests::ringkeeper_bin())
        .args(["server", "--config"])
        .arg(&cfg)
        .output()
        .expect("run ringkeeper");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "started over standalone data: {stderr}"
    );
    assert!(
        stderr.contains("holds a standalone server's snapshots or log"),
        "{stderr}"
    );
}
