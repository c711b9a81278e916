//! The four-letter words' answers in ZooKeeper 3.8's exact text formats, rendered from a
//! [`Snapshot`].

use super::java::{hex, java_date, java_double, java_socket_addr};
use super::monitor::render_mntr;
use super::snapshot::{ConnStat, Snapshot};
use super::words::{COMMANDS, ZK_NOT_SERVING};
use std::fmt::Write as _;

/// ServerCnxn.dumpConnectionInfo (no trailing newline).
pub fn connection_info(c: &ConnStat, brief: bool) -> String {
    let mut s = String::new();
    let ops = if c.interest_ops == 0 {
        "0".to_string()
    } else {
        format!("{:x}", c.interest_ops)
    };
    let _ = write!(
        s,
        " {}[{}](queued={},recved={},sent={}",
        java_socket_addr(&c.remote),
        ops,
        c.queued,
        c.received,
        c.sent
    );
    if !brief && c.session_id != 0 {
        let _ = write!(
            s,
            ",sid=0x{},lop={},est={},to={}",
            hex(c.session_id),
            c.last_op,
            c.established_ms,
            c.timeout_ms
        );
        if c.last_cxid >= 0 {
            let _ = write!(s, ",lcxid=0x{}", hex(c.last_cxid));
        }
        let _ = write!(
            s,
            ",lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
            hex(c.last_zxid),
            c.last_response_ms,
            c.last_latency,
            c.min_lat,
            c.avg_lat,
            c.max_lat
        );
    }
    s.push(')');
    s
}

fn srvr(ctx: &Snapshot, stat: bool) -> String {
    let mut s = format!("Zookeeper version: {}\n", ctx.version);
    if ctx.read_only {
        s.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if stat {
        s.push_str("Clients:\n");
        for c in &ctx.connections {
            s.push_str(&connection_info(c, true));
            s.push('\n');
        }
        s.push('\n');
    }
    let _ = write!(
        s,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{}\nMode: {}\nNode count: {}\n",
        ctx.latency_min_ms,
        java_double(ctx.latency_avg_ms),
        ctx.latency_max_ms,
        ctx.packets_received,
        ctx.packets_sent,
        ctx.alive_connections,
        ctx.outstanding,
        hex(ctx.zxid),
        ctx.mode,
        ctx.node_count
    );
    if let Some((last, min, max)) = ctx.proposal_sizes {
        let _ = writeln!(s, "Proposal sizes last/min/max: {last}/{min}/{max}");
    }
    s
}

fn dump(ctx: &Snapshot) -> String {
    let mut s = String::from("SessionTracker dump:\n");
    let mut buckets: Vec<&(i64, Vec<i64>)> = ctx.session_expiry.iter().collect();
    buckets.sort_by_key(|b| b.0);
    let total: usize = buckets.iter().map(|b| b.1.len()).sum();
    let _ = writeln!(s, "Session Sets ({})/({}):", buckets.len(), total);
    for (t, ids) in buckets {
        let _ = writeln!(s, "{} expire at {}:", ids.len(), java_date(*t));
        for id in ids {
            let _ = writeln!(s, "\t0x{}", hex(*id));
        }
    }
    s.push_str("ephemeral nodes dump:\n");
    let _ = writeln!(
        s,
        "Sessions with Ephemerals ({}):",
        ctx.sessions_with_ephemerals.len()
    );
    for (sid, paths) in &ctx.sessions_with_ephemerals {
        let _ = writeln!(s, "0x{}:", hex(*sid));
        for p in paths {
            let _ = writeln!(s, "\t{p}");
        }
    }
    s.push_str("Connections dump:\n");
    if let Some(cx) = &ctx.connection_expiry {
        let mut buckets: Vec<&(i64, Vec<usize>)> = cx.iter().collect();
        buckets.sort_by_key(|b| b.0);
        let total: usize = buckets.iter().map(|b| b.1.len()).sum();
        let _ = writeln!(s, "Connections Sets ({})/({}):", buckets.len(), total);
        for (t, idx) in buckets {
            let _ = writeln!(s, "{} expire at {}:", idx.len(), java_date(*t));
            for &i in idx {
                if let Some(c) = ctx.connections.get(i) {
                    let _ = writeln!(s, "\t{}", connection_info(c, false));
                }
            }
        }
    }
    s
}

pub fn render(cmd: &str, ctx: &Snapshot) -> String {
    match cmd {
        "ruok" => return "imok".into(),
        "envi" => {
            let mut s = String::from("Environment:\n");
            for (k, v) in &ctx.env {
                let _ = writeln!(s, "{k}={v}");
            }
            return s;
        }
        "gtmk" | "stmk" => return ctx.trace_mask.to_string(),
        "isro" => {
            return if !ctx.running {
                "null"
            } else if ctx.read_only {
                "ro"
            } else {
                "rw"
            }
            .into()
        }
        _ => {}
    }
    if !COMMANDS.contains(&cmd) {
        return String::new();
    }
    if !ctx.running {
        return if cmd == "hash" {
            ZK_NOT_SERVING.to_string()
        } else {
            format!("{ZK_NOT_SERVING}\n")
        };
    }
    match cmd {
        "srvr" => srvr(ctx, false),
        "stat" => srvr(ctx, true),
        "cons" => {
            let mut s = String::new();
            for c in &ctx.connections {
                s.push_str(&connection_info(c, false));
                s.push('\n');
            }
            s.push('\n');
            s
        }
        "conf" => {
            let mut s = String::new();
            for (k, v) in &ctx.conf_lines {
                let _ = writeln!(s, "{k}={v}");
            }
            // ReadOnlyZooKeeperServer prints the quorum lines but no membership.
            if let Some(m) = ctx.conf_membership.as_ref().filter(|_| !ctx.read_only) {
                s.push_str("membership: \n");
                s.push_str(m);
            }
            s
        }
        "crst" => "Connection stats reset.\n".into(),
        "srst" => "Server stats reset.\n".into(),
        "dump" => dump(ctx),
        "mntr" => render_mntr(ctx),
        "wchs" => {
            let total: usize = ctx.watches_by_session.iter().map(|w| w.1.len()).sum();
            format!(
                "{} connections watching {} paths\nTotal watches:{}\n",
                ctx.watches_by_session.len(),
                ctx.watches_by_path.len(),
                total
            )
        }
        "wchc" => {
            let mut s = String::new();
            for (sid, paths) in &ctx.watches_by_session {
                let _ = writeln!(s, "0x{}", hex(*sid));
                for p in paths {
                    let _ = writeln!(s, "\t{p}");
                }
            }
            s.push('\n');
            s
        }
        "wchp" => {
            let mut s = String::new();
            for (path, sids) in &ctx.watches_by_path {
                let _ = writeln!(s, "{path}");
                for sid in sids {
                    let _ = writeln!(s, "\t0x{}", hex(*sid));
                }
            }
            s.push('\n');
            s
        }
        "dirs" => format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            ctx.data_dir_size, ctx.log_dir_size
        ),
        "hash" => {
            let mut s = String::new();
            for (zxid, digest) in &ctx.digest_log {
                let _ = writeln!(s, "{}: {}", hex(*zxid), digest);
            }
            s
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::host::default_env;
    use crate::status::monitor::*;
    use crate::status::snapshot::{round4, MetricValue, Summary};
    use crate::status::words::*;
    use std::collections::BTreeSet;

    fn word(s: &str) -> i32 {
        i32::from_be_bytes(s.as_bytes().try_into().unwrap())
    }

    fn conn(sid: i64) -> ConnStat {
        ConnStat {
            remote: "127.0.0.1:50712".parse().unwrap(),
            interest_ops: 1,
            queued: 0,
            received: 12,
            sent: 11,
            session_id: sid,
            last_op: "GETD".into(),
            established_ms: 1_700_000_000_123,
            timeout_ms: 30000,
            last_cxid: 10,
            last_zxid: 0x1f,
            last_response_ms: 1_700_000_005_000,
            last_latency: 1,
            min_lat: 0,
            avg_lat: 0,
            max_lat: 3,
        }
    }

    fn ctx() -> Snapshot {
        Snapshot {
            version: "3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC".into(),
            zxid: 0x1f,
            node_count: 7,
            latency_min_ms: 0,
            latency_avg_ms: round4(1.0 / 3.0),
            latency_max_ms: 12,
            packets_received: 100,
            packets_sent: 99,
            outstanding: 0,
            alive_connections: 2,
            connections: vec![conn(0x1000001a2b30000), {
                let mut c = conn(0);
                c.remote = "[::1]:40000".parse().unwrap();
                c.interest_ops = 0;
                c.received = 1;
                c.sent = 0;
                c
            }],
            ..Snapshot::default()
        }
    }

    #[test]
    fn command_words() {
        for c in COMMANDS {
            assert_eq!(command_from_u32(word(c)), Some(*c));
        }
        assert_eq!(command_from_u32(word("RUOK")), None);
        assert_eq!(command_from_u32(0x0000_002c), None);
        assert_eq!(command_from_u32(0xfff4_fffd_u32 as i32), Some(TELNET_CLOSE));
        assert_eq!(render(TELNET_CLOSE, &ctx()), "");
    }

    #[test]
    fn whitelist() {
        let wl: BTreeSet<String> = ["srvr".to_string(), "mntr".to_string()].into();
        assert!(is_allowed("srvr", &wl));
        assert!(is_allowed("mntr", &wl));
        assert!(!is_allowed("stat", &wl));
        assert!(!is_allowed("MNTR", &wl));
        assert_eq!(
            not_whitelisted("stat"),
            "stat is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn version_line() {
        assert_eq!(
            full_version(),
            format!(
                "3.8.4-ringkeeper-{}, built on 2026-01-01 00:00 UTC",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(Snapshot::default().version, full_version());
    }

    #[test]
    fn java_formats() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(2.0), "2.0");
        assert_eq!(java_double(2.0194), "2.0194");
        assert_eq!(java_double(0.3333), "0.3333");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12345678.9), "1.23456789E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(-1.5), "-1.5");
        assert_eq!(round4(1.0 / 3.0), 0.3333);
        assert_eq!(round4(2.00005), 2.0001);
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_767_225_600_000), "Thu Jan 01 00:00:00 UTC 2026");
        assert_eq!(
            java_date(951_782_400_000 + 3_723_000),
            "Tue Feb 29 01:02:03 UTC 2000"
        );
        assert_eq!(hex(-1), "ffffffffffffffff");
    }

    #[test]
    fn ruok_isro_gtmk() {
        let mut c = ctx();
        assert_eq!(render("ruok", &c), "imok");
        assert_eq!(render("isro", &c), "rw");
        assert_eq!(render("gtmk", &c), "306");
        c.trace_mask = 0x3ff;
        assert_eq!(render("stmk", &c), "1023");
        c.read_only = true;
        assert_eq!(render("isro", &c), "ro");
        c.running = false;
        assert_eq!(render("isro", &c), "null");
        assert_eq!(render("ruok", &c), "imok");
    }

    #[test]
    fn srvr_exact() {
        assert_eq!(
            render("srvr", &ctx()),
            "Zookeeper version: 3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC\n\
             Latency min/avg/max: 0/0.3333/12\n\
             Received: 100\n\
             Sent: 99\n\
             Connections: 2\n\
             Outstanding: 0\n\
             Zxid: 0x1f\n\
             Mode: standalone\n\
             Node count: 7\n"
        );
        let mut c = ctx();
        c.mode = "leader".into();
        c.proposal_sizes = Some((36, 32, 120));
        c.read_only = false;
        assert!(render("srvr", &c)
            .ends_with("Mode: leader\nNode count: 7\nProposal sizes last/min/max: 36/32/120\n"));
        c.read_only = true;
        assert!(render("srvr", &c)
            .contains("UTC\nREAD-ONLY mode; serving only read-only clients\nLatency"));
    }

    #[test]
    fn stat_exact() {
        assert_eq!(
            render("stat", &ctx()),
            "Zookeeper version: 3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC\n\
             Clients:\n \
             /127.0.0.1:50712[1](queued=0,recved=12,sent=11)\n \
             /[0:0:0:0:0:0:0:1]:40000[0](queued=0,recved=1,sent=0)\n\
             \n\
             Latency min/avg/max: 0/0.3333/12\n\
             Received: 100\n\
             Sent: 99\n\
             Connections: 2\n\
             Outstanding: 0\n\
             Zxid: 0x1f\n\
             Mode: standalone\n\
             Node count: 7\n"
        );
    }

    #[test]
    fn cons_exact() {
        let mut c = ctx();
        let mut fresh = conn(0x2000000000001);
        fresh.last_cxid = -1;
        fresh.last_zxid = -1;
        fresh.last_op = "NA".into();
        c.connections.push(fresh);
        assert_eq!(
            render("cons", &c),
            " /127.0.0.1:50712[1](queued=0,recved=12,sent=11,sid=0x1000001a2b30000,lop=GETD,est=1700000000123,to=30000,lcxid=0xa,lzxid=0x1f,lresp=1700000005000,llat=1,minlat=0,avglat=0,maxlat=3)\n \
             /[0:0:0:0:0:0:0:1]:40000[0](queued=0,recved=1,sent=0)\n \
             /127.0.0.1:50712[1](queued=0,recved=12,sent=11,sid=0x2000000000001,lop=NA,est=1700000000123,to=30000,lzxid=0xffffffffffffffff,lresp=1700000005000,llat=1,minlat=0,avglat=0,maxlat=3)\n\
             \n"
        );
        c.connections.clear();
        assert_eq!(render("cons", &c), "\n");
    }

    #[test]
    fn conf_exact() {
        let mut c = ctx();
        c.conf_lines = vec![
            ("clientPort".into(), "2181".into()),
            ("secureClientPort".into(), "-1".into()),
            ("serverId".into(), "0".into()),
        ];
        assert_eq!(
            render("conf", &c),
            "clientPort=2181\nsecureClientPort=-1\nserverId=0\n"
        );
        c.conf_membership = Some("server.1=a:1:2:participant\nversion=0".into());
        assert_eq!(
            render("conf", &c),
            "clientPort=2181\nsecureClientPort=-1\nserverId=0\nmembership: \nserver.1=a:1:2:participant\nversion=0"
        );
    }

    #[test]
    fn conf_from_config_module() {
        let (cfg, _) = crate::config::parse(
            "dataDir=/var/zk\nclientPort=2181\ntickTime=2000\n",
            std::path::Path::new("zoo.cfg"),
        )
        .unwrap();
        let c = Snapshot {
            conf_lines: cfg.conf_lines(4096, 8192),
            conf_membership: cfg.membership(),
            ..ctx()
        };
        assert_eq!(
            render("conf", &c),
            "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/zk/version-2\ndataDirSize=4096\n\
             dataLogDir=/var/zk/version-2\ndataLogSize=8192\ntickTime=2000\nmaxClientCnxns=60\n\
             minSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n"
        );
    }

    #[test]
    fn dump_exact() {
        let mut c = ctx();
        c.session_expiry = vec![
            (1_767_225_612_000, vec![0x100000000000002]),
            (
                1_767_225_606_000,
                vec![0x100000000000000, 0x100000000000001],
            ),
        ];
        c.sessions_with_ephemerals = vec![
            (0x100000000000000, vec!["/lock/a".into(), "/lock/b".into()]),
            (0x100000000000001, vec![]),
        ];
        assert_eq!(
            render("dump", &c),
            "SessionTracker dump:\n\
             Session Sets (2)/(3):\n\
             2 expire at Thu Jan 01 00:00:06 UTC 2026:\n\
             \t0x100000000000000\n\
             \t0x100000000000001\n\
             1 expire at Thu Jan 01 00:00:12 UTC 2026:\n\
             \t0x100000000000002\n\
             ephemeral nodes dump:\n\
             Sessions with Ephemerals (2):\n\
             0x100000000000000:\n\
             \t/lock/a\n\
             \t/lock/b\n\
             0x100000000000001:\n\
             Connections dump:\n"
        );
        c.session_expiry.clear();
        c.sessions_with_ephemerals.clear();
        c.connection_expiry = Some(vec![(1_767_225_610_000, vec![0])]);
        assert_eq!(
            render("dump", &c),
            "SessionTracker dump:\nSession Sets (0)/(0):\nephemeral nodes dump:\nSessions with Ephemerals (0):\n\
             Connections dump:\nConnections Sets (1)/(1):\n1 expire at Thu Jan 01 00:00:10 UTC 2026:\n\
             \t /127.0.0.1:50712[1](queued=0,recved=12,sent=11,sid=0x1000001a2b30000,lop=GETD,est=1700000000123,to=30000,lcxid=0xa,lzxid=0x1f,lresp=1700000005000,llat=1,minlat=0,avglat=0,maxlat=3)\n"
        );
    }

    #[test]
    fn envi_exact() {
        let mut c = ctx();
        c.env = vec![
            ("zookeeper.version".into(), c.version.clone()),
            ("host.name".into(), "vm".into()),
        ];
        assert_eq!(
            render("envi", &c),
            "Environment:\nzookeeper.version=3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC\nhost.name=vm\n"
        );
        let env = default_env("v");
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "zookeeper.version",
                "host.name",
                "java.version",
                "java.vendor",
                "java.home",
                "java.class.path",
                "java.library.path",
                "java.io.tmpdir",
                "java.compiler",
                "os.name",
                "os.arch",
                "os.version",
                "user.name",
                "user.home",
                "user.dir",
                "os.memory.free",
                "os.memory.max",
                "os.memory.total",
            ]
        );
        assert_eq!(env[0].1, "v");
    }

    #[test]
    fn watches_exact() {
        let mut c = ctx();
        c.watches_by_session = vec![
            (0x100000000000000, vec!["/a".into(), "/b".into()]),
            (0x100000000000001, vec!["/a".into()]),
        ];
        c.watches_by_path = vec![
            ("/a".into(), vec![0x100000000000000, 0x100000000000001]),
            ("/b".into(), vec![0x100000000000000]),
        ];
        assert_eq!(
            render("wchs", &c),
            "2 connections watching 2 paths\nTotal watches:3\n"
        );
        assert_eq!(
            render("wchc", &c),
            "0x100000000000000\n\t/a\n\t/b\n0x100000000000001\n\t/a\n\n"
        );
        assert_eq!(
            render("wchp", &c),
            "/a\n\t0x100000000000000\n\t0x100000000000001\n/b\n\t0x100000000000000\n\n"
        );
        c.watches_by_session.clear();
        c.watches_by_path.clear();
        assert_eq!(
            render("wchs", &c),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        assert_eq!(render("wchc", &c), "\n");
    }

    #[test]
    fn small_commands_exact() {
        let mut c = ctx();
        c.data_dir_size = 1234;
        c.log_dir_size = 67108880;
        assert_eq!(
            render("dirs", &c),
            "datadir_size: 1234\nlogdir_size: 67108880\n"
        );
        assert_eq!(render("crst", &c), "Connection stats reset.\n");
        assert_eq!(render("srst", &c), "Server stats reset.\n");
        assert_eq!(render("hash", &c), "");
        c.digest_log = vec![(0x100000001, 123456789), (0x100000002, -5)];
        assert_eq!(render("hash", &c), "100000001: 123456789\n100000002: -5\n");
        assert_eq!(render("nope", &c), "");
    }

    #[test]
    fn not_serving() {
        let mut c = ctx();
        c.running = false;
        for cmd in [
            "srvr", "stat", "conf", "cons", "crst", "srst", "dump", "mntr", "wchs", "wchc", "wchp",
            "dirs",
        ] {
            assert_eq!(
                render(cmd, &c),
                "This ZooKeeper instance is not currently serving requests\n",
                "{cmd}"
            );
        }
        assert_eq!(render("hash", &c), ZK_NOT_SERVING);
        assert!(render("envi", &c).starts_with("Environment:\n"));
    }

    #[test]
    fn mntr_exact_head_and_all_keys() {
        let mut c = ctx();
        c.ephemerals_count = 3;
        c.global_sessions = 2;
        c.total_watches = 5;
        c.approximate_data_size = 440;
        c.open_fds = 60;
        c.max_fds = 1048576;
        c.uptime_ms = 86_400_000;
        c.counters = vec![
            ("snap_count".into(), 4),
            ("bytes_received_count".into(), 900),
        ];
        c.summaries = vec![
            (
                "fsynctime".into(),
                Summary {
                    count: 3,
                    sum: 10,
                    min: 1,
                    max: 6,
                    ..Summary::default()
                },
            ),
            (
                "readlatency".into(),
                Summary {
                    count: 4,
                    sum: 8,
                    min: 1,
                    max: 4,
                    p50: 2,
                    p95: 4,
                    p99: 4,
                    p999: 4,
                },
            ),
        ];
        c.write_per_namespace = vec![(
            "app".into(),
            Summary {
                count: 1,
                sum: 20,
                min: 20,
                max: 20,
                ..Summary::default()
            },
        )];
        c.extra = vec![("ringkeeper_shards".into(), MetricValue::Int(2))];
        let out = render("mntr", &c);
        let head: Vec<&str> = out.lines().take(27).collect();
        assert_eq!(
            head,
            vec![
                "zk_version\t3.8.4-ringkeeper-0.1.0, built on 2026-01-01 00:00 UTC",
                "zk_server_state\tstandalone",
                "zk_ephemerals_count\t3",
                "zk_num_alive_connections\t2",
                "zk_avg_latency\t0.3333",
                "zk_outstanding_requests\t0",
                "zk_znode_count\t7",
                "zk_global_sessions\t2",
                "zk_non_mtls_remote_conn_count\t0",
                "zk_last_client_response_size\t-1",
                "zk_packets_sent\t99",
                "zk_packets_received\t100",
                "zk_max_client_response_size\t-1",
                "zk_connection_drop_probability\t0.0",
                "zk_watch_count\t5",
                "zk_auth_failed_count\t0",
                "zk_min_latency\t0",
                "zk_max_file_descriptor_count\t1048576",
                "zk_approximate_data_size\t440",
                "zk_open_file_descriptor_count\t60",
                "zk_local_sessions\t0",
                "zk_uptime\t86400000",
                "zk_max_latency\t12",
                "zk_outstanding_tls_handshake\t0",
                "zk_min_client_response_size\t-1",
                "zk_non_mtls_local_conn_count\t0",
                "zk_ringkeeper_shards\t2",
            ]
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines
            .iter()
            .all(|l| l.starts_with("zk_") && l.matches('\t').count() == 1));
        assert_eq!(lines[27], "zk_proposal_count\t0");
        assert!(lines.contains(&"zk_snap_count\t4"));
        assert!(lines.contains(&"zk_bytes_received_count\t900"));
        let fsync: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.ends_with("_fsynctime") || l.contains("_fsynctime\t"))
            .collect();
        assert_eq!(
            fsync,
            vec![
                "zk_avg_fsynctime\t3.3333",
                "zk_min_fsynctime\t1",
                "zk_max_fsynctime\t6",
                "zk_cnt_fsynctime\t3",
                "zk_sum_fsynctime\t10",
            ]
        );
        let rl: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("_readlatency\t"))
            .collect();
        assert_eq!(
            rl,
            vec![
                "zk_avg_readlatency\t2.0",
                "zk_min_readlatency\t1",
                "zk_max_readlatency\t4",
                "zk_cnt_readlatency\t4",
                "zk_sum_readlatency\t8",
                "zk_p50_readlatency\t2",
                "zk_p95_readlatency\t4",
                "zk_p99_readlatency\t4",
                "zk_p999_readlatency\t4",
            ]
        );
        assert!(lines.contains(&"zk_avg_updatelatency\t0.0"));
        assert!(lines.contains(&"zk_p999_updatelatency\t0"));
        assert_eq!(
            &lines[lines.len() - 5..],
            &[
                "zk_avg_app_write_per_namespace\t20.0",
                "zk_min_app_write_per_namespace\t20",
                "zk_max_app_write_per_namespace\t20",
                "zk_cnt_app_write_per_namespace\t1",
                "zk_sum_app_write_per_namespace\t20",
            ]
        );
        // 2 + 24 gauges + 1 extra + 47 counters + 41*5 + 23*9 + 5 namespace lines.
        assert_eq!(lines.len(), 2 + 24 + 1 + 47 + 41 * 5 + 23 * 9 + 5);
        // Every key ZK-PROTOCOL section 8 lists is present.
        let gauges = crate::status::monitor::tests::standalone_gauges();
        for k in gauges.iter().chain(MNTR_COUNTERS) {
            assert!(out.contains(&format!("\nzk_{k}\t")), "{k}");
        }
        for k in MNTR_BASIC_SUMMARIES.iter().chain(MNTR_PERCENTILE_SUMMARIES) {
            for p in ["avg", "min", "max", "cnt", "sum"] {
                assert!(out.contains(&format!("\nzk_{p}_{k}\t")), "{p}_{k}");
            }
        }
        for k in MNTR_PERCENTILE_SUMMARIES {
            for p in ["p50", "p95", "p99", "p999"] {
                assert!(out.contains(&format!("\nzk_{p}_{k}\t")), "{p}_{k}");
            }
        }
    }

    #[test]
    fn mntr_quorum_peer_state() {
        let mut c = ctx();
        c.mode = "leader".into();
        c.peer_state = Some("leading - broadcast".into());
        let out = render("mntr", &c);
        let head: Vec<&str> = out.lines().take(3).collect();
        assert_eq!(
            head[1..],
            [
                "zk_server_state\tleader",
                "zk_peer_state\tleading - broadcast"
            ]
        );
    }
}
