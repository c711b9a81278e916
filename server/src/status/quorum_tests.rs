//! Each quorum role rendered against what ZooKeeper 3.8 answered in that role: srvr, stat,
//! mntr, conf, isro and the AdminServer's JSON, compared field by field with the captures in
//! tests/ensemble/fixtures/zk38 (made by tests/ensemble/capture_zk_roles.py, whose
//! normalisation of varying figures is applied to Ringkeeper's answers here too).
//!
//! The ensemble is the captured one: voters 1-3, Observer 4, the same zoo.cfg keys, ports
//! replaced by `<client.N>`-style placeholders and data directories by `<root>`. Which voter
//! led is read from the fixtures. Figures that depend on the traffic the capture sent
//! (counters, latencies, byte counts) are compared by name and position only.

use super::admin::commands::{self, Context};
use super::board::{Board, Inbox};
use super::collect::asking_conn;
use super::fourlw::render;
use super::host;
use super::quorum::{LearnerStatus, QuorumRole, QuorumStatus};
use super::snapshot::Snapshot;
use super::words::ZK_NOT_SERVING;
use crate::config::ServerConfig;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const ROLES: &[&str] = &["leader", "follower", "observer", "looking", "read-only"];
const OBSERVER: u64 = 4;

fn fixture(role: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/ensemble/fixtures/zk38")
        .join(role)
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fixture_names(role: &str, ext: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/ensemble/fixtures/zk38")
        .join(role);
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    v.sort();
    v
}

/// The server id that answered as `role` (the looking one was the captured follower).
fn id_of(role: &str) -> u64 {
    let role = if role == "looking" { "follower" } else { role };
    fixture(role, "conf.txt")
        .lines()
        .find_map(|l| l.strip_prefix("serverId="))
        .unwrap()
        .parse()
        .unwrap()
}

fn port(kind: &str, id: u64) -> u16 {
    let base = match kind {
        "client" => 21810,
        "quorum" => 28880,
        "election" => 38880,
        _ => 18080,
    };
    base + id as u16
}

/// The captured ensemble's configuration, one data directory per server under `root`.
struct Ensemble {
    root: tempfile::TempDir,
}

impl Ensemble {
    fn new() -> Ensemble {
        Ensemble {
            root: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self, id: u64) -> ServerConfig {
        let data = self.root.path().join(format!("zk{id}/data"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("myid"), format!("{id}\n")).unwrap();
        let mut text = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\n4lw.commands.whitelist=*\n\
             admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={}\n",
            data.display(),
            port("admin", id)
        );
        if id == OBSERVER {
            text.push_str("peerType=observer\n");
        }
        for n in 1..=4 {
            let kind = if n == OBSERVER { ":observer" } else { "" };
            text.push_str(&format!(
                "server.{n}=127.0.0.1:{}:{}{kind};127.0.0.1:{}\n",
                port("quorum", n),
                port("election", n),
                port("client", n)
            ));
        }
        let cfg_path = self.root.path().join(format!("zk{id}/zoo.cfg"));
        crate::config::parse(&text, &cfg_path).unwrap().0
    }

    /// `text` with ports and the root directory as the fixtures write them.
    fn placeholders(&self, text: &str) -> String {
        let text = text.replace(&self.root.path().display().to_string(), "<root>");
        let mut out = String::with_capacity(text.len());
        let mut digits = String::new();
        let flush = |digits: &mut String, out: &mut String| {
            out.push_str(&port_name(digits).unwrap_or_else(|| digits.clone()));
            digits.clear();
        };
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
        flush(&mut digits, &mut out);
        out
    }
}

fn port_name(digits: &str) -> Option<String> {
    let n: u16 = digits.parse().ok()?;
    for kind in ["client", "quorum", "election", "admin"] {
        for id in 1..=4 {
            if port(kind, id) == n {
                return Some(format!("<{kind}.{id}>"));
            }
        }
    }
    None
}

/// mntr keys whose values vary from run to run (capture_zk_roles.py's list).
const VARYING_MNTR: &[&str] = &[
    "zk_avg_latency",
    "zk_min_latency",
    "zk_max_latency",
    "zk_packets_sent",
    "zk_packets_received",
    "zk_uptime",
    "zk_open_file_descriptor_count",
    "zk_max_file_descriptor_count",
    "zk_approximate_data_size",
    "zk_num_alive_connections",
    "zk_last_client_response_size",
    "zk_min_client_response_size",
    "zk_max_client_response_size",
    "zk_leader_uptime",
    "zk_last_proposal_size",
    "zk_min_proposal_size",
    "zk_max_proposal_size",
];

fn summary_entry(key: &str) -> bool {
    [
        "avg_", "min_", "max_", "cnt_", "sum_", "p50_", "p95_", "p99_", "p999_",
    ]
    .iter()
    .any(|p| key.starts_with(p))
}

/// The capture's normalisation of a four-letter word's answer.
fn normalise_text(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let replaced = [
            ("Zookeeper version: ", "<version>"),
            ("zk_version\t", "<version>"),
            ("dataDirSize=", "<n>"),
            ("dataLogSize=", "<n>"),
            ("Latency min/avg/max: ", "<n>/<n>/<n>"),
            ("Received: ", "<n>"),
            ("Sent: ", "<n>"),
            ("Zxid: ", "<n>"),
            ("Connections: ", "<n>"),
            ("Proposal sizes last/min/max: ", "<n>/<n>/<n>"),
        ]
        .iter()
        .find(|(prefix, _)| line.starts_with(prefix))
        .map(|(prefix, v)| format!("{prefix}{v}"));
        let line = replaced.unwrap_or_else(|| {
            if line.starts_with(" /127.0.0.1:") {
                return " <client connection>".into();
            }
            match line.split_once('\t') {
                Some((k, _))
                    if VARYING_MNTR.contains(&k)
                        || k.strip_prefix("zk_").is_some_and(summary_entry) =>
                {
                    format!("{k}\t<n>")
                }
                _ => line.to_string(),
            }
        });
        lines.push(line);
    }
    lines.join("\n")
}

/// AdminServer fields whose values vary from run to run, besides the mntr ones
/// (capture_zk_roles.py's list).
const VARYING_JSON: &[&str] = &[
    "uptime",
    "packets_sent",
    "packets_received",
    "avg_latency",
    "max_latency",
    "min_latency",
    "last_processed_zxid",
    "data_dir_size",
    "log_dir_size",
    "open_file_descriptor_count",
    "max_file_descriptor_count",
    "approximate_data_size",
    "last_buffer_size",
    "min_buffer_size",
    "max_buffer_size",
    "num_alive_connections",
    "num_alive_client_connections",
    "leader_uptime",
    "last_proposal_size",
    "min_proposal_size",
    "max_proposal_size",
    "version",
    "timestamp",
    "zxid",
    "established",
    "last_zxid",
    "last_response_time",
    "last_latency",
    "remote_socket_address",
    "session_id",
    "digests",
    "datadir_size",
    "logdir_size",
    "queued_packets_size",
];

fn normalise_json(e: &Ensemble, v: &Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), normalise_json(e, x, Some(k))))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise_json(e, x, None)).collect()),
        _ if key == Some("version") => Value::String("<version>".into()),
        _ if key.is_some_and(|k| {
            VARYING_JSON.contains(&k)
                || VARYING_MNTR.contains(&format!("zk_{k}").as_str())
                || summary_entry(k)
        }) =>
        {
            Value::String("<n>".into())
        }
        Value::String(s) => Value::String(e.placeholders(s)),
        Value::Number(n) => match n.as_u64().and_then(|n| port_name(&n.to_string())) {
            Some(p) => Value::String(p),
            None => v.clone(),
        },
        _ => v.clone(),
    }
}

/// What the pipeline would report in `role`, as the captured ensemble was.
fn quorum_status(role: &str) -> QuorumStatus {
    let leader = id_of("leader");
    let (role_, read_only) = match role {
        "leader" => (QuorumRole::Leading, false),
        "follower" => (QuorumRole::Following, false),
        "observer" => (QuorumRole::Observing, false),
        "looking" => (QuorumRole::Looking, false),
        _ => (QuorumRole::Looking, true),
    };
    let learners = if role_ == QuorumRole::Leading {
        (1..=4)
            .filter(|id| *id != leader)
            .map(|id| LearnerStatus {
                id,
                observer: id == OBSERVER,
                synced: true,
            })
            .collect()
    } else {
        Vec::new()
    };
    QuorumStatus {
        role: role_,
        my_id: id_of(role),
        leader_id: (role_ != QuorumRole::Looking).then_some(leader),
        epoch: 1,
        learners,
        pending_syncs: 0,
        proposal_sizes: (48, 48, 107),
        voters: 3,
        read_only,
        since: Instant::now(),
    }
}

/// The snapshot the pipeline would give in `role`: the capture's tree (8 znodes, last zxid
/// 0x100000007) and no client connection.
fn snapshot(role: &str) -> Snapshot {
    let mut snap = Snapshot {
        zxid: 0x1_0000_0007,
        node_count: 8,
        ..Snapshot::default()
    };
    super::quorum::apply(&quorum_status(role), &mut snap);
    snap
}

/// A four-letter word's answer in `role` (the asking connection listed, as ZooKeeper does).
fn four(e: &Ensemble, role: &str, cmd: &str) -> String {
    let config = e.config(id_of(role));
    let mut snap = snapshot(role);
    snap.connections
        .push(asking_conn("127.0.0.1:50000".parse().unwrap()));
    snap.alive_connections = 1;
    host::fill(cmd, &mut snap, &config);
    e.placeholders(&render(cmd, &snap))
}

#[test]
fn srvr_stat_conf_isro_as_zookeeper_prints_them() {
    let e = Ensemble::new();
    for role in ROLES {
        for name in fixture_names(role, ".txt") {
            let cmd = name.trim_end_matches(".txt");
            if cmd == "mntr" {
                continue;
            }
            assert_eq!(
                normalise_text(&four(&e, role, cmd)),
                fixture(role, &name),
                "{role} {cmd}"
            );
        }
    }
}

/// mntr lines as (key, value), without the per-namespace summaries (they follow the
/// capture's client traffic).
fn mntr_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.contains("_per_namespace\t"))
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Every key in ZooKeeper's order; the values of the version, state and gauge lines (the
/// counters and summaries count the capture's traffic).
fn assert_same_mntr(ours: &[(String, String)], zk: &[(String, String)], what: &str) {
    let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(ours), keys(zk), "{what}: keys");
    let first_counter = zk
        .iter()
        .position(|(k, _)| k.ends_with("proposal_count"))
        .unwrap();
    assert_eq!(ours[..first_counter], zk[..first_counter], "{what}: values");
}

#[test]
fn mntr_keys_in_order_and_quorum_values_per_role() {
    let e = Ensemble::new();
    for role in ROLES {
        let zk = fixture(role, "mntr.txt");
        let ours = four(&e, role, "mntr");
        if *role == "looking" {
            assert_eq!(ours, zk, "looking mntr");
            assert_eq!(ours, format!("{ZK_NOT_SERVING}\n"));
            continue;
        }
        assert_same_mntr(&mntr_lines(&normalise_text(&ours)), &mntr_lines(&zk), role);
    }
    // The figures behind the normalised ones.
    let out = four(&e, "leader", "mntr");
    assert!(out.contains("\nzk_last_proposal_size\t48\n"));
    assert!(out.contains("\nzk_min_proposal_size\t48\n"));
    assert!(out.contains("\nzk_max_proposal_size\t107\n"));
    assert!(out.contains("\nzk_leader_uptime\t"));
}

/// The AdminServer of a server in `role`, its pipeline answering with `snapshot(role)`.
struct Admin {
    board: Arc<Board>,
    pipeline: Option<std::thread::JoinHandle<()>>,
}

impl Admin {
    fn new(e: &Ensemble, role: &str) -> Admin {
        let (board, inbox): (Arc<Board>, Inbox) =
            Board::new(Arc::new(e.config(id_of(role)))).unwrap();
        let snap = snapshot(role);
        board.publish(snap.clone());
        let requests = inbox.requests;
        let pipeline = std::thread::spawn(move || {
            while let Ok(req) = requests.recv() {
                let _ = req.answer.send(snap.clone());
            }
        });
        Admin {
            board,
            pipeline: Some(pipeline),
        }
    }

    fn run(&self, cmd: &str) -> Value {
        let cx = Context {
            board: &self.board,
            initial_config: "clientPort=2181\n",
        };
        commands::run(cmd, &BTreeMap::new(), &cx)
    }

    fn stop(mut self) {
        // The pipeline thread ends with the last sender, the board.
        let pipeline = self.pipeline.take();
        drop(self);
        if let Some(p) = pipeline {
            p.join().unwrap();
        }
    }
}

fn field<'v>(v: &'v Value, k: &str) -> &'v Value {
    v.get(k).unwrap_or_else(|| panic!("no {k} in {v}"))
}

#[test]
fn admin_commands_as_zookeeper_answers_them() {
    let e = Ensemble::new();
    for role in ROLES {
        let admin = Admin::new(&e, role);
        for name in fixture_names(role, ".json") {
            let cmd = name.trim_start_matches("admin_").trim_end_matches(".json");
            let zk_text = fixture(role, &name);
            let ours = normalise_json(&e, &admin.run(cmd), None);
            let what = format!("{role} {cmd}");
            if zk_text.starts_with("HTTP 500") {
                // ZooKeeper's monitor throws while looking; Ringkeeper answers the error.
                assert_eq!(field(&ours, "error"), ZK_NOT_SERVING, "{what}");
                continue;
            }
            let zk: Value = serde_json::from_str(&zk_text).unwrap();
            match cmd {
                "monitor" => {
                    let lines = |v: &Value| -> Vec<(String, String)> {
                        let m: &Map<String, Value> = v.as_object().unwrap();
                        m.iter()
                            .filter(|(k, _)| !k.ends_with("_per_namespace"))
                            .map(|(k, v)| (k.clone(), v.to_string()))
                            .collect()
                    };
                    assert_same_mntr(&lines(&ours), &lines(&zk), &what);
                }
                "observers" if zk.get("observers").is_some() => {
                    // Each synced Observer's sid; ZooKeeper's connection figures are not kept.
                    assert_eq!(
                        field(&ours, "synced_observers"),
                        field(&zk, "synced_observers"),
                        "{what}"
                    );
                    let sids = |v: &Value| -> Vec<Value> {
                        field(v, "observers")
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|o| field(o, "sid").clone())
                            .collect()
                    };
                    assert_eq!(sids(&ours), sids(&zk), "{what}");
                }
                _ => assert_eq!(ours, zk, "{what}"),
            }
        }
        admin.stop();
    }
}

#[test]
fn leader_figures_behind_the_normalised_admin_fields() {
    let e = Ensemble::new();
    let admin = Admin::new(&e, "leader");
    let stats = admin.run("server_stats");
    assert_eq!(
        field(&stats, "proposal_stats").to_string(),
        r#"{"last_buffer_size":48,"min_buffer_size":48,"max_buffer_size":107}"#
    );
    let zab = admin.run("zabstate");
    assert_eq!(field(&zab, "last_zxid"), "0x100000007");
    let monitor = admin.run("monitor");
    assert_eq!(field(&monitor, "synced_followers"), 2);
    admin.stop();
    let admin = Admin::new(&e, "follower");
    assert!(admin.run("server_stats").get("proposal_stats").is_none());
    admin.stop();
}

#[test]
fn isro_answers_from_the_published_role() {
    for (role, want) in [("leader", "rw"), ("looking", "null"), ("read-only", "ro")] {
        let snap = snapshot(role);
        // What a shard renders for isro: the published serving and read-only flags.
        let local = Snapshot {
            running: snap.running,
            read_only: snap.read_only,
            ..Snapshot::default()
        };
        assert_eq!(render("isro", &local), want, "{role}");
        assert_eq!(fixture(role, "isro.txt"), want, "{role}");
    }
}

#[test]
fn prometheus_shows_the_quorum_gauges_and_no_gauge_while_looking() {
    let leader = super::prometheus::render(&snapshot("leader"), &[]);
    for g in [
        "quorum_size 3.0",
        "learners 3.0",
        "synced_followers 2.0",
        "synced_observers 1.0",
    ] {
        assert!(leader.contains(&format!("\n{g}\n")), "{g}");
    }
    let observer = super::prometheus::render(&snapshot("observer"), &[]);
    assert!(observer.contains("\nquorum_size 3.0\n"));
    assert!(!observer.contains("observer_master_id"));
    assert!(!observer.contains("\nlearners "));
    let looking = super::prometheus::render(&snapshot("looking"), &[]);
    assert!(!looking.contains("znode_count"));
    assert!(looking.contains("\nsnap_count 0.0\n"));
}
