//! A chain of 20,000 nested znodes, worked on from a thread with a small stack: nothing the
//! engine does may recurse once per level of the tree (a client sets the depth, not us).

mod harness;

use harness::*;
use ringkeeper_engine::proto::{add_watch_mode, create_mode, event, Request, Response};
use ringkeeper_engine::{Engine, EngineConfig};

/// Levels of the chain: Apache ZooKeeper 3.8 cannot restart after this many.
const DEPTH: usize = 20_000;

/// Small enough that recursing once per level overflows it, large enough for the engine's
/// ordinary frames in a debug build.
const SMALL_STACK: usize = 256 * 1024;

/// `/a/a/.../a`, `depth` levels.
fn chain_path(depth: usize) -> String {
    "/a".repeat(depth)
}

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn the small-stack thread")
        .join()
        .expect("the small-stack thread panicked (or overflowed its stack)");
}

#[test]
fn deep_chain_reads_watches_and_replays_on_a_small_stack() {
    on_small_stack(|| {
        let mut sim = Sim::with_defaults();
        let mut c = sim.connect();
        let mut watcher = sim.connect();
        let mut path = String::with_capacity(2 * DEPTH);
        for _ in 0..DEPTH - 1 {
            path.push_str("/a");
            sim.create(&mut c, &path, b"", 0).unwrap();
        }
        // Added once the chain is built: a recursive watch makes every event look up each
        // ancestor of its path, which at this depth is hundreds of megabytes hashed per event.
        let add = Request::AddWatch {
            path: "/".into(),
            mode: add_watch_mode::PERSISTENT_RECURSIVE,
        };
        sim.call_result(&mut watcher, add).unwrap();
        let deepest = chain_path(DEPTH);
        // A one-shot watch on the deepest node, and an ephemeral as the deepest node.
        let watched = Request::Exists {
            path: deepest.clone(),
            watch: true,
        };
        assert!(sim.call_result(&mut watcher, watched).is_err());
        sim.take_events(watcher.conn);
        sim.create(&mut c, &deepest, b"leaf", create_mode::EPHEMERAL)
            .unwrap();
        let events = sim.take_events(watcher.conn);
        let created: Vec<&str> = events
            .iter()
            .filter(|e| e.event_type == event::NODE_CREATED)
            .map(|e| e.path.as_str())
            .collect();
        // The recursive and the one-shot watch are the same connection: told once.
        assert_eq!(created, vec![deepest.as_str()]);

        let count = Request::GetAllChildrenNumber { path: "/".into() };
        // DEPTH nodes of the chain plus /zookeeper and its two children.
        assert_eq!(
            sim.call_result(&mut c, count),
            Ok(Response::AllChildrenNumber(DEPTH as i32 + 3))
        );
        let count = Request::GetAllChildrenNumber {
            path: chain_path(DEPTH / 2),
        };
        assert_eq!(
            sim.call_result(&mut c, count),
            Ok(Response::AllChildrenNumber((DEPTH - DEPTH / 2) as i32))
        );
        let eph = Request::GetEphemerals { prefix: "/".into() };
        assert_eq!(
            sim.call_result(&mut c, eph),
            Ok(Response::GetEphemerals {
                paths: vec![deepest.clone()]
            })
        );

        // The deepest node changes and goes: the recursive watch sees both.
        sim.set_data(&mut c, &deepest, b"x", -1).unwrap();
        sim.delete(&mut c, &deepest, -1).unwrap();
        let kinds: Vec<i32> = sim
            .take_events(watcher.conn)
            .iter()
            .filter(|e| e.path == deepest)
            .map(|e| e.event_type)
            .collect();
        assert_eq!(kinds, vec![event::NODE_DATA_CHANGED, event::NODE_DELETED]);

        // Replaying the log into a fresh engine (start-up without a snapshot) gives the same
        // tree, and the replica counts as deep.
        let mut replica = Engine::new(
            EngineConfig::default(),
            ringkeeper_engine::Now::at(START_MS),
        );
        for txn in &sim.wal {
            replica.replay(txn, ringkeeper_engine::Now::at(START_MS));
        }
        assert_trees_equal(sim.engine.tree(), replica.tree(), "replayed deep chain");
        assert_eq!(
            replica.tree().descendant_count("/a"),
            DEPTH - 2,
            "the chain below /a"
        );
    });
}
