//! Each shard's watches: the shard alone changes them, on its own core, as it applies the
//! committed-txn stream. They sit behind a mutex only so that the rare readers from other
//! cores (the pipeline answering `wchs`/`wchc`/`wchp`/`mntr`, another shard answering
//! checkWatches, which looks at every connection) can look; the lock is uncontended
//! otherwise. Nobody holds two of these locks at once.

use ringkeeper_engine::watch::{ConnId, Table, WatchManager};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

pub type ShardWatches = Arc<Mutex<WatchManager>>;

/// A panic elsewhere while holding the lock cannot leave a watch table half-changed in a way
/// that matters more than losing the server, so a poisoned lock is simply taken.
pub fn lock(w: &ShardWatches) -> MutexGuard<'_, WatchManager> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

/// Does a connection of any shard but `except` watch `path` in table `t`?
pub fn watched_elsewhere(all: &[ShardWatches], except: usize, t: Table, path: &str) -> bool {
    all.iter()
        .enumerate()
        .any(|(i, w)| i != except && lock(w).is_watched(t, path))
}

/// What the watch four-letter words report, over every shard.
pub struct WatchReport {
    pub paths_by_conn: BTreeMap<ConnId, BTreeSet<String>>,
    pub conns_by_path: BTreeMap<String, BTreeSet<ConnId>>,
    pub count: usize,
}

pub fn report(all: &[ShardWatches]) -> WatchReport {
    let mut r = WatchReport {
        paths_by_conn: BTreeMap::new(),
        conns_by_path: BTreeMap::new(),
        count: 0,
    };
    for w in all {
        let w = lock(w);
        r.count += w.watch_count();
        for (c, paths) in w.paths_by_conn() {
            r.paths_by_conn.entry(c).or_default().extend(paths);
        }
        for (p, conns) in w.conns_by_path() {
            r.conns_by_path.entry(p).or_default().extend(conns);
        }
    }
    r
}

/// The total watch count over every shard (mntr's watch_count), without building the maps.
pub fn count(all: &[ShardWatches]) -> usize {
    all.iter().map(|w| lock(w).watch_count()).sum()
}
