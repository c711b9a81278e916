//! The watch requests that need a connection's watches and a view of the tree: a watch a
//! read asked for, setWatches, addWatch, removeWatches and checkWatches. Whoever owns the
//! connection's watches performs them: the engine itself, or, in a server whose connection
//! shards fire their own watches, the shard, at the point of its committed-txn stream where
//! its replica equals the tree the engine saw.

use super::{ConnId, Table, WatchManager, ALL_MODES, STANDARD};
use crate::proto::{event, ErrorCode, Response, SetWatches, WatcherEvent};
use crate::read::WatchRequest;
use crate::tree::DataTree;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchOp {
    /// A read armed a watch (answered by its own reply).
    Register(WatchRequest),
    /// setWatches / setWatches2 after a reconnect.
    Set(SetWatches),
    /// addWatch, persistent or persistent-recursive.
    AddPersistent { path: String, recursive: bool },
    /// removeWatches (`remove`) or checkWatches, over these tables.
    Remove {
        path: String,
        tables: Vec<Table>,
        remove: bool,
    },
}

/// What performing a `WatchOp` produced: events to send the connection now, before the
/// reply, and the reply's error code and body.
pub struct WatchOpResult {
    pub events: Vec<WatcherEvent>,
    pub err: ErrorCode,
    pub body: Response,
}

fn event_now(event_type: i32, path: &str) -> WatcherEvent {
    WatcherEvent {
        event_type,
        state: event::STATE_SYNC_CONNECTED,
        path: path.to_string(),
    }
}

/// `DataTree.setWatches`: what changed since `relative_zxid` fires now; the rest is armed.
fn arm(
    tree: &DataTree,
    watches: &mut WatchManager,
    conn: ConnId,
    w: &SetWatches,
) -> Vec<WatcherEvent> {
    let rel = w.relative_zxid;
    let mut events = Vec::new();
    for p in &w.data {
        match tree.get(p).map(|n| n.mzxid) {
            None => events.push(event_now(event::NODE_DELETED, p)),
            Some(m) if m > rel => events.push(event_now(event::NODE_DATA_CHANGED, p)),
            Some(_) => watches.add(Table::Data, p, conn, STANDARD),
        }
    }
    for p in &w.exist {
        if tree.get(p).is_some() {
            events.push(event_now(event::NODE_CREATED, p));
        } else {
            watches.add(Table::Data, p, conn, STANDARD);
        }
    }
    for p in &w.child {
        match tree.get(p).map(|n| n.pzxid) {
            None => events.push(event_now(event::NODE_DELETED, p)),
            Some(z) if z > rel => events.push(event_now(event::NODE_CHILDREN_CHANGED, p)),
            Some(_) => watches.add(Table::Child, p, conn, STANDARD),
        }
    }
    for p in &w.persistent {
        watches.add_persistent(p, conn, false);
    }
    for p in &w.persistent_recursive {
        watches.add_persistent(p, conn, true);
    }
    events
}

/// Performs `op` for `conn`. `watched_elsewhere` says whether a connection whose watches
/// live in another manager watches a path (checkWatches looks at every connection).
pub fn perform(
    tree: &DataTree,
    watches: &mut WatchManager,
    conn: ConnId,
    op: &WatchOp,
    watched_elsewhere: &dyn Fn(Table, &str) -> bool,
) -> WatchOpResult {
    let ok = |events| WatchOpResult {
        events,
        err: ErrorCode::Ok,
        body: Response::Empty,
    };
    match op {
        WatchOp::Register(w) => {
            watches.add(w.table, &w.path, conn, STANDARD);
            ok(Vec::new())
        }
        WatchOp::Set(w) => ok(arm(tree, watches, conn, w)),
        WatchOp::AddPersistent { path, recursive } => {
            watches.add_persistent(path, conn, *recursive);
            WatchOpResult {
                events: Vec::new(),
                err: ErrorCode::Ok,
                body: Response::ErrorBody { err: 0 },
            }
        }
        WatchOp::Remove {
            path,
            tables,
            remove,
        } => {
            let mut found = false;
            for &t in tables {
                // ZooKeeper 3.8 quirk (probed): checkWatches answers OK when any connection
                // watches the path; removeWatches only touches the caller's own watches.
                found |= if *remove {
                    watches.remove(t, path, conn, ALL_MODES)
                } else {
                    watches.is_watched(t, path) || watched_elsewhere(t, path)
                };
            }
            WatchOpResult {
                events: Vec::new(),
                err: if found {
                    ErrorCode::Ok
                } else {
                    ErrorCode::NoWatcher
                },
                body: Response::Empty,
            }
        }
    }
}
