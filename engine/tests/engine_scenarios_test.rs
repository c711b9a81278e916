//! Engine scenarios: ZooKeeper 3.8 behaviour, one observable behaviour per test.
//!
//! Goal: pin down the protocol semantics of ZK-PROTOCOL.md sections 2 to 7 (zxids in reply
//! headers, durability before release, watch ordering and kinds, Stat and sequence rules,
//! multi atomicity, containers and TTL nodes, sessions, ACLs) and the idempotent replay that
//! fuzzy snapshots rely on. Method: every test drives one `Engine` through the shared
//! harness (`harness/mod.rs`): a virtual clock, simulated client connections, a WAL stand-in
//! that checks zxid order, and a step bound. Tests assert exact outputs per connection, in
//! order, and the resulting tree, using only the public engine API.

mod harness;

use harness::*;
use ringkeeper_engine::proto::{
    add_watch_mode, create_mode, event, op, perms, watcher_type, Acl, ConnectRequest,
    CreateRequest, ErrorCode, Id, MultiOp, MultiResult, Request, Response, SetWatches,
};
use ringkeeper_engine::tree::acl::digest_id;
use ringkeeper_engine::tree::DataTree;
use ringkeeper_engine::txn::TxnBody;
use ringkeeper_engine::{Engine, EngineConfig, Now, Output};

const NO_NODE: i32 = -101;
const NO_AUTH: i32 = -102;
const BAD_VERSION: i32 = -103;
const NODE_EXISTS: i32 = -110;
const NO_WATCHER: i32 = -121;
const RUNTIME_INCONSISTENCY: i32 = -2;

fn ev(t: i32, p: &str) -> (i32, String) {
    (t, p.to_string())
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[test]
fn ephemeral_deleted_on_session_expiry() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect_timeout(4_000);
    assert_eq!(a.timeout_ms, 4_000);
    let mut b = sim.connect();
    sim.create(&mut a, "/e", b"x", create_mode::EPHEMERAL)
        .unwrap();
    let st = sim.exists(&mut b, "/e", true).unwrap();
    assert_eq!(st.ephemeral_owner, a.session_id);

    // START_MS is a multiple of tickTime, so the session's bucket is START + 4000 rounded up
    // to the next tick: START + 6000. Still alive at +4000.
    sim.advance(4_000);
    assert!(sim.engine.tree().get("/e").is_some(), "expired too early");
    assert!(sim.take(a.conn).is_empty());
    assert!(sim.take(b.conn).is_empty());

    sim.advance(2_000);
    assert!(
        sim.engine.tree().get("/e").is_none(),
        "ephemeral survived expiry"
    );
    assert!(sim.engine.sessions().get(a.session_id).is_none());
    assert_eq!(trace(&sim.take(a.conn)), ["X"]);
    assert_eq!(
        events_of(&sim.take(b.conn)),
        [ev(event::NODE_DELETED, "/e")]
    );
    let last = sim.wal.last().unwrap();
    assert_eq!(last.session_id, a.session_id);
    // The txn names no paths: applying it deletes what the session owns at that zxid.
    assert_eq!(
        last.body,
        TxnBody::CloseSession {
            paths_to_delete: vec![]
        }
    );
    check_invariants(&sim.engine);

    // The expired session's reconnect: all-zero ConnectResponse, then the connection closes.
    let (a2, outs) = sim.reconnect(&a);
    assert_eq!(outs.len(), 2, "{outs:?}");
    let resp = expect_connected(&outs);
    assert_eq!(
        (resp.timeout_ms, resp.session_id, resp.passwd.clone()),
        (0, 0, vec![0u8; 16])
    );
    assert_eq!(outs[1], Output::Close { conn: a2.conn });
}

#[test]
fn session_kept_alive_by_pings() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect_timeout(4_000);
    sim.create(&mut a, "/e", b"", create_mode::EPHEMERAL)
        .unwrap();
    for _ in 0..10 {
        sim.advance(2_000);
        let (h, _) = sim.call(&mut a, Request::Ping);
        assert_eq!((h.xid, h.err, h.zxid), (-2, 0, sim.engine.last_zxid()));
    }
    assert!(sim.engine.tree().get("/e").is_some());
    sim.advance(6_000);
    assert!(sim.engine.tree().get("/e").is_none());
}

#[test]
fn timeout_negotiation_clamps() {
    // Defaults: min 2*tickTime = 4000, max 20*tickTime = 40000.
    let mut sim = Sim::new(EngineConfig::default());
    assert_eq!(sim.connect_timeout(1_000).timeout_ms, 4_000);
    assert_eq!(sim.connect_timeout(100_000).timeout_ms, 40_000);
    assert_eq!(sim.connect_timeout(10_000).timeout_ms, 10_000);
    assert_eq!(sim.connect_timeout(4_000).timeout_ms, 4_000);
    assert_eq!(sim.connect_timeout(40_000).timeout_ms, 40_000);
    // The session tracker stores the negotiated value.
    let c = sim.connect_timeout(0);
    assert_eq!(
        sim.engine.sessions().get(c.session_id).unwrap().timeout_ms,
        4_000
    );
    let txn = sim.wal.last().unwrap();
    assert_eq!(txn.body, TxnBody::CreateSession { timeout_ms: 4_000 });
}

#[test]
fn connect_with_future_zxid_is_refused_without_reply() {
    let mut sim = Sim::with_defaults();
    let req = ConnectRequest {
        last_zxid_seen: sim.engine.last_zxid() + 5,
        ..ConnectRequest::new_session(10_000)
    };
    let before = sim.engine.last_zxid();
    let (conn, outs) = sim.connect_raw(&req);
    assert_eq!(outs, [Output::Close { conn }]);
    assert_eq!(sim.engine.last_zxid(), before, "no session created");
}

#[test]
fn close_session_deletes_ephemerals_and_closes() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.create(&mut a, "/p", b"", create_mode::PERSISTENT)
        .unwrap();
    sim.create(&mut a, "/p/e1", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.create(&mut a, "/e2", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.exists(&mut b, "/e2", true).unwrap();
    sim.children(&mut b, "/p", true).unwrap();

    let xid = a.peek_xid();
    let outs = sim.request(&mut a, Request::CloseSession);
    assert_eq!(trace(&outs), [format!("R{xid}:0"), "X".to_string()]);
    let Output::Reply { header, .. } = &outs[0] else {
        unreachable!()
    };
    assert_eq!(header.zxid, sim.engine.last_zxid(), "closeSession is a txn");

    let mut got = events_of(&sim.take(b.conn));
    got.sort();
    assert_eq!(
        got,
        [
            ev(event::NODE_DELETED, "/e2"),
            ev(event::NODE_CHILDREN_CHANGED, "/p")
        ]
    );
    assert!(sim.engine.tree().get("/p/e1").is_none());
    assert!(sim.engine.tree().get("/e2").is_none());
    assert!(sim.engine.tree().get("/p").is_some());
    assert!(sim.engine.sessions().get(a.session_id).is_none());
    assert!(sim.engine.conn(a.conn).is_none());
    match &sim.wal.last().unwrap().body {
        TxnBody::CloseSession { paths_to_delete } => assert!(paths_to_delete.is_empty()),
        other => panic!("{other:?}"),
    };
    check_invariants(&sim.engine);

    // The closed session cannot be resumed.
    let (_, outs) = sim.reconnect(&a);
    assert_eq!(expect_connected(&outs).session_id, 0);
}

#[test]
fn reconnect_moves_session_and_closes_old_connection() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut w = sim.connect();
    sim.create(&mut a, "/e", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.create(&mut w, "/w", b"", create_mode::PERSISTENT)
        .unwrap();
    sim.get_data(&mut a, "/w", true).unwrap();

    let (mut a2, outs) = sim.reconnect(&a);
    let resp = expect_connected(&outs);
    assert_eq!(outs.len(), 1, "{outs:?}");
    assert_eq!(resp.session_id, a.session_id);
    assert_eq!(resp.passwd, a.passwd);
    assert_eq!(resp.timeout_ms, a.timeout_ms);
    assert_eq!(sim.take(a.conn), [Output::Close { conn: a.conn }]);
    assert!(sim.engine.conn(a.conn).is_none());
    assert_eq!(sim.engine.conn(a2.conn).unwrap().session_id, a.session_id);

    // The ephemeral lives on; the old connection's watch went with it.
    assert!(sim.engine.tree().get("/e").is_some());
    sim.set_data(&mut w, "/w", b"1", -1).unwrap();
    assert!(sim.take(a.conn).is_empty());
    assert!(sim.take(a2.conn).is_empty());
    // Requests on the old connection are ignored; the new one works.
    let mut stale = a.clone();
    sim.send(
        &mut stale,
        Request::Exists {
            path: "/e".into(),
            watch: false,
        },
    );
    assert!(sim.take(a.conn).is_empty());
    assert!(sim.exists(&mut a2, "/e", false).is_ok());

    // A wrong password still kicks the live connection (CLIENT_RECONNECT happens before the
    // password check), then gets the all-zero response and a close.
    let mut forged = a2.clone();
    forged.passwd = vec![7; 16];
    let (f, outs) = sim.reconnect(&forged);
    assert_eq!(expect_connected(&outs).session_id, 0);
    assert_eq!(outs[1], Output::Close { conn: f.conn });
    assert_eq!(sim.take(a2.conn), [Output::Close { conn: a2.conn }]);
    assert!(
        sim.engine.sessions().is_live(a.session_id),
        "session itself survives"
    );
}

// ---------------------------------------------------------------------------------------------
// Durability and ordering

#[test]
fn reply_waits_for_durability() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.hold_durability = true;

    let before = sim.engine.durable_zxid();
    let wx = sim.send(
        &mut a,
        create_req(op::CREATE, "/d", b"v", 0, None, Acl::open_unsafe()),
    );
    let rx = sim.send(
        &mut a,
        Request::GetData {
            path: "/d".into(),
            watch: false,
        },
    );
    // B's read of the new node is held too: it could show state a crash might lose.
    let bx = sim.send(
        &mut b,
        Request::Exists {
            path: "/d".into(),
            watch: false,
        },
    );
    assert!(sim.inbox_is_empty(), "released before durable");
    assert_eq!(sim.engine.outstanding_txns(), 1);
    assert_eq!(sim.engine.durable_zxid(), before);

    // The WAL makes it durable; now everything comes out, in order.
    sim.persist();
    sim.pump();
    assert_eq!(
        trace(&sim.take(a.conn)),
        [format!("R{wx}:0"), format!("R{rx}:0")]
    );
    assert_eq!(trace(&sim.take(b.conn)), [format!("R{bx}:0")]);

    // Partial durability releases only what depends on the durable prefix.
    let x1 = sim.send(
        &mut a,
        Request::SetData {
            path: "/d".into(),
            data: b"1".to_vec().into(),
            version: -1,
        },
    );
    let z1 = sim.engine.last_zxid();
    let x2 = sim.send(
        &mut a,
        Request::SetData {
            path: "/d".into(),
            data: b"2".to_vec().into(),
            version: -1,
        },
    );
    assert!(sim.inbox_is_empty());
    let t1 = sim.engine.poll_txn().unwrap();
    assert_eq!(t1.zxid, z1);
    sim.wal.push(t1);
    sim.engine.handle_persisted(z1);
    sim.pump();
    assert_eq!(trace(&sim.take(a.conn)), [format!("R{x1}:0")]);
    sim.persist();
    sim.pump();
    assert_eq!(trace(&sim.take(a.conn)), [format!("R{x2}:0")]);
}

#[test]
fn write_notifications_precede_reply() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.create(&mut a, "/n", b"", create_mode::PERSISTENT)
        .unwrap();
    sim.get_data(&mut a, "/n", true).unwrap();
    sim.get_data(&mut b, "/n", true).unwrap();

    // Own connection: the event comes before the reply to the write that caused it.
    let x = a.peek_xid();
    let outs = sim.request(
        &mut a,
        Request::SetData {
            path: "/n".into(),
            data: b"1".to_vec().into(),
            version: 0,
        },
    );
    assert_eq!(trace(&outs), ["N3:/n".to_string(), format!("R{x}:0")]);
    let Output::Notify { event: e, .. } = &outs[0] else {
        unreachable!()
    };
    assert_eq!(e.state, event::STATE_SYNC_CONNECTED);

    // Other connection: the event was queued with the write, ahead of any later reply.
    let y = sim.send(
        &mut b,
        Request::Exists {
            path: "/n".into(),
            watch: false,
        },
    );
    assert_eq!(
        trace(&sim.take(b.conn)),
        ["N3:/n".to_string(), format!("R{y}:0")]
    );

    // One-shot: a second write notifies nobody.
    sim.set_data(&mut a, "/n", b"2", -1).unwrap();
    assert!(events_of(&sim.take(a.conn)).is_empty());
    assert!(sim.take(b.conn).is_empty());
}

#[test]
fn read_reply_precedes_its_watch_notification() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.create(&mut a, "/n", b"", create_mode::PERSISTENT)
        .unwrap();
    sim.hold_durability = true;
    let rx = sim.send(
        &mut b,
        Request::GetData {
            path: "/n".into(),
            watch: true,
        },
    );
    sim.send(
        &mut a,
        Request::SetData {
            path: "/n".into(),
            data: b"1".to_vec().into(),
            version: -1,
        },
    );
    sim.persist();
    sim.pump();
    assert_eq!(
        trace(&sim.take(b.conn)),
        [format!("R{rx}:0"), "N3:/n".to_string()]
    );
}

// ---------------------------------------------------------------------------------------------
// Znodes

#[test]
fn sequential_suffix_counts_all_children() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    sim.create(&mut a, "/s", b"", create_mode::PERSISTENT)
        .unwrap();
    let seq = create_mode::PERSISTENT_SEQUENTIAL;
    assert_eq!(
        sim.create(&mut a, "/s/q-", b"", seq).unwrap(),
        "/s/q-0000000000"
    );
    sim.create(&mut a, "/s/plain", b"", create_mode::PERSISTENT)
        .unwrap();
    assert_eq!(
        sim.create(&mut a, "/s/q-", b"", seq).unwrap(),
        "/s/q-0000000002"
    );
    sim.delete(&mut a, "/s/plain", -1).unwrap();
    sim.delete(&mut a, "/s/q-0000000000", -1).unwrap();
    // Deletes do not lower the counter.
    let eph = create_mode::EPHEMERAL_SEQUENTIAL;
    assert_eq!(
        sim.create(&mut a, "/s/e-", b"", eph).unwrap(),
        "/s/e-0000000003"
    );
    // The suffix is appended to the path as given.
    assert_eq!(
        sim.create(&mut a, "/s/", b"", seq).unwrap(),
        "/s/0000000004"
    );
    let (children, stat) = sim.children(&mut a, "/s", false).unwrap();
    assert_eq!(children, ["0000000004", "e-0000000003", "q-0000000002"]);
    // Tools compute the next sequence number as (cversion + numChildren) / 2.
    assert_eq!((stat.cversion + stat.num_children) / 2, 5);
    // A failed sequential create does not advance it.
    let bad_acl = create_req(op::CREATE, "/s/q-", b"", seq, None, vec![]);
    assert_eq!(sim.call(&mut a, bad_acl).0.err, -114);
    assert_eq!(
        sim.create(&mut a, "/s/q-", b"", seq).unwrap(),
        "/s/q-0000000005"
    );
}

#[test]
fn cversion_and_pzxid_semantics() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();

    // A fresh 3.8 tree.
    let root = sim.exists(&mut a, "/", false).unwrap();
    assert_eq!(
        (root.cversion, root.num_children, root.czxid, root.pzxid),
        (-1, 1, 0, 0)
    );
    assert_eq!(
        sim.exists(&mut a, "/zookeeper", false).unwrap().cversion,
        -2
    );
    assert_eq!(
        sim.exists(&mut a, "/zookeeper/config", false)
            .unwrap()
            .aversion,
        -1
    );

    let t0 = sim.now_ms;
    sim.create(&mut a, "/p", b"abc", create_mode::PERSISTENT)
        .unwrap();
    let z_create = sim.engine.last_zxid();
    let p = sim.exists(&mut a, "/p", false).unwrap();
    assert_eq!((p.czxid, p.mzxid, p.pzxid), (z_create, z_create, z_create));
    assert_eq!((p.ctime, p.mtime), (t0, t0));
    assert_eq!(
        (p.version, p.cversion, p.aversion, p.ephemeral_owner),
        (0, 0, 0, 0)
    );
    assert_eq!((p.data_length, p.num_children), (3, 0));

    sim.advance(1_000);
    sim.create(&mut a, "/p/a", b"", create_mode::PERSISTENT)
        .unwrap();
    let z_a = sim.engine.last_zxid();
    sim.create(&mut a, "/p/b", b"", create_mode::PERSISTENT)
        .unwrap();
    let z_b = sim.engine.last_zxid();
    let p = sim.exists(&mut a, "/p", false).unwrap();
    assert_eq!((p.cversion, p.num_children, p.pzxid), (2, 2, z_b));
    assert_eq!(
        (p.mzxid, p.mtime),
        (z_create, t0),
        "child creates leave mzxid alone"
    );
    assert!(z_b > z_a);

    sim.delete(&mut a, "/p/a", -1).unwrap();
    let z_del = sim.engine.last_zxid();
    let p = sim.exists(&mut a, "/p", false).unwrap();
    assert_eq!((p.cversion, p.num_children, p.pzxid), (3, 1, z_del));

    // A failed delete consumes a zxid but changes nothing.
    assert_eq!(sim.delete(&mut a, "/p/a", -1), Err(NO_NODE));
    assert_eq!(sim.engine.last_zxid(), z_del + 1);
    assert_eq!(sim.exists(&mut a, "/p", false).unwrap(), p);

    sim.advance(1_000);
    let t_set = sim.now_ms;
    let st = sim.set_data(&mut a, "/p", b"xy", 0).unwrap();
    let z_set = sim.engine.last_zxid();
    assert_eq!(
        (st.mzxid, st.mtime, st.version, st.data_length),
        (z_set, t_set, 1, 2)
    );
    assert_eq!(
        (st.czxid, st.ctime, st.pzxid, st.cversion),
        (z_create, t0, z_del, 3)
    );
    assert_eq!(sim.set_data(&mut a, "/p", b"", 0), Err(BAD_VERSION));

    // setACL moves aversion only.
    let (h, body) = sim.call(
        &mut a,
        Request::SetAcl {
            path: "/p".into(),
            acl: Acl::open_unsafe(),
            version: 0,
        },
    );
    assert_eq!(h.err, 0);
    let Response::Stat(st) = body else {
        panic!("{body:?}")
    };
    assert_eq!((st.aversion, st.version, st.mzxid), (1, 1, z_set));
    let (h, _) = sim.call(
        &mut a,
        Request::SetAcl {
            path: "/p".into(),
            acl: Acl::open_unsafe(),
            version: 0,
        },
    );
    assert_eq!(
        h.err, BAD_VERSION,
        "setACL version is checked against aversion"
    );

    // Root's cversion counts the create of /p.
    let root = sim.exists(&mut a, "/", false).unwrap();
    assert_eq!(
        (root.cversion, root.num_children, root.pzxid),
        (0, 2, z_create)
    );
    check_invariants(&sim.engine);
}

#[test]
fn create_errors_follow_validation_order() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    assert_eq!(sim.create(&mut a, "/missing/./x", b"", 0), Err(NO_NODE));
    sim.create(&mut a, "/x", b"", 0).unwrap();
    assert_eq!(sim.create(&mut a, "/x", b"", 0), Err(NODE_EXISTS));
    assert_eq!(sim.create(&mut a, "/x/", b"", 0), Err(-8));
    assert_eq!(sim.create(&mut a, "/x", b"", 7), Err(-8), "bad flags");
    sim.create(&mut a, "/e", b"", create_mode::EPHEMERAL)
        .unwrap();
    assert_eq!(sim.create(&mut a, "/e/c", b"", 0), Err(-108));
    assert_eq!(sim.delete(&mut a, "/", -1), Err(-8));
    assert_eq!(sim.delete(&mut a, "/zookeeper", -1), Err(-8));
    sim.create(&mut a, "/x/c", b"", 0).unwrap();
    assert_eq!(sim.delete(&mut a, "/x", -1), Err(-111));
    // Reads do not validate paths.
    assert_eq!(sim.get_data(&mut a, "/x/", false), Err(NO_NODE));
}

#[test]
fn multi_failure_results() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    sim.create(&mut a, "/m", b"orig", create_mode::PERSISTENT)
        .unwrap();
    let before = sim.engine.last_zxid();
    let image_before = tree_image(sim.engine.tree());

    let (h, results) = sim.multi(
        &mut a,
        vec![
            multi_create("/m/a", b""),
            MultiOp::SetData {
                path: "/m".into(),
                data: b"new".to_vec().into(),
                version: 0,
            },
            MultiOp::Check {
                path: "/m".into(),
                version: 5,
            },
            multi_create("/m/b", b""),
            MultiOp::Delete {
                path: "/m".into(),
                version: -1,
            },
        ],
    );
    assert_eq!(h.err, 0, "a failed multi still answers err 0 in the header");
    assert_eq!(
        results,
        [
            MultiResult::Error { err: 0 },
            MultiResult::Error { err: 0 },
            MultiResult::Error { err: BAD_VERSION },
            MultiResult::Error {
                err: RUNTIME_INCONSISTENCY
            },
            MultiResult::Error {
                err: RUNTIME_INCONSISTENCY
            },
        ]
    );
    // Nothing applied, a zxid consumed and logged as a multi of error txns.
    assert_eq!(h.zxid, before + 1);
    assert_eq!(sim.engine.last_zxid(), before + 1);
    assert_eq!(tree_image(sim.engine.tree()), image_before);
    let TxnBody::Multi(subs) = &sim.wal.last().unwrap().body else {
        panic!("{:?}", sim.wal.last())
    };
    assert_eq!(subs.len(), 5);
    assert!(
        subs.iter().all(|t| matches!(t, TxnBody::Error { .. })),
        "{subs:?}"
    );

    // An empty multi is legal and consumes a zxid too.
    let (h, results) = sim.multi(&mut a, vec![]);
    assert_eq!((h.err, results.len()), (0, 0));
    assert_eq!(sim.engine.last_zxid(), before + 2);
}

#[test]
fn multi_sees_earlier_ops() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.exists(&mut b, "/x", true).unwrap_err();
    let (h, results) = sim.multi(
        &mut a,
        vec![
            multi_create("/x", b"a"),
            MultiOp::SetData {
                path: "/x".into(),
                data: b"b".to_vec().into(),
                version: 0,
            },
            MultiOp::Check {
                path: "/x".into(),
                version: 1,
            },
            multi_create("/x/child", b""),
            MultiOp::Delete {
                path: "/x/child".into(),
                version: 0,
            },
        ],
    );
    assert_eq!(h.err, 0);
    let zxid = h.zxid;
    assert_eq!(results.len(), 5);
    assert_eq!(results[0], MultiResult::Create { path: "/x".into() });
    let MultiResult::SetData { stat } = &results[1] else {
        panic!("{results:?}")
    };
    assert_eq!((stat.version, stat.mzxid, stat.czxid), (1, zxid, zxid));
    assert_eq!(results[2], MultiResult::Check);
    assert_eq!(results[4], MultiResult::Delete);
    let (data, st) = sim.get_data(&mut a, "/x", false).unwrap();
    assert_eq!(
        (data.as_slice(), st.version, st.cversion, st.num_children),
        (&b"b"[..], 1, 2, 0)
    );
    // All sub-ops share one zxid; B's exist watch saw the create.
    assert_eq!(sim.engine.last_zxid(), zxid);
    assert_eq!(
        events_of(&sim.take(b.conn)),
        [ev(event::NODE_CREATED, "/x")]
    );
}

#[test]
fn container_reaped_after_last_child_deleted() {
    let mut sim = Sim::with_defaults(); // container check every 1000 ms
    let mut a = sim.connect();
    let mut b = sim.connect();
    let (path, st) = sim
        .create2(
            &mut a,
            op::CREATE_CONTAINER,
            "/c",
            create_mode::CONTAINER,
            None,
        )
        .unwrap();
    assert_eq!(path, "/c");
    assert_eq!(
        st.ephemeral_owner, 0,
        "container marker hidden from clients"
    );
    sim.create2(
        &mut a,
        op::CREATE_CONTAINER,
        "/never",
        create_mode::CONTAINER,
        None,
    )
    .unwrap();
    sim.create(&mut a, "/c/k", b"", create_mode::PERSISTENT)
        .unwrap();

    // Not empty: kept.
    sim.advance(3_000);
    assert!(sim.engine.tree().get("/c").is_some());

    sim.exists(&mut b, "/c", true).unwrap();
    sim.delete(&mut a, "/c/k", -1).unwrap();
    sim.advance(1_000);
    assert!(
        sim.engine.tree().get("/c").is_none(),
        "empty used container not reaped"
    );
    assert_eq!(
        events_of(&sim.take(b.conn)),
        [ev(event::NODE_DELETED, "/c")]
    );
    let last = sim.wal.last().unwrap();
    assert_eq!(
        last.body,
        TxnBody::Delete {
            opcode: op::DELETE_CONTAINER,
            path: "/c".into()
        }
    );
    assert_eq!(last.session_id, 0);
    // Never used and maxNeverUsedIntervalMs = 0: never reaped.
    sim.advance(5_000);
    assert!(sim.engine.tree().get("/never").is_some());
    assert!(sim.engine.tree().containers().iter().all(|p| p != "/c"));
}

#[test]
fn ttl_node_reaped_after_ttl() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let ttl = create_mode::PERSISTENT_WITH_TTL;
    let (_, st) = sim
        .create2(&mut a, op::CREATE_TTL, "/t", ttl, Some(5_000))
        .unwrap();
    assert_eq!(st.ephemeral_owner, 0, "TTL marker hidden from clients");
    sim.create2(&mut a, op::CREATE_TTL, "/held", ttl, Some(1_000))
        .unwrap();
    sim.create(&mut a, "/held/kid", b"", 0).unwrap();
    let (seq, _) = sim
        .create2(
            &mut a,
            op::CREATE_TTL,
            "/ts-",
            create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL,
            Some(5_000),
        )
        .unwrap();
    assert_eq!(seq, "/ts-0000000002");

    sim.advance(3_000);
    // setData refreshes mtime, which the TTL counts from.
    sim.set_data(&mut a, "/ts-0000000002", b"x", -1).unwrap();
    sim.advance(2_000);
    assert!(
        sim.engine.tree().get("/t").is_some(),
        "reaped before ttl passed"
    );
    sim.advance(1_000);
    assert!(
        sim.engine.tree().get("/t").is_none(),
        "TTL node outlived its ttl"
    );
    assert!(
        sim.engine.tree().get("/ts-0000000002").is_some(),
        "mtime not honoured"
    );
    assert!(
        sim.engine.tree().get("/held").is_some(),
        "TTL node with a child reaped"
    );
    sim.advance(3_000);
    assert!(sim.engine.tree().get("/ts-0000000002").is_none());

    // TTL errors: outside 1..=2^40-1 is BADARGUMENTS; through plain create too.
    assert_eq!(
        sim.create2(&mut a, op::CREATE_TTL, "/z", ttl, Some(0)),
        Err(-8)
    );
    assert_eq!(
        sim.create2(&mut a, op::CREATE_TTL, "/z", ttl, Some(1 << 40)),
        Err(-8)
    );
    assert_eq!(sim.create(&mut a, "/z", b"", ttl), Err(-8));
    check_invariants(&sim.engine);
}

#[test]
fn ttl_unimplemented_without_extended_types() {
    let mut sim = Sim::new(EngineConfig::default());
    let mut a = sim.connect();
    let r = sim.create2(
        &mut a,
        op::CREATE_TTL,
        "/t",
        create_mode::PERSISTENT_WITH_TTL,
        Some(10),
    );
    assert_eq!(r, Err(-6));
}

// ---------------------------------------------------------------------------------------------
// Watches

#[test]
fn delete_notifies_data_and_child_watchers_once() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.create(&mut a, "/p", b"", 0).unwrap();
    sim.create(&mut a, "/p/c", b"", 0).unwrap();
    sim.get_data(&mut b, "/p/c", true).unwrap();
    sim.children(&mut b, "/p/c", true).unwrap();
    sim.children(&mut b, "/p", true).unwrap();
    sim.delete(&mut a, "/p/c", -1).unwrap();
    assert_eq!(
        events_of(&sim.take(b.conn)),
        [
            ev(event::NODE_DELETED, "/p/c"),
            ev(event::NODE_CHILDREN_CHANGED, "/p")
        ]
    );
    // exists arms a watch on a missing node; getData does not.
    sim.exists(&mut b, "/q", true).unwrap_err();
    assert_eq!(sim.get_data(&mut b, "/r", true), Err(NO_NODE));
    sim.create(&mut a, "/q", b"", 0).unwrap();
    sim.create(&mut a, "/r", b"", 0).unwrap();
    assert_eq!(
        events_of(&sim.take(b.conn)),
        [ev(event::NODE_CREATED, "/q")]
    );
}

#[test]
fn set_watches_fires_changes_since_relative_zxid() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    for p in ["/d1", "/d2", "/ch", "/gone", "/quiet"] {
        sim.create(&mut a, p, b"", 0).unwrap();
    }
    let rel = sim.engine.last_zxid();
    sim.set_data(&mut a, "/d1", b"1", -1).unwrap();
    sim.create(&mut a, "/ch/x", b"", 0).unwrap();
    sim.delete(&mut a, "/gone", -1).unwrap();

    let mut c = sim.connect();
    let xid = c.peek_xid();
    let watches = SetWatches {
        relative_zxid: rel,
        data: vec!["/d1".into(), "/d2".into(), "/gone".into()],
        exist: vec!["/d2".into(), "/nope".into()],
        child: vec!["/ch".into(), "/quiet".into(), "/gone".into()],
        ..SetWatches::default()
    };
    let outs = sim.request(&mut c, Request::SetWatches { v2: false, watches });
    // Immediate events first, in data/exist/child order, then the bare reply.
    assert_eq!(
        trace(&outs),
        [
            "N3:/d1".to_string(),
            "N2:/gone".to_string(),
            "N1:/d2".to_string(),
            "N4:/ch".to_string(),
            "N2:/gone".to_string(),
            format!("R{xid}:0"),
        ]
    );
    let Output::Reply { header, body, .. } = outs.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(
        (header.zxid, body),
        (sim.engine.last_zxid(), &Response::Empty)
    );

    // The rest were re-armed: /d2 data, /nope exist, /quiet child.
    sim.set_data(&mut a, "/d2", b"z", -1).unwrap();
    sim.create(&mut a, "/nope", b"", 0).unwrap();
    sim.create(&mut a, "/quiet/k", b"", 0).unwrap();
    // Fired ones were not: /d1 data, /ch child.
    sim.set_data(&mut a, "/d1", b"2", -1).unwrap();
    sim.create(&mut a, "/ch/y", b"", 0).unwrap();
    assert_eq!(
        events_of(&sim.take(c.conn)),
        [
            ev(event::NODE_DATA_CHANGED, "/d2"),
            ev(event::NODE_CREATED, "/nope"),
            ev(event::NODE_CHILDREN_CHANGED, "/quiet"),
        ]
    );
}

#[test]
fn persistent_recursive_watch_no_children_changed() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut w = sim.connect();
    let (h, body) = sim.call(
        &mut w,
        Request::AddWatch {
            path: "/t".into(),
            mode: add_watch_mode::PERSISTENT_RECURSIVE,
        },
    );
    assert_eq!((h.err, body), (0, Response::ErrorBody { err: 0 }));

    sim.create(&mut a, "/t", b"", 0).unwrap();
    sim.create(&mut a, "/t/b", b"", 0).unwrap();
    sim.create(&mut a, "/t/b/c", b"", 0).unwrap();
    sim.set_data(&mut a, "/t/b/c", b"1", -1).unwrap();
    sim.set_data(&mut a, "/t/b/c", b"2", -1).unwrap();
    sim.delete(&mut a, "/t/b/c", -1).unwrap();
    sim.create(&mut a, "/other", b"", 0).unwrap();
    assert_eq!(
        events_of(&sim.take(w.conn)),
        [
            ev(event::NODE_CREATED, "/t"),
            ev(event::NODE_CREATED, "/t/b"),
            ev(event::NODE_CREATED, "/t/b/c"),
            ev(event::NODE_DATA_CHANGED, "/t/b/c"),
            ev(event::NODE_DATA_CHANGED, "/t/b/c"),
            ev(event::NODE_DELETED, "/t/b/c"),
        ]
    );

    // A plain persistent watch fires for its own path only, children changes included, and
    // stays armed.
    sim.call(
        &mut w,
        Request::AddWatch {
            path: "/p".into(),
            mode: add_watch_mode::PERSISTENT,
        },
    );
    sim.create(&mut a, "/p", b"", 0).unwrap();
    sim.create(&mut a, "/p/k1", b"", 0).unwrap();
    sim.create(&mut a, "/p/k2", b"", 0).unwrap();
    sim.set_data(&mut a, "/p/k2", b"", -1).unwrap();
    assert_eq!(
        events_of(&sim.take(w.conn)),
        [
            ev(event::NODE_CREATED, "/p"),
            ev(event::NODE_CHILDREN_CHANGED, "/p"),
            ev(event::NODE_CHILDREN_CHANGED, "/p"),
        ]
    );
}

#[test]
fn remove_watches_nowatcher() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut w = sim.connect();
    sim.create(&mut a, "/w", b"", 0).unwrap();
    let remove = |path: &str, t: i32| Request::RemoveWatches {
        path: path.into(),
        watcher_type: t,
    };
    let check = |path: &str, t: i32| Request::CheckWatches {
        path: path.into(),
        watcher_type: t,
    };
    assert_eq!(
        sim.call(&mut w, remove("/w", watcher_type::ANY)).0.err,
        NO_WATCHER
    );
    assert_eq!(
        sim.call(&mut w, check("/w", watcher_type::DATA)).0.err,
        NO_WATCHER
    );

    sim.get_data(&mut w, "/w", true).unwrap();
    sim.children(&mut w, "/w", true).unwrap();
    assert_eq!(sim.call(&mut w, check("/w", watcher_type::DATA)).0.err, 0);
    // checkWatches removes nothing; removeWatches of the data kind leaves the child watch.
    assert_eq!(sim.call(&mut w, remove("/w", watcher_type::DATA)).0.err, 0);
    assert_eq!(
        sim.call(&mut w, remove("/w", watcher_type::DATA)).0.err,
        NO_WATCHER
    );
    sim.set_data(&mut a, "/w", b"1", -1).unwrap();
    sim.create(&mut a, "/w/k", b"", 0).unwrap();
    assert_eq!(
        events_of(&sim.take(w.conn)),
        [ev(event::NODE_CHILDREN_CHANGED, "/w")]
    );

    // removeWatches touches only the caller's own watches.
    sim.get_data(&mut a, "/w", true).unwrap();
    assert_eq!(
        sim.call(&mut w, remove("/w", watcher_type::DATA)).0.err,
        NO_WATCHER
    );
    // Persistent watches go with type ANY.
    sim.call(
        &mut w,
        Request::AddWatch {
            path: "/w".into(),
            mode: add_watch_mode::PERSISTENT_RECURSIVE,
        },
    );
    assert_eq!(sim.call(&mut w, remove("/w", watcher_type::ANY)).0.err, 0);
    sim.create(&mut a, "/w/k2", b"", 0).unwrap();
    assert!(events_of(&sim.take(w.conn)).is_empty());
    // Watch removal is no txn: the reply carries the last zxid, which does not move.
    let before = sim.engine.last_zxid();
    let (h, _) = sim.call(&mut w, remove("/w", watcher_type::ANY));
    assert_eq!(
        (h.err, h.zxid, sim.engine.last_zxid()),
        (NO_WATCHER, before, before)
    );
}

// ---------------------------------------------------------------------------------------------
// ACLs and auth

#[test]
fn digest_auth_and_acl_checks() {
    let config = EngineConfig {
        super_digest: Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=".into()),
        ..test_config()
    };
    let mut sim = Sim::new(config);
    let mut alice = sim.connect();
    let mut anon = sim.connect();
    let mut root = sim.connect();

    let h = sim.add_auth_digest(&mut alice, "alice:secret");
    assert_eq!((h.xid, h.zxid, h.err), (-4, 0, 0));
    let id = digest_id("alice:secret");
    assert_eq!(id, "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");

    let secret = vec![Acl::new(perms::ALL, "digest", &id)];
    let r = sim.call(
        &mut alice,
        create_req(op::CREATE, "/sec", b"s", 0, None, secret.clone()),
    );
    assert_eq!(r.0.err, 0);
    let shared = vec![
        Acl::new(perms::ALL, "digest", &id),
        Acl::new(perms::READ, "world", "anyone"),
    ];
    let r = sim.call(
        &mut alice,
        create_req(op::CREATE, "/pub", b"p", 0, None, shared),
    );
    assert_eq!(r.0.err, 0);

    // Without the id: NOAUTH for reads, writes, child creates and getACL; exists is unchecked.
    assert_eq!(sim.get_data(&mut anon, "/sec", false), Err(NO_AUTH));
    assert_eq!(sim.set_data(&mut anon, "/sec", b"", -1), Err(NO_AUTH));
    assert_eq!(sim.create(&mut anon, "/sec/c", b"", 0), Err(NO_AUTH));
    assert_eq!(sim.children(&mut anon, "/sec", false), Err(NO_AUTH));
    let get_acl = |p: &str| Request::GetAcl { path: p.into() };
    assert_eq!(sim.call(&mut anon, get_acl("/sec")).0.err, NO_AUTH);
    assert!(sim.exists(&mut anon, "/sec", false).is_ok());
    assert_eq!(sim.get_data(&mut anon, "/pub", false).unwrap().0, b"p");
    assert_eq!(sim.set_data(&mut anon, "/pub", b"", -1), Err(NO_AUTH));

    // getACL with READ only: digest ids masked. With ADMIN: shown as stored.
    let Response::GetAcl { acl, .. } = sim.call(&mut anon, get_acl("/pub")).1 else {
        panic!()
    };
    assert_eq!(
        acl[0].id,
        Id {
            scheme: "digest".into(),
            id: "alice:x".into()
        }
    );
    let Response::GetAcl { acl, .. } = sim.call(&mut alice, get_acl("/pub")).1 else {
        panic!()
    };
    assert_eq!(acl[0].id.id, id);

    // Alice may do everything.
    assert!(sim.set_data(&mut alice, "/sec", b"s2", 0).is_ok());
    assert!(sim.create(&mut alice, "/sec/c", b"", 0).is_ok());

    // "auth" expands to the caller's authenticated ids; with none it is INVALIDACL.
    let auth_acl = vec![Acl::new(perms::ALL, "auth", "")];
    let r = sim.call(
        &mut anon,
        create_req(op::CREATE, "/a1", b"", 0, None, auth_acl.clone()),
    );
    assert_eq!(r.0.err, -114);
    let r = sim.call(
        &mut alice,
        create_req(op::CREATE, "/a2", b"", 0, None, auth_acl),
    );
    assert_eq!(r.0.err, 0);
    let Response::GetAcl { acl, .. } = sim.call(&mut alice, get_acl("/a2")).1 else {
        panic!()
    };
    assert_eq!(acl, [Acl::new(perms::ALL, "digest", &id)]);

    // The super digest bypasses every check.
    sim.add_auth_digest(&mut root, "super:test");
    assert_eq!(sim.get_data(&mut root, "/sec", false).unwrap().0, b"s2");
    assert!(sim.delete(&mut root, "/sec/c", -1).is_ok());
    let Response::WhoAmI(who) = sim.call(&mut root, Request::WhoAmI).1 else {
        panic!()
    };
    let names: Vec<(String, String)> = who.into_iter().map(|c| (c.auth_scheme, c.user)).collect();
    assert!(
        names.contains(&("super".into(), String::new())),
        "{names:?}"
    );
    assert!(
        names.contains(&("digest".into(), "super".into())),
        "{names:?}"
    );
    assert!(
        names.contains(&("ip".into(), "127.0.0.1".into())),
        "{names:?}"
    );

    // A wrong password gains a different id, not alice's.
    let mut mallory = sim.connect();
    sim.add_auth_digest(&mut mallory, "alice:guess");
    assert_eq!(sim.get_data(&mut mallory, "/sec", false), Err(NO_AUTH));

    // An unknown scheme: AUTHFAILED, then the connection closes.
    let outs = sim.request(
        &mut mallory,
        Request::Auth {
            auth_type: 0,
            scheme: "bogus".into(),
            auth: Some(vec![]),
        },
    );
    assert_eq!(trace(&outs), ["R-4:-115", "X"]);
}

/// ZooKeeperServer.processPacket answers an auth packet with `new ReplyHeader(h.getXid(), 0,
/// ...)`: the request's own xid. The Java client happens to send -4; other clients (the Rust
/// `zookeeper-client` crate) send an ordinary xid and wait for it.
#[test]
fn auth_reply_echoes_request_xid() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let auth = |user_pass: &str| Request::Auth {
        auth_type: 0,
        scheme: "digest".into(),
        auth: Some(user_pass.as_bytes().to_vec()),
    };
    sim.send_with_xid(&a, 7, auth("alice:secret"));
    assert_eq!(trace(&sim.take(a.conn)), ["R7:0"]);
    // The -4 the Java client sends is echoed too.
    sim.send_with_xid(&a, -4, auth("bob:pw"));
    assert_eq!(trace(&sim.take(a.conn)), ["R-4:0"]);
    // A failing one echoes its xid before the close.
    let bogus = Request::Auth {
        auth_type: 0,
        scheme: "bogus".into(),
        auth: Some(vec![]),
    };
    let xid = a.peek_xid();
    sim.send_with_xid(&a, xid, bogus);
    assert_eq!(
        trace(&sim.take(a.conn)),
        [format!("R{xid}:-115"), "X".to_string()]
    );
    let _ = &mut a;
}

// ---------------------------------------------------------------------------------------------
// Bad requests

#[test]
fn unknown_opcode_unimplemented_then_close() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let before = sim.engine.last_zxid();
    let xid = sim.send_bad(&mut a, 999, ErrorCode::Unimplemented);
    let outs = sim.take(a.conn);
    assert_eq!(outs.len(), 2, "{outs:?}");
    let Output::Reply { header, body, .. } = &outs[0] else {
        panic!("{outs:?}")
    };
    assert_eq!((header.xid, header.zxid, header.err), (xid, -1, -6));
    assert_eq!(body, &Response::Empty);
    assert_eq!(outs[1], Output::Close { conn: a.conn });
    assert_eq!(
        sim.engine.last_zxid(),
        before,
        "no txn for an unknown opcode"
    );
}

#[test]
fn malformed_write_consumes_zxid() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let before = sim.engine.last_zxid();
    let xid = sim.send_bad(&mut a, op::SET_DATA, ErrorCode::MarshallingError);
    let (h, body) = find_reply(&sim.take(a.conn), xid).unwrap();
    assert_eq!((h.err, h.zxid, body), (-5, before + 1, Response::Empty));
    let txn = sim.wal.last().unwrap();
    assert_eq!(
        (txn.zxid, txn.cxid, txn.session_id),
        (before + 1, xid, a.session_id)
    );
    assert_eq!(txn.body, TxnBody::Error { err: -5 });

    // A malformed read does not.
    let xid = sim.send_bad(&mut a, op::GET_DATA, ErrorCode::MarshallingError);
    let (h, _) = find_reply(&sim.take(a.conn), xid).unwrap();
    assert_eq!((h.err, h.zxid), (-5, before + 1));
    assert_eq!(sim.engine.last_zxid(), before + 1);
    // The connection stays usable.
    assert!(sim.exists(&mut a, "/", false).is_ok());
}

#[test]
fn reply_zxids_track_last_processed() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let (h, _) = sim.call(
        &mut a,
        create_req(op::CREATE, "/z", b"", 0, None, Acl::open_unsafe()),
    );
    assert_eq!(h.zxid, sim.engine.last_zxid());
    let z = h.zxid;
    let (h, _) = sim.call(
        &mut a,
        Request::GetData {
            path: "/z".into(),
            watch: false,
        },
    );
    assert_eq!(h.zxid, z, "reads carry the last processed zxid");
    let (h, body) = sim.call(&mut a, Request::Sync { path: "/z".into() });
    assert_eq!((h.err, body), (0, Response::Sync { path: "/z".into() }));
    let (h, body) = sim.call(&mut a, Request::GetAllChildrenNumber { path: "/".into() });
    assert_eq!((h.err, body), (0, Response::AllChildrenNumber(4)));
}

// ---------------------------------------------------------------------------------------------
// Replay over a fuzzy snapshot

/// Drives a workload that exercises every txn kind and returns the sim (its WAL is the log).
/// With `subtree_recreated`, a deleted node is recreated with descendants, so an overlap
/// replays the delete of a node the snapshot holds with children.
fn workload(subtree_recreated: bool) -> Sim {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let mut b = sim.connect();
    sim.create(&mut a, "/r", b"0", 0).unwrap();
    sim.create(&mut a, "/r/a", b"a", 0).unwrap();
    sim.create(&mut a, "/r/a/x", b"", 0).unwrap();
    let s = sim.create(&mut a, "/r/s-", b"", create_mode::PERSISTENT_SEQUENTIAL);
    assert_eq!(s.unwrap(), "/r/s-0000000001");
    sim.set_data(&mut a, "/r", b"1", -1).unwrap();
    sim.create(&mut b, "/r/eph", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.delete(&mut a, "/r/a/x", -1).unwrap();
    sim.delete(&mut a, "/r/a", -1).unwrap();
    assert_eq!(sim.delete(&mut a, "/r/a", -1), Err(NO_NODE));
    sim.create(&mut a, "/r/a", b"again", 0).unwrap();
    if subtree_recreated {
        sim.create(&mut a, "/r/a/y", b"", 0).unwrap();
    }
    sim.set_data(&mut a, "/r/a", b"again2", 0).unwrap();
    sim.call(
        &mut a,
        Request::SetAcl {
            path: "/r".into(),
            acl: vec![Acl::new(perms::ALL, "world", "anyone")],
            version: -1,
        },
    );
    let (_, ok) = sim.multi(
        &mut a,
        vec![
            multi_create("/r/m", b"m"),
            MultiOp::SetData {
                path: "/r/m".into(),
                data: b"m2".to_vec().into(),
                version: 0,
            },
            MultiOp::Delete {
                path: "/r/s-0000000001".into(),
                version: -1,
            },
        ],
    );
    assert!(
        ok.iter().all(|r| !matches!(r, MultiResult::Error { .. })),
        "{ok:?}"
    );
    let (_, dup) = sim.multi(&mut a, vec![multi_create("/r/m", b"dup")]);
    assert_eq!(dup, [MultiResult::Error { err: NODE_EXISTS }]);
    sim.create2(
        &mut a,
        op::CREATE_CONTAINER,
        "/c",
        create_mode::CONTAINER,
        None,
    )
    .unwrap();
    sim.create(&mut a, "/c/k", b"", 0).unwrap();
    sim.create2(
        &mut a,
        op::CREATE_TTL,
        "/t",
        create_mode::PERSISTENT_WITH_TTL,
        Some(500),
    )
    .unwrap();
    sim.delete(&mut a, "/c/k", -1).unwrap();
    sim.create(&mut b, "/r/eph2", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.request(&mut b, Request::CloseSession);
    sim.advance(2_000); // reaps /c and /t
    assert!(sim.engine.tree().get("/c").is_none());
    assert!(sim.engine.tree().get("/t").is_none());
    let mut d = sim.connect();
    sim.create(&mut d, "/r/eph", b"new owner", create_mode::EPHEMERAL)
        .unwrap();
    if subtree_recreated {
        sim.create(&mut a, "/r/a/y/z", b"", 0).unwrap();
    }
    sim.delete(&mut a, "/r/m", -1).unwrap();
    sim.create(&mut a, "/r/m", b"m3", 0).unwrap();
    check_invariants(&sim.engine);
    sim
}

fn session_ids(engine: &Engine) -> Vec<i64> {
    let mut ids: Vec<i64> = engine.sessions().iter().map(|s| s.session_id).collect();
    ids.sort();
    ids
}

/// Replays `sim`'s log from empty, and from every fuzzy snapshot (k, m), and asserts every
/// result equals the live tree.
fn assert_fuzzy_replay_converges(sim: &Sim) {
    let log = &sim.wal;
    let n = log.len();
    assert!(n > 25, "workload too small: {n}");
    let config = test_config();

    // Plain replay from empty reproduces the live tree.
    let mut full = Engine::new(config.clone(), Now::at(START_MS));
    for t in log {
        full.replay(t, Now::at(t.time_ms));
    }
    assert_trees_equal(full.tree(), sim.engine.tree(), "full replay");
    assert_eq!(full.last_zxid(), sim.engine.last_zxid());
    assert_eq!(session_ids(&full), session_ids(&sim.engine));

    // A fuzzy snapshot: serialisation began after txn k but the tree it captured already
    // held txns up to m >= k. Recovery replays k.. over it; the result must be the same.
    for k in 0..n {
        let mut fuzzy = Engine::new(config.clone(), Now::at(START_MS));
        for (m, t) in log.iter().enumerate() {
            if m >= k {
                // State after txns ..=m-1; replay from k over it.
                let snapshot: DataTree = fuzzy.tree().clone();
                let sessions: Vec<(i64, i32)> = fuzzy
                    .sessions()
                    .iter()
                    .map(|s| (s.session_id, s.timeout_ms))
                    .collect();
                let start_zxid = log[k].zxid - 1;
                let mut rec = Engine::restore(
                    config.clone(),
                    snapshot,
                    sessions,
                    start_zxid,
                    Now::at(START_MS),
                );
                for t in &log[k..] {
                    rec.replay(t, Now::at(t.time_ms));
                }
                let first = log[k].zxid;
                let upto = log[m].zxid - 1;
                let ctx = format!("snapshot holds ..={upto:#x}, replay from {first:#x}");
                assert_trees_equal(rec.tree(), full.tree(), &ctx);
                assert_eq!(session_ids(&rec), session_ids(&full), "{ctx}");
                check_invariants(&rec);
            }
            fuzzy.replay(t, Now::at(t.time_ms));
        }
    }
}

#[test]
fn replay_is_idempotent_over_fuzzy_snapshot() {
    assert_fuzzy_replay_converges(&workload(false));
}

#[test]
fn replay_recreates_subtree_deleted_in_overlap() {
    assert_fuzzy_replay_converges(&workload(true));
}

/// The smallest log showing the same divergence: snapshot = the final tree (/a with child y),
/// replay from 1. Replaying `delete /a` drops /a but leaves /a/y in the node map; replaying
/// `create /a/y` then finds the path and skips, so the new /a never lists y.
#[test]
fn replay_relinks_child_of_recreated_parent() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    sim.create(&mut a, "/a", b"", 0).unwrap();
    sim.delete(&mut a, "/a", -1).unwrap();
    sim.create(&mut a, "/a", b"", 0).unwrap();
    sim.create(&mut a, "/a/y", b"", 0).unwrap();
    let snapshot = sim.engine.tree().clone();
    let sessions = vec![(a.session_id, a.timeout_ms)];
    let mut rec = Engine::restore(test_config(), snapshot, sessions, 0, Now::at(START_MS));
    for t in &sim.wal {
        rec.replay(t, Now::at(t.time_ms));
    }
    check_invariants(&rec);
    assert_trees_equal(
        rec.tree(),
        sim.engine.tree(),
        "replay from 1 over the final tree",
    );
}

#[test]
fn replay_twice_changes_nothing() {
    let sim = workload(false);
    let mut e = Engine::new(test_config(), Now::at(START_MS));
    for t in &sim.wal {
        e.replay(t, Now::at(t.time_ms));
    }
    let once = tree_image(e.tree());
    for t in &sim.wal {
        e.replay(t, Now::at(t.time_ms));
    }
    // A second full pass passes through the same intermediate states and ends where it began.
    assert_eq!(tree_image(e.tree()), once);
}

#[test]
fn create_request_shapes_answer_as_sent() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect();
    let r = sim.call_result(
        &mut a,
        create_req(op::CREATE2, "/c2", b"dd", 0, None, Acl::open_unsafe()),
    );
    let Ok(Response::Create2 { path, stat }) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (path.as_str(), stat.data_length, stat.czxid),
        ("/c2", 2, sim.engine.last_zxid())
    );
    let req = CreateRequest {
        path: "/m".into(),
        data: vec![].into(),
        acl: Acl::open_unsafe(),
        flags: create_mode::CONTAINER,
        ttl: None,
    };
    let (h, results) = sim.multi(
        &mut a,
        vec![
            MultiOp::Create {
                opcode: op::CREATE2,
                req: CreateRequest {
                    path: "/m2".into(),
                    flags: 0,
                    ..req.clone()
                },
            },
            MultiOp::Create {
                opcode: op::CREATE_CONTAINER,
                req,
            },
        ],
    );
    assert_eq!(h.err, 0);
    assert_eq!(results[0], MultiResult::Create { path: "/m2".into() });
    assert!(matches!(&results[1], MultiResult::Create2 { path, .. } if path == "/m"));
}
