use super::properties::*;
use super::quorum::*;
use super::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ringkeeper-cfg-{}-{}", name, std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn p(text: &str) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    parse(text, Path::new("zoo.cfg"))
}

fn err(text: &str) -> String {
    p(text).unwrap_err().to_string()
}

#[test]
fn server_ids_that_would_look_like_ttl_owners_are_refused() {
    assert_eq!(unusable_server_id(1, true), None);
    assert_eq!(unusable_server_id(254, true), None);
    assert!(unusable_server_id(255, false).unwrap().contains("TTL"));
    assert!(unusable_server_id(511, false).is_some());
    assert_eq!(unusable_server_id(300, false), None);
    assert!(unusable_server_id(300, true).unwrap().contains("254"));
}

#[test]
fn properties_syntax() {
    let text = "# comment\n  ! also comment\n\na=1\nb: 2\nc 3\n d  =  4  \ne=x\\\n   y\\\n z\nf=a\\\\\ng=\\u0041\\t\nh\n  \ti = j:k\r\nl=m\rn=o";
    let props = parse_properties(text, Path::new("t")).unwrap();
    let kv: Vec<(String, String, usize)> = props
        .into_iter()
        .map(|p| (p.key, p.value, p.line))
        .collect();
    assert_eq!(
        kv,
        vec![
            ("a".into(), "1".into(), 4),
            ("b".into(), "2".into(), 5),
            ("c".into(), "3".into(), 6),
            ("d".into(), "4  ".into(), 7),
            ("e".into(), "xyz".into(), 8),
            ("f".into(), "a\\".into(), 11),
            ("g".into(), "A\t".into(), 12),
            ("h".into(), "".into(), 13),
            ("i".into(), "j:k".into(), 14),
            ("l".into(), "m".into(), 15),
            ("n".into(), "o".into(), 16),
        ]
    );
    let e = parse_properties("x=\\u00zz", Path::new("t")).unwrap_err();
    assert!(e.to_string().contains("t:1"), "{e}");
}

#[test]
fn defaults_of_minimal_zoo_cfg() {
    let (c, w) = p("dataDir=/var/lib/zk\nclientPort=2181\n").unwrap();
    assert_eq!(c.tick_time_ms, 3000);
    assert_eq!(c.min_session_timeout_ms, 6000);
    assert_eq!(c.max_session_timeout_ms, 60000);
    assert_eq!(c.client_port, Some(2181));
    assert_eq!(c.client_port_address, None);
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/zk"));
    assert_eq!(c.data_log_dir, PathBuf::from("/var/lib/zk"));
    assert_eq!(c.max_client_cnxns, 60);
    assert_eq!(c.max_cnxns, 0);
    assert_eq!(c.client_port_listen_backlog, -1);
    assert_eq!(
        c.four_letter_whitelist,
        BTreeSet::from(["srvr".to_string()])
    );
    assert!(!c.extended_types_enabled);
    assert_eq!(c.container_check_interval_ms, 60000);
    assert_eq!(c.container_max_per_minute, 10000);
    assert_eq!(c.container_max_never_used_interval_ms, 0);
    assert_eq!(c.super_digest, None);
    assert!(c.digest_enabled);
    assert!(!c.skip_acl);
    assert_eq!(c.jute_maxbuffer, 1048575);
    assert_eq!(c.snap_count, 100000);
    assert_eq!(c.snap_size_limit_kb, 4194304);
    assert_eq!(c.pre_alloc_size_kb, 65536);
    assert!(c.force_sync);
    assert_eq!(c.fsync_warning_threshold_ms, 1000);
    assert_eq!(c.autopurge_snap_retain_count, 3);
    assert_eq!(c.autopurge_purge_interval_hours, 0);
    assert_eq!(c.global_outstanding_limit, 1000);
    assert!(!c.reconfig_enabled);
    assert!(c.standalone_enabled);
    assert!(c.servers.is_empty());
    assert!(!c.is_distributed());
    assert_eq!(c.shards, default_shards());
    assert_eq!(c.pipeline_core, None);
    assert!(c.other.is_empty());
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("tickTime is not set"), "{w:?}");
}

#[test]
fn standalone_default_values() {
    let c = standalone_default();
    assert_eq!(c.tick_time_ms, 2000);
    assert_eq!(c.min_session_timeout_ms, 4000);
    assert_eq!(c.max_session_timeout_ms, 40000);
    assert_eq!(c.client_port, Some(2181));
    assert!(c.data_dir.is_absolute());
    assert!(c.data_dir.ends_with("data"));
    assert_eq!(c.data_log_dir, c.data_dir);
    assert_eq!(c.config_path, None);
}

#[test]
fn applied_keys() {
    let text = "\
tickTime=1000
dataDir=/d
dataLogDir=/l
clientPort=2182
clientPortAddress=127.0.0.1
minSessionTimeout=1500
maxSessionTimeout=90000
maxClientCnxns=0
maxCnxns=500
clientPortListenBacklog=128
4lw.commands.whitelist= stat, ruok ,,conf
extendedTypesEnabled=TRUE
znode.container.checkIntervalMs=1000
znode.container.maxPerMinute=5
znode.container.maxNeverUsedIntervalMs=30000
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
DigestAuthenticationProvider.enabled=false
skipACL=yes
jute.maxbuffer=0x400000
snapCount=5000
snapSizeLimitInKb=1024
txnLogSizeLimitInKb=2048
preAllocSize=1024
forceSync=no
fsync.warningthresholdms=50
autopurge.snapRetainCount=5
autopurge.purgeInterval=24
globalOutstandingLimit=2000
reconfigEnabled=true
standaloneEnabled=true
ringkeeper.shards=3
ringkeeper.pipelineCore=1
ringkeeper.walDirectIo=false
metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider
";
    let (c, w) = p(text).unwrap();
    assert_eq!(c.tick_time_ms, 1000);
    assert_eq!(c.data_log_dir, PathBuf::from("/l"));
    assert_eq!(c.client_port, Some(2182));
    assert_eq!(c.client_port_address, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(
        (c.min_session_timeout_ms, c.max_session_timeout_ms),
        (1500, 90000)
    );
    assert_eq!((c.max_client_cnxns, c.max_cnxns), (0, 500));
    assert_eq!(c.client_port_listen_backlog, 128);
    let wl: Vec<&str> = c.four_letter_whitelist.iter().map(|s| s.as_str()).collect();
    assert_eq!(wl, vec!["conf", "ruok", "srvr", "stat"]);
    assert!(c.extended_types_enabled);
    assert_eq!(c.container_check_interval_ms, 1000);
    assert_eq!(c.container_max_per_minute, 5);
    assert_eq!(c.container_max_never_used_interval_ms, 30000);
    assert_eq!(
        c.super_digest.as_deref(),
        Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
    );
    assert!(!c.digest_enabled);
    assert!(c.skip_acl);
    assert_eq!(c.jute_maxbuffer, 0x400000);
    assert_eq!(c.snap_count, 5000);
    assert_eq!(c.snap_size_limit_kb, 1024);
    assert_eq!(c.txn_log_size_limit_kb, 2048);
    assert_eq!(c.pre_alloc_size_kb, 1024);
    assert!(!c.force_sync);
    assert!(!c.wal_direct_io);
    assert_eq!(c.fsync_warning_threshold_ms, 50);
    assert_eq!(c.autopurge_snap_retain_count, 5);
    assert_eq!(c.autopurge_purge_interval_hours, 24);
    assert_eq!(c.global_outstanding_limit, 2000);
    assert!(c.reconfig_enabled);
    assert_eq!(c.shards, 3);
    assert_eq!(c.pipeline_core, Some(1));
    // jute.maxbuffer and the three container keys warn that ZooKeeper ignores them here.
    assert_eq!(
        w.iter()
            .filter(|w| w.contains("JVM system property"))
            .count(),
        4,
        "{w:?}"
    );
    assert_eq!(w.len(), 4, "{w:?}");
}

#[test]
fn whitelist_star_and_case() {
    let (c, w) = p("dataDir=/d\nclientPort=1\ntickTime=2000\n4lw.commands.whitelist=*").unwrap();
    assert_eq!(c.four_letter_whitelist.len(), crate::fourlw::COMMANDS.len());
    // ClickHouse Keeper's rqld is one of them, and may be named on its own.
    assert!(c.four_letter_whitelist.contains("rqld"));
    assert!(w.is_empty(), "{w:?}");
    let (c, w) = p("dataDir=/d\nclientPort=1\ntickTime=2000\n4lw.commands.whitelist=rqld").unwrap();
    assert!(c.four_letter_whitelist.contains("rqld"));
    assert!(w.is_empty(), "{w:?}");
    let (c, w) = p("dataDir=/d\nclientPort=1\ntickTime=2000\n4lw.commands.whitelist=STAT").unwrap();
    assert!(c.four_letter_whitelist.contains("STAT"));
    assert!(!c.four_letter_whitelist.contains("stat"));
    assert!(w[0].contains("case-sensitive"), "{w:?}");
}

#[test]
fn relative_data_dir_resolves_against_cwd() {
    let (c, w) = p("dataDir=rel/zk\nclientPort=1\ntickTime=2000").unwrap();
    assert_eq!(c.data_dir, std::env::current_dir().unwrap().join("rel/zk"));
    assert!(w[0].contains("relative path"), "{w:?}");
}

#[test]
fn error_classes() {
    let e = err("dataDir=/d\n\ntickTime=abc\n");
    assert_eq!(
        e,
        "zoo.cfg:3: invalid value 'abc' for tickTime: expected an integer"
    );
    let e = err("dataDir=/d\nclientPort=-1\n");
    assert!(
        e.contains("zoo.cfg:2") && e.contains("clientPort") && e.contains("'-1'"),
        "{e}"
    );
    let e = err("dataDir=/d\nclientPort=70000\n");
    assert!(e.contains("clientPort") && e.contains("70000"), "{e}");
    let e = err("dataDir=/d\ninitLimit=5\nsyncLimit=2\nserver.1=host1\nserver.2=h2:1:2\n");
    assert!(
        e.contains("zoo.cfg:4") && e.contains("server.1") && e.contains("'host1'"),
        "{e}"
    );
    let e = err("dataDir=/d\nserver.1=h:2888:2888\n");
    assert!(e.contains("must be different"), "{e}");
    let e = err("dataDir=/d\nserver.x=h:2888:3888\n");
    assert!(e.contains("server.x") && e.contains("not a number"), "{e}");
    let e = err("dataDir=/d\nserver.1=h:2888:3888:witness\n");
    assert!(e.contains("peer type"), "{e}");
    let e = err("dataDir=/d\nserver.1=h:2888:3888|h2:2889:3889\n");
    assert!(e.contains("multiAddress.enabled"), "{e}");
    let e = err("dataDir=/d\nforceSync=maybe\n");
    assert_eq!(
        e,
        "zoo.cfg:2: invalid value 'maybe' for forceSync: expected yes or no"
    );
    let e = err("dataDir=/d\nelectionAlg=1\n");
    assert!(
        e.contains("electionAlg") && e.contains("'1'") && e.contains("zoo.cfg:2"),
        "{e}"
    );
    let e = err("dataDir=/d\nstandaloneEnabled=perhaps\n");
    assert!(e.contains("standaloneEnabled"), "{e}");
    let e = err("dataDir=/d\npeerType=witness\n");
    assert!(e.contains("peerType"), "{e}");
    let e = err("dataDir=/d\ntickTime=0\n");
    assert!(e.contains("tickTime"), "{e}");
    let e = err("clientPort=2181\n");
    assert_eq!(e, "zoo.cfg: dataDir is not set: it is required (snapshots, and myid in quorum mode, live there)");
    let e = err("dataDir=/d\nminSessionTimeout=10000\nmaxSessionTimeout=5000\n");
    assert!(
        e.contains("minSessionTimeout (10000) must not be larger"),
        "{e}"
    );
    let e = err("dataDir=/d\nclientPortAddress=127.0.0.1\n");
    assert!(
        e.contains("clientPortAddress is set but clientPort is not set"),
        "{e}"
    );
    let e = err("dataDir=/d\njute.maxbuffer=lots\n");
    assert!(e.contains("jute.maxbuffer"), "{e}");
    let e = err("dataDir=/d\nringkeeper.shards=0\n");
    assert!(e.contains("ringkeeper.shards"), "{e}");
    let e = err("dataDir=/d\nringkeeper.walDirectIo=yes\n");
    assert!(e.contains("ringkeeper.walDirectIo"), "{e}");
    let e = err("dataDir=/d\nDigestAuthenticationProvider.superDigest=nocolon\n");
    assert!(e.contains("superDigest"), "{e}");
}

#[test]
fn warnings_not_applied_and_unknown() {
    let text = "dataDir=/d\nclientPort=2181\ntickTime=2000\nserverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\nssl.keyStore.location=/k\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\nsslQuorum=true\nquorum.auth.enableSasl=true\nsecureClientPort=2281\nadmin.serverPort=8081\nadmin.enableServer=true\ntickTme=100\nfrobnicate=yes\n";
    let (c, w) = p(text).unwrap();
    let find = |needle: &str| {
        w.iter()
            .find(|x| x.contains(needle))
            .unwrap_or_else(|| panic!("no warning with {needle}: {w:?}"))
            .clone()
    };
    assert!(find("serverCnxnFactory").contains("zoo.cfg:4"));
    assert!(find("authProvider.1").contains("not applied"));
    assert!(find("sslQuorum").contains("not applied"));
    assert!(find("quorum.auth.enableSasl").contains("not applied"));
    // The AdminServer applies admin.serverPort and admin.enableServer: no warning.
    assert!(!w.iter().any(|x| x.contains("admin.")), "{w:?}");
    assert_eq!(
        find("tickTme"),
        "zoo.cfg:12: tickTme: unknown key, kept as is; did you mean tickTime?"
    );
    assert_eq!(
        find("frobnicate"),
        "zoo.cfg:13: frobnicate: unknown key, kept as is"
    );
    // ssl.* keys and secureClientPort are crate::tls's to check and warn about.
    assert_eq!(w.len(), 6, "{w:?}");
    assert_eq!(
        c.tls.get("ssl.keyStore.location").map(String::as_str),
        Some("/k")
    );
    assert_eq!(c.other.get("tickTme").map(String::as_str), Some("100"));
    assert_eq!(c.other.get("frobnicate").map(String::as_str), Some("yes"));
    assert_eq!(c.tick_time_ms, 2000);
    assert_eq!(c.secure_client_port, Some(2281));
    assert_eq!(c.admin.get("serverPort").map(String::as_str), Some("8081"));
}

#[test]
fn zookeeper_prefix_and_yes_no_semantics() {
    let text = "dataDir=/d\nclientPort=1\ntickTime=2000\nzookeeper.DigestAuthenticationProvider.superDigest=super:abc=\nforceSync=false\nskipACL=true\nadmin.serverPort=9090\nadmin.enableServer=false\n";
    let (c, w) = p(text).unwrap();
    assert_eq!(c.super_digest.as_deref(), Some("super:abc="));
    assert!(c.force_sync, "ZooKeeper: only 'no' disables forceSync");
    assert!(!c.skip_acl, "ZooKeeper: only 'yes' enables skipACL");
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].contains("Ringkeeper applies it as DigestAuthenticationProvider.superDigest"));
}

#[test]
fn duplicate_key_last_wins() {
    let (c, w) = p("dataDir=/d\nclientPort=1\ntickTime=2000\nclientPort=2\n").unwrap();
    assert_eq!(c.client_port, Some(2));
    assert!(w[0].contains("first on line 2"), "{w:?}");
}

#[test]
fn snap_retain_minimum() {
    let (c, w) =
        p("dataDir=/d\nclientPort=1\ntickTime=2000\nautopurge.snapRetainCount=1\n").unwrap();
    assert_eq!(c.autopurge_snap_retain_count, 3);
    assert!(w[0].contains("below the minimum"), "{w:?}");
}

fn production_cfg(dir: &Path) -> String {
    format!(
        "\
# The number of milliseconds of each tick
tickTime=2000
initLimit=10
syncLimit=5
dataDir={dir}/data
dataLogDir={dir}/log
clientPort=2181
maxClientCnxns=100
autopurge.snapRetainCount=5
autopurge.purgeInterval=1
4lw.commands.whitelist=srvr, mntr, ruok, conf
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
metricsProvider.exportJvmInfo=true
admin.enableServer=false
server.1=zk1.example.com:2888:3888
server.2=zk2.example.com:2888:3888:participant;2181
server.3=[fd00::3]:2888:3888;0.0.0.0:2181
server.4=zk4.example.com:2888:3888:observer
",
        dir = dir.display()
    )
}

#[test]
fn production_zoo_cfg_with_servers_and_myid() {
    let dir = tmpdir("prod");
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(dir.join("data/myid"), "2\n").unwrap();
    let path = dir.join("zoo.cfg");
    fs::write(&path, production_cfg(&dir)).unwrap();
    let (c, w) = load(&path).unwrap();
    assert!(c.is_distributed());
    assert_eq!(c.my_id, Some(2));
    assert_eq!((c.init_limit, c.sync_limit), (10, 5));
    assert_eq!(c.servers.len(), 4);
    assert_eq!(c.servers[0].addrs[0].host, "zk1.example.com");
    assert_eq!(c.servers[0].addrs[0].quorum_port, 2888);
    assert_eq!(c.servers[0].addrs[0].election_port, 3888);
    assert_eq!(c.servers[1].client, Some(("0.0.0.0".to_string(), 2181)));
    assert_eq!(c.servers[2].addrs[0].host, "fd00::3");
    assert_eq!(c.servers[3].learner_type, LearnerType::Observer);
    assert_eq!(c.peer_type, LearnerType::Participant);
    assert_eq!(c.client_port, Some(2181));
    assert_eq!(
        c.metrics_provider.get("httpPort").map(String::as_str),
        Some("7000")
    );
    // The Prometheus provider applies; exportJvmInfo does not (no JVM). 3 participants: no
    // shape warning.
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("metricsProvider.exportJvmInfo"));
    assert_eq!(
        c.servers[2].to_string(),
        "[fd00::3]:2888:3888:participant;0.0.0.0:2181"
    );
    let lines = c.conf_lines(10, 20);
    let get = |k: &str| lines.iter().find(|(kk, _)| kk == k).unwrap().1.clone();
    assert_eq!(get("serverId"), "2");
    assert_eq!(get("electionPort"), "3888");
    assert_eq!(get("quorumPort"), "2888");
    assert_eq!(get("peerType"), "0");
    assert_eq!(get("dataDir"), format!("{}/data/version-2", dir.display()));
    assert_eq!(
        get("dataLogDir"),
        format!("{}/log/version-2", dir.display())
    );
    let m = c.membership().unwrap();
    assert!(
        m.starts_with("server.1=zk1.example.com:2888:3888:participant\n"),
        "{m}"
    );
    assert!(
        m.ends_with("server.4=zk4.example.com:2888:3888:observer\nversion=0"),
        "{m}"
    );

    // Missing myid in quorum mode is an error naming it.
    fs::remove_file(dir.join("data/myid")).unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(e.contains("myid is not set"), "{e}");
    // myid not in the server list.
    fs::write(dir.join("data/myid"), "9").unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(e.contains("server.9"), "{e}");
    // Garbage myid.
    fs::write(dir.join("data/myid"), "two\n").unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(e.contains("'two' is not a number"), "{e}");
    // initLimit required.
    fs::write(dir.join("data/myid"), "1").unwrap();
    fs::write(&path, production_cfg(&dir).replace("initLimit=10\n", "")).unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(e.contains("initLimit is not set"), "{e}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn single_server_line_runs_standalone() {
    let (c, w) = p(
        "dataDir=/nonexistent-rk\nclientPort=2181\ntickTime=2000\nserver.1=localhost:2888:3888\n",
    )
    .unwrap();
    assert!(!c.is_distributed());
    assert_eq!(c.servers.len(), 1);
    assert!(w[0].contains("only one server.N line"), "{w:?}");
    let e = err("dataDir=/d\nclientPort=2181\nserver.1=localhost:2888:3888:observer\n");
    assert!(e.contains("observers without participants"), "{e}");
}

#[test]
fn dynamic_config_file() {
    let dir = tmpdir("dyn");
    fs::write(dir.join("myid"), "3\n").unwrap();
    let dyn_path = dir.join("zoo.cfg.dynamic.100000000");
    fs::write(
        &dyn_path,
        "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
             server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n\
             server.3=127.0.0.1:2890:3890:participant;127.0.0.1:2183\n",
    )
    .unwrap();
    let cfg = format!(
            "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir={}\nreconfigEnabled=true\ndynamicConfigFile={}\n",
            dir.display(),
            dyn_path.display()
        );
    let (c, w) = parse(&cfg, &dir.join("zoo.cfg")).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.servers.len(), 3);
    assert_eq!(c.my_id, Some(3));
    assert_eq!(c.dynamic_config_version, Some(0x100000000));
    assert_eq!(c.client_port, Some(2183));
    assert_eq!(c.client_port_address, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(
        c.membership().unwrap().lines().last(),
        Some("version=100000000")
    );

    // version= inside the file is accepted (with a warning) and wins.
    let dyn2 = dir.join("zoo.cfg.dynamic");
    fs::write(
            &dyn2,
            "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890;2183\nversion=2a\n",
        )
        .unwrap();
    let cfg2 = cfg.replace(&dyn_path.display().to_string(), &dyn2.display().to_string());
    let (c, w) = parse(&cfg2, &dir.join("zoo.cfg")).unwrap();
    assert_eq!(c.dynamic_config_version, Some(0x2a));
    assert_eq!(c.client_port, Some(2183));
    assert_eq!(c.client_port_address, None);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("version"));

    // server.N in the static file together with dynamicConfigFile is an error.
    let e = parse(&format!("{cfg}server.4=h:1:2\n"), &dir.join("zoo.cfg"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("server.4") && e.contains("dynamic config file"),
        "{e}"
    );
    // Unknown keys in the dynamic file are errors naming that file.
    fs::write(&dyn2, "server.1=127.0.0.1:2888:3888\ntickTime=5\n").unwrap();
    let e = parse(&cfg2, &dir.join("zoo.cfg")).unwrap_err().to_string();
    assert!(
        e.contains("zoo.cfg.dynamic:2") && e.contains("tickTime"),
        "{e}"
    );
    // A missing dynamic file is an I/O error naming it.
    fs::remove_file(&dyn2).unwrap();
    let e = parse(&cfg2, &dir.join("zoo.cfg")).unwrap_err().to_string();
    assert!(e.contains("zoo.cfg.dynamic"), "{e}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn multi_address_server_line() {
    let (c, _) = p("dataDir=/nonexistent-rk\nclientPort=1\ntickTime=2000\nmultiAddress.enabled=true\nserver.1=b:2888:3888|a:2889:3889\n").unwrap();
    let s = &c.servers[0];
    assert_eq!(s.addrs.len(), 2);
    assert_eq!(s.to_string(), "a:2889:3889|b:2888:3888:participant");
}

#[test]
fn conf_lines_standalone() {
    let (c, _) = p("dataDir=/d\nclientPort=2181\ntickTime=2000\n").unwrap();
    let lines: Vec<String> = c
        .conf_lines(1, 2)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "clientPort=2181",
            "secureClientPort=-1",
            "dataDir=/d/version-2",
            "dataDirSize=1",
            "dataLogDir=/d/version-2",
            "dataLogSize=2",
            "tickTime=2000",
            "maxClientCnxns=60",
            "minSessionTimeout=4000",
            "maxSessionTimeout=40000",
            "clientPortListenBacklog=-1",
            "serverId=0",
        ]
    );
    assert_eq!(c.membership(), None);
}

#[test]
fn suggestions() {
    assert_eq!(suggest_key("ticktime"), Some("tickTime"));
    assert_eq!(suggest_key("datadir"), Some("dataDir"));
    assert_eq!(suggest_key("maxClientCnxn"), Some("maxClientCnxns"));
    assert_eq!(
        suggest_key("autopurge.purgeIntervall"),
        Some("autopurge.purgeInterval")
    );
    assert_eq!(suggest_key("completely-unrelated-thing"), None);
}

#[test]
fn every_key_of_the_table_is_unique_and_applies_without_panicking() {
    let mut seen = BTreeSet::new();
    for k in super::keys::KEYS {
        assert!(seen.insert(k.name), "{} is twice in the key table", k.name);
        assert_eq!(suggest_key(k.name), Some(k.name));
        // One of these values gets past each setter's value check, so a key routed to a
        // setter that does not handle it would hit that setter's unreachable!.
        for v in [
            "1",
            "true",
            "yes",
            "127.0.0.1",
            "*",
            "super:x",
            "participant",
            "3",
        ] {
            let _ = p(&format!("dataDir=/tmp/rk-keys\n{}={v}\n", k.name));
        }
    }
}
