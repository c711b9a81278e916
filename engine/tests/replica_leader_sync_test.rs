//! A leader's `sync` goes through Raft's ReadIndex (issue 8). Goals: a leader deposed without
//! knowing it yet never answers a sync (and the scenario catches a leader that answers syncs
//! from its own tree); on a healthy leader, a sync keeps its place in the session's order.
//!
//! Method for the first: three voters and an Observer on a lossless network with instant disks. Voter 2
//! asks to lead (`rqld`); the moment the leader's MsgTimeoutNow reaches it, the old leader
//! is cut off from every member (its clients still reach it). Voter 2 wins the election at
//! once and a client's create is acknowledged there. A client of the old leader, which has
//! not heard of the new term and still leads, then sends sync and a read of that znode. With
//! ReadIndex the sync is never answered (no quorum acknowledges the old leader's heartbeat);
//! the connection closes when the old leader steps down. With syncs answered locally the
//! read misses the acknowledged create.

mod harness;
mod replica_net;

use replica_net::{create, Ensemble, VOTERS};
use ringkeeper_engine::proto::{op, Request};
use ringkeeper_engine::replica::Role;

fn get_data(path: &str) -> Request {
    Request::GetData {
        path: path.into(),
        watch: false,
    }
}

/// Runs the scenario; `local_syncs` makes the old leader answer syncs without a ReadIndex.
/// Returns what the old leader's client got for its sync (xid 10) and read (xid 11).
fn deposed_leader_scenario(local_syncs: bool) -> (Vec<(i32, i32)>, bool) {
    let mut ens = Ensemble::new();
    let old = ens.elect();
    let new = *VOTERS.iter().find(|&&v| v != old).expect("another voter");
    let (on_old, on_new) = (1, 2);
    ens.connect(old, on_old);
    ens.connect(new, on_new);

    ens.isolate_on_timeout_now = true;
    assert!(ens.member(new).request_leadership(), "rqld on a follower");
    ens.pump();
    assert!(ens.isolated.contains(&old), "no MsgTimeoutNow went out");
    assert_eq!(ens.leader(), Some(new), "member {new} leads after rqld");
    let m = ens.member(old);
    assert_eq!(
        m.role(),
        Role::Leading,
        "the old leader has not heard of the new term"
    );
    if local_syncs {
        m.engine_mut().set_sync_by_read_index(false);
    }

    ens.send(new, on_new, vec![(1, op::CREATE, create("/x"))]);
    assert_eq!(ens.replies(on_new).0, vec![(1, 0)], "create acknowledged");

    let sync = Request::Sync { path: "/".into() };
    let read = (11, op::GET_DATA, get_data("/x"));
    ens.send(old, on_old, vec![(10, op::SYNC, sync), read]);
    // Until the old leader finds it has no quorum (check-quorum, within two election
    // timeouts), then a little more.
    for _ in 0..30 {
        ens.tick();
    }
    assert_ne!(
        ens.member(old).role(),
        Role::Leading,
        "the old leader stepped down"
    );
    ens.replies(on_old)
}

#[test]
fn deposed_leader_never_answers_sync() {
    let (replies, closed) = deposed_leader_scenario(false);
    assert_eq!(replies, vec![], "sync answered by a deposed leader");
    assert!(closed, "the client of the deposed leader is disconnected");
}

/// The same scenario with the old leader's syncs answered from its tree reads stale data:
/// the scenario above would catch a leader that skipped the ReadIndex.
#[test]
fn deposed_leader_answering_sync_locally_reads_stale_data() {
    let (replies, _) = deposed_leader_scenario(true);
    let no_node = -101;
    assert_eq!(replies, vec![(10, 0), (11, no_node)], "a stale read");
}

/// On a healthy leader, a pipelined create, sync, create and read are answered in order and
/// without a tick (the create queued behind the sync is prepared once the sync is answered,
/// and proposed with the member's next flush or drive).
#[test]
fn leader_sync_keeps_the_session_order() {
    let mut ens = Ensemble::new();
    let leader = ens.elect();
    ens.connect(leader, 1);
    let sync = Request::Sync { path: "/".into() };
    ens.send(
        leader,
        1,
        vec![
            (1, op::CREATE, create("/a")),
            (2, op::SYNC, sync),
            (3, op::CREATE, create("/b")),
            (4, op::GET_DATA, get_data("/b")),
        ],
    );
    assert_eq!(
        ens.replies(1),
        (vec![(1, 0), (2, 0), (3, 0), (4, 0)], false)
    );
}
