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
