//! A session that moves to another member while a write it sent through the first is still
//! on its way (issue 8, sessions move between servers). When that write commits late, the
//! new member must not take it for a later write of its own that overtook the one it waits
//! for: cxids start again with every connection (kazoo's do), so the cxids of the two
//! connections say nothing about their order. Before the fix the new member closed the
//! session's new connection.

mod harness;
mod replica_net;

use replica_net::{create, Ensemble, VOTERS};
use ringkeeper_engine::proto::{op, ConnectRequest};

#[test]
fn a_late_write_from_the_sessions_old_member_leaves_its_new_connection_open() {
    let mut ens = Ensemble::new();
    let leader = ens.elect();
    let mut followers = VOTERS.iter().copied().filter(|&v| v != leader);
    let (a, b) = (followers.next().unwrap(), followers.next().unwrap());
    ens.connect(a, 1);
    let (session_id, passwd) = ens.session_of(1);
    ens.hold_forwards_from.insert(a);
    ens.send(a, 1, vec![(10, op::CREATE, create("/late"))]);
    // The client gives up on member a and moves to b with its session; xids start again.
    let moved = ConnectRequest {
        session_id,
        passwd,
        ..ConnectRequest::new_session(30_000)
    };
    ens.connect_with(b, 2, &moved);
    ens.hold_forwards_from.insert(b);
    ens.send(b, 2, vec![(1, op::CREATE, create("/moved"))]);
    // The old write reaches the leader first and commits; then the new one.
    ens.release_held();
    let (replies, closed) = ens.replies(2);
    assert!(!closed, "the moved session's connection was closed");
    assert_eq!(replies, vec![(1, 0)], "the create through b is answered");
    for id in VOTERS {
        let tree = ens.member(id).engine().tree();
        assert!(tree.get("/late").is_some() && tree.get("/moved").is_some());
    }
}
