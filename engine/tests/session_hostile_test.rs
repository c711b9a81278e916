//! Sessions against a hostile world: the wall clock stepping under the server, and a session
//! owning more ephemeral bytes than one log record can hold.
//!
//! Method: the virtual-clock harness, with the wall clock stepped apart from the monotonic
//! one; the txns the engine hands to the "WAL" are encoded with the real txn codec, and a
//! second tree that applies the logged txns must end equal to the engine's.

mod harness;

use harness::*;
use ringkeeper_engine::proto::{create_mode, encode_txn, event};
use ringkeeper_engine::tree::DataTree;
use ringkeeper_engine::txn::{apply, TxnBody};
use ringkeeper_engine::watch::WatchManager;

/// A forward step of the wall clock (an hour) does not expire a session: ZooKeeper measures
/// session time on a monotonic clock.
#[test]
fn wall_clock_step_forward_expires_no_session() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect_timeout(4_000);
    sim.create(&mut a, "/lock", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.step_wall_clock(3_600_000);
    sim.advance(2_000);
    assert!(
        sim.engine.tree().get("/lock").is_some(),
        "a wall clock step expired the session"
    );
    assert!(sim.engine.sessions().is_live(a.session_id));
    // Its own timeout still applies, counted on the monotonic clock.
    sim.advance(4_000);
    assert!(sim.engine.tree().get("/lock").is_none());
    assert!(sim.engine.sessions().get(a.session_id).is_none());
    check_invariants(&sim.engine);
}

/// A backward step does not keep a dead session alive.
#[test]
fn wall_clock_step_back_delays_no_expiry() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect_timeout(4_000);
    sim.create(&mut a, "/lock", b"", create_mode::EPHEMERAL)
        .unwrap();
    sim.step_wall_clock(-3_600_000);
    sim.advance(6_000);
    assert!(
        sim.engine.tree().get("/lock").is_none(),
        "a backward wall clock step kept the session alive"
    );
    check_invariants(&sim.engine);
}

/// znode times and TTL ages stay on the wall clock, as in ZooKeeper: a TTL node whose mtime
/// is older than its TTL by the wall clock is reaped.
#[test]
fn znode_times_follow_the_wall_clock() {
    let mut config = test_config();
    config.extended_types_enabled = true;
    config.container_check_interval_ms = 1_000;
    let mut sim = Sim::new(config);
    let mut a = sim.connect();
    sim.step_wall_clock(86_400_000);
    sim.create(&mut a, "/t", b"", create_mode::PERSISTENT)
        .unwrap();
    let st = sim.exists(&mut a, "/t", false).unwrap();
    assert_eq!(st.ctime, sim.now().wall_ms);
    assert_ne!(st.ctime, sim.now().elapsed_ms);
}

/// closeSession does not carry the session's ephemeral paths: 80 ephemerals with 900 KiB
/// names (72 MiB of paths) used to make one record above the log's 64 MiB limit, and the
/// server exited at every restart when the session expired again.
#[test]
fn close_session_txn_stays_small_with_huge_ephemerals() {
    let mut sim = Sim::with_defaults();
    let mut a = sim.connect_timeout(4_000);
    let mut w = sim.connect();
    let long = "n".repeat(900 * 1024);
    let mut paths = Vec::new();
    for i in 0..80 {
        let p = format!("/{i:02}{long}");
        sim.create(&mut a, &p, b"", create_mode::EPHEMERAL).unwrap();
        paths.push(p);
    }
    sim.exists(&mut w, &paths[79], true).unwrap();
    sim.advance(6_000);
    assert_eq!(sim.engine.tree().ephemerals_of(a.session_id).len(), 0);
    for p in &paths {
        assert!(sim.engine.tree().get(p).is_none());
    }
    assert_eq!(
        events_of(&sim.take(w.conn)),
        [(event::NODE_DELETED, paths[79].clone())]
    );

    let close = sim.wal.last().unwrap();
    assert!(matches!(close.body, TxnBody::CloseSession { .. }));
    let mut bytes = Vec::new();
    encode_txn(close, &mut bytes);
    assert!(
        bytes.len() < 64,
        "closeSession record is {} bytes",
        bytes.len()
    );

    // A replica applying the logged txns (as a shard or a replay does) ends equal.
    let mut replica = DataTree::new();
    let mut no_watches = WatchManager::default();
    for t in &sim.wal {
        apply(&mut replica, &mut no_watches, t, &mut Vec::new());
    }
    assert_trees_equal(sim.engine.tree(), &replica, "replica after closeSession");
    check_invariants(&sim.engine);
}
