//! End-to-end: the `zookeeper-client` Rust crate against the real `ringkeeper` binary.
//!
//! Goal: an independent, real ZooKeeper client library can use Ringkeeper for the everyday
//! API: every create mode (persistent, ephemeral, sequential, container, TTL), versioned
//! get/set, children, MultiWriter success and failure, persistent-recursive and one-shot
//! watches, digest auth with ACLs, whoAmI, sync, getEphemerals, getAllChildrenNumber, and
//! session close removing ephemerals as another client sees it. Method: each test starts its
//! own server through `ringkeeper_tests::RingkeeperProcess` (temp zoo.cfg on a free loopback
//! port, ready once `ruok` answers `imok`, killed on drop), connects one or more
//! `zookeeper_client::Client`s and asserts exact values; every wait is bounded by a timeout.

use ringkeeper_tests::RingkeeperProcess;
use std::future::Future;
use std::time::Duration;
use zookeeper_client as zk;

const WAIT: Duration = Duration::from_secs(10);

fn open(mode: zk::CreateMode) -> zk::CreateOptions<'static> {
    mode.with_acls(zk::Acls::anyone_all())
}

async fn connect(server: &RingkeeperProcess) -> zk::Client {
    let cluster = server.connect_string();
    let connect = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&cluster);
    bounded("connect", connect).await.expect("connect")
}

/// Awaits `f`, failing the test if it takes longer than `WAIT`.
async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {WAIT:?}"))
}

/// Polls `check` until it returns true or `WAIT` passes.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not true within {WAIT:?}");
}

#[test]
fn four_letter_words_answer() {
    let server = RingkeeperProcess::start(&[]);
    assert_eq!(server.four("ruok").unwrap(), "imok");
    let srvr = server.four("srvr").unwrap();
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    assert!(srvr.contains("Node count: 5"), "{srvr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_modes_versions_and_children() {
    let server = RingkeeperProcess::start(&["znode.container.checkIntervalMs=200"]);
    let c = connect(&server).await;

    // Persistent, with versioned get/set.
    let (stat, seq) = c
        .create("/app", b"v0", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();
    assert_eq!(seq.into_i64(), -1);
    assert_eq!(
        (stat.version, stat.data_length, stat.num_children),
        (0, 2, 0)
    );
    assert_eq!(stat.czxid, stat.mzxid);
    let (data, st) = c.get_data("/app").await.unwrap();
    assert_eq!((data.as_slice(), st), (&b"v0"[..], stat));
    let st1 = c.set_data("/app", b"v1", Some(0)).await.unwrap();
    assert_eq!(st1.version, 1);
    assert!(st1.mzxid > stat.mzxid);
    assert_eq!(
        c.set_data("/app", b"stale", Some(0)).await,
        Err(zk::Error::BadVersion)
    );
    assert_eq!(c.get_data("/app").await.unwrap().0, b"v1");
    assert_eq!(
        c.create("/app", b"", &open(zk::CreateMode::Persistent))
            .await
            .unwrap_err(),
        zk::Error::NodeExists
    );
    assert_eq!(c.get_data("/nope").await.unwrap_err(), zk::Error::NoNode);

    // Ephemeral: owned by this session.
    let (st, _) = c
        .create("/app/eph", b"", &open(zk::CreateMode::Ephemeral))
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, c.session_id().0);
    // Sequential: the suffix counts every child created under the parent.
    let (_, s1) = c
        .create(
            "/app/job-",
            b"",
            &open(zk::CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    let (_, s2) = c
        .create("/app/job-", b"", &open(zk::CreateMode::EphemeralSequential))
        .await
        .unwrap();
    assert_eq!((s1.into_i64(), s2.into_i64()), (1, 2));
    assert_eq!(s2.to_string(), "0000000002");

    let mut children = c.list_children("/app").await.unwrap();
    children.sort();
    assert_eq!(children, ["eph", "job-0000000001", "job-0000000002"]);
    let (_, parent) = c.get_children("/app").await.unwrap();
    assert_eq!((parent.num_children, parent.cversion), (3, 3));
    assert_eq!(c.count_descendants_number("/app").await.unwrap(), 3);
    let mut eph = c.list_ephemerals("/").await.unwrap();
    eph.sort();
    assert_eq!(eph, ["/app/eph", "/app/job-0000000002"]);
    assert_eq!(
        c.list_ephemerals("/other").await.unwrap(),
        Vec::<String>::new()
    );

    // sync answers.
    bounded("sync", c.sync("/app")).await.unwrap();

    // Container: reaped once its last child goes (checked every 200 ms here).
    let (st, _) = c
        .create("/box", b"", &open(zk::CreateMode::Container))
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, 0);
    c.create("/box/item", b"", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        c.check_stat("/box").await.unwrap().is_some(),
        "reaped with a child"
    );
    c.delete("/box/item", None).await.unwrap();
    eventually("container reaped", || async {
        c.check_stat("/box").await.unwrap().is_none()
    })
    .await;

    // TTL: reaped once now - mtime > ttl.
    let ttl = open(zk::CreateMode::Persistent).with_ttl(Duration::from_millis(500));
    let (st, _) = c.create("/ttl", b"t", &ttl).await.unwrap();
    assert_eq!(st.ephemeral_owner, 0);
    assert!(c.check_stat("/ttl").await.unwrap().is_some());
    eventually("TTL node reaped", || async {
        c.check_stat("/ttl").await.unwrap().is_none()
    })
    .await;

    // Versioned delete.
    assert_eq!(
        c.delete("/app/job-0000000001", Some(3)).await,
        Err(zk::Error::BadVersion)
    );
    c.delete("/app/job-0000000001", Some(0)).await.unwrap();
    assert_eq!(c.delete("/app", None).await, Err(zk::Error::NotEmpty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_writer_commits_atomically() {
    let server = RingkeeperProcess::start(&[]);
    let c = connect(&server).await;
    c.create("/m", b"0", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();

    let mut w = c.new_multi_writer();
    w.add_create("/m/a", b"a", &open(zk::CreateMode::Persistent))
        .unwrap();
    w.add_set_data("/m/a", b"a2", Some(0)).unwrap();
    w.add_check_version("/m", 0).unwrap();
    w.add_create("/m/s-", b"", &open(zk::CreateMode::PersistentSequential))
        .unwrap();
    let results = bounded("multi", w.commit()).await.unwrap();
    assert_eq!(results.len(), 4);
    match &results[0] {
        zk::MultiWriteResult::Create { path, .. } => assert_eq!(path, "/m/a"),
        other => panic!("{other:?}"),
    }
    match &results[1] {
        zk::MultiWriteResult::SetData { stat } => assert_eq!(stat.version, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(results[2], zk::MultiWriteResult::Check);
    match &results[3] {
        zk::MultiWriteResult::Create { path, .. } => assert_eq!(path, "/m/s-0000000001"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.get_data("/m/a").await.unwrap().0, b"a2");

    // Failure: the op at index 2 fails, nothing is applied.
    let mut w = c.new_multi_writer();
    w.add_create("/m/b", b"", &open(zk::CreateMode::Persistent))
        .unwrap();
    w.add_set_data("/m", b"changed", None).unwrap();
    w.add_delete("/m/a", Some(7)).unwrap();
    w.add_create("/m/c", b"", &open(zk::CreateMode::Persistent))
        .unwrap();
    let err = bounded("failing multi", w.commit()).await.unwrap_err();
    assert_eq!(
        err,
        zk::MultiWriteError::OperationFailed {
            index: 2,
            source: zk::Error::BadVersion
        }
    );
    assert_eq!(c.check_stat("/m/b").await.unwrap(), None);
    assert_eq!(c.check_stat("/m/c").await.unwrap(), None);
    let (data, st) = c.get_data("/m").await.unwrap();
    assert_eq!((data.as_slice(), st.version), (&b"0"[..], 0));
    assert!(c.check_stat("/m/a").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_deliver_events() {
    let server = RingkeeperProcess::start(&[]);
    let watcher = connect(&server).await;
    let writer = connect(&server).await;
    writer
        .create("/w", b"", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();

    // Persistent recursive: NodeCreated for descendants, no NodeChildrenChanged.
    let mut rec = watcher
        .watch("/w", zk::AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let (st, _) = writer
        .create("/w/a", b"", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();
    let e = bounded("recursive NodeCreated", rec.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeCreated, "/w/a")
    );
    // 3.8 servers send zxid -1 in notification headers (the zxid arrived in 3.9).
    assert_eq!((e.zxid, st.czxid > 0), (zk::WatchedEvent::NO_ZXID, true));
    writer
        .create("/w/a/b", b"", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();
    let e = bounded("recursive NodeCreated (grandchild)", rec.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeCreated, "/w/a/b")
    );
    writer.set_data("/w/a/b", b"x", None).await.unwrap();
    let e = bounded("recursive NodeDataChanged", rec.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeDataChanged, "/w/a/b")
    );

    // One-shot data watch: fires once, on the first change.
    let (_, _, once) = watcher.get_and_watch_data("/w/a").await.unwrap();
    let st = writer.set_data("/w/a", b"1", None).await.unwrap();
    assert_eq!(st.version, 1);
    let e = bounded("one-shot NodeDataChanged", once.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeDataChanged, "/w/a")
    );
    // The recursive watch saw the same change.
    let e = bounded("recursive sees it too", rec.changed()).await;
    assert_eq!(e.event_type, zk::EventType::NodeDataChanged);

    // exists watch on a missing node fires on create.
    let (stat, exists) = watcher.check_and_watch_stat("/later").await.unwrap();
    assert!(stat.is_none());
    writer
        .create("/later", b"", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();
    let e = bounded("exists watch NodeCreated", exists.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeCreated, "/later")
    );

    // A child watch sees the delete of a child as NodeChildrenChanged.
    let (_, child_watch) = watcher.list_and_watch_children("/w/a").await.unwrap();
    writer.delete("/w/a/b", None).await.unwrap();
    let e = bounded("child watch", child_watch.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeChildrenChanged, "/w/a")
    );
    let e = bounded("recursive NodeDeleted", rec.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeDeleted, "/w/a/b")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_noauth_and_whoami_without_auth() {
    let server = RingkeeperProcess::start(&[]);
    let c = connect(&server).await;
    let other = connect(&server).await;
    let users = c.list_auth_users().await.unwrap();
    let users: Vec<(&str, &str)> = users.iter().map(|u| (u.scheme(), u.user())).collect();
    assert_eq!(users, [("ip", "127.0.0.1")]);

    let read_only = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_read());
    c.create("/ro", b"r", &read_only).await.unwrap();
    let (acl, st) = other.get_acl("/ro").await.unwrap();
    assert_eq!(st.aversion, 0);
    assert_eq!(
        (acl.len(), acl[0].scheme(), acl[0].id(), acl[0].permission()),
        (1, "world", "anyone", zk::Permission::READ)
    );
    assert_eq!(other.get_data("/ro").await.unwrap().0, b"r");
    assert_eq!(
        other.set_data("/ro", b"w", None).await.unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        other
            .create("/ro/c", b"", &open(zk::CreateMode::Persistent))
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        other.delete("/ro", None).await,
        Ok(()),
        "DELETE is checked on the parent"
    );
    // creator_all without an authenticated id is INVALIDACL.
    let private = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    assert_eq!(
        c.create("/x", b"", &private).await.unwrap_err(),
        zk::Error::InvalidAcl
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_auth_acl_and_whoami() {
    let server = RingkeeperProcess::start(&[
        "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
    ]);
    let alice = connect(&server).await;
    let anon = connect(&server).await;
    bounded("auth", alice.auth("digest", b"alice:secret"))
        .await
        .unwrap();

    let users = alice.list_auth_users().await.unwrap();
    let mut users: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.scheme().to_string(), u.user().to_string()))
        .collect();
    users.sort();
    assert_eq!(
        users,
        [
            ("digest".to_string(), "alice".to_string()),
            ("ip".to_string(), "127.0.0.1".to_string())
        ]
    );

    let private = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    alice.create("/private", b"s", &private).await.unwrap();
    let (acl, _) = alice.get_acl("/private").await.unwrap();
    assert_eq!(acl.len(), 1);
    assert_eq!(
        (acl[0].scheme(), acl[0].id(), acl[0].permission()),
        (
            "digest",
            "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=",
            zk::Permission::ALL
        )
    );

    assert_eq!(
        anon.get_data("/private").await.unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        anon.set_data("/private", b"x", None).await.unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        anon.create("/private/c", b"", &open(zk::CreateMode::Persistent))
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        anon.get_acl("/private").await.unwrap_err(),
        zk::Error::NoAuth
    );
    // exists is not ACL-checked.
    assert!(anon.check_stat("/private").await.unwrap().is_some());
    assert_eq!(alice.get_data("/private").await.unwrap().0, b"s");

    // creator_all without any authenticated id is INVALIDACL.
    assert_eq!(
        anon.create("/x", b"", &private).await.unwrap_err(),
        zk::Error::InvalidAcl
    );

    // The super digest reads anything.
    let root = connect(&server).await;
    bounded("super auth", root.auth("digest", b"super:test"))
        .await
        .unwrap();
    assert_eq!(root.get_data("/private").await.unwrap().0, b"s");
    let users = root.list_auth_users().await.unwrap();
    assert!(users.iter().any(|u| u.scheme() == "super"), "{users:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_close_removes_ephemerals_seen_by_other_client() {
    let server = RingkeeperProcess::start(&[]);
    let owner = connect(&server).await;
    let observer = connect(&server).await;
    owner
        .create("/lock", b"", &open(zk::CreateMode::Ephemeral))
        .await
        .unwrap();
    owner
        .create("/keep", b"", &open(zk::CreateMode::Persistent))
        .await
        .unwrap();
    let (stat, watch) = observer.check_and_watch_stat("/lock").await.unwrap();
    assert_eq!(stat.unwrap().ephemeral_owner, owner.session_id().0);
    assert_ne!(owner.session_id(), observer.session_id());

    drop(owner); // the last handle: the client sends closeSession
    let e = bounded("NodeDeleted after close", watch.changed()).await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (zk::EventType::NodeDeleted, "/lock")
    );
    assert_eq!(observer.check_stat("/lock").await.unwrap(), None);
    assert!(observer.check_stat("/keep").await.unwrap().is_some());
    assert_eq!(
        observer.list_ephemerals("/").await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_see_acknowledged_writes() {
    // Once a create is acknowledged, a read on the same session, and on another session
    // started afterwards, must see it (single server: every acknowledged write is visible).
    let server = RingkeeperProcess::start(&[]);
    let c = connect(&server).await;
    let other = connect(&server).await;
    let mut own_misses = Vec::new();
    let mut other_misses = Vec::new();
    for i in 0..300 {
        let p = format!("/k{i}");
        c.create(&p, b"", &open(zk::CreateMode::Persistent))
            .await
            .unwrap();
        if let Err(e) = c.get_data(&p).await {
            own_misses.push((i, e));
        }
        if let Err(e) = other.get_data(&p).await {
            other_misses.push((i, e));
        }
    }
    assert!(
        own_misses.is_empty() && other_misses.is_empty(),
        "stale reads: own session {own_misses:?}, other session {other_misses:?}"
    );
}
