//! setWatches, addWatch, checkWatches and removeWatches.

use super::{Engine, Output};
use crate::proto::{
    add_watch_mode, event, watcher_type, ErrorCode, Response, SetWatches, WatcherEvent,
};
use crate::read::WatchRequest;
use crate::watch::{ConnId, Table, ALL_MODES, STANDARD};

impl Engine {
    fn notify_now(&mut self, conn: ConnId, event_type: i32, path: &str) {
        let event = WatcherEvent {
            event_type,
            state: event::STATE_SYNC_CONNECTED,
            path: path.to_string(),
        };
        self.push(Output::Notify { conn, event });
    }

    /// `DataTree.setWatches`: what changed since `relative_zxid` fires now, before the reply;
    /// the rest is re-armed.
    pub(super) fn set_watches(&mut self, conn: ConnId, xid: i32, w: &SetWatches) {
        self.arm_watches(conn, w);
        let zxid = self.last_zxid;
        self.reply(conn, xid, zxid, ErrorCode::Ok, Response::Empty);
    }

    /// A read served elsewhere (a shard's replica, at `served_zxid`) asked for a watch.
    /// Registering it here, later, is a setWatches with that zxid: whatever changed in
    /// between fires at once, so no change after the read is missed.
    pub fn handle_watch_request(&mut self, conn: ConnId, served_zxid: i64, w: WatchRequest) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        let mut sw = SetWatches {
            relative_zxid: served_zxid,
            ..SetWatches::default()
        };
        match (w.table, w.existed) {
            (Table::Data, true) => sw.data.push(w.path),
            (Table::Data, false) => sw.exist.push(w.path),
            (Table::Child, _) => sw.child.push(w.path),
        }
        self.arm_watches(conn, &sw);
    }

    fn arm_watches(&mut self, conn: ConnId, w: &SetWatches) {
        let rel = w.relative_zxid;
        for p in &w.data {
            match self.tree.get(p).map(|n| n.mzxid) {
                None => self.notify_now(conn, event::NODE_DELETED, p),
                Some(m) if m > rel => self.notify_now(conn, event::NODE_DATA_CHANGED, p),
                Some(_) => self.watches.add(Table::Data, p, conn, STANDARD),
            }
        }
        for p in &w.exist {
            if self.tree.get(p).is_some() {
                self.notify_now(conn, event::NODE_CREATED, p);
            } else {
                self.watches.add(Table::Data, p, conn, STANDARD);
            }
        }
        for p in &w.child {
            match self.tree.get(p).map(|n| n.pzxid) {
                None => self.notify_now(conn, event::NODE_DELETED, p),
                Some(z) if z > rel => self.notify_now(conn, event::NODE_CHILDREN_CHANGED, p),
                Some(_) => self.watches.add(Table::Child, p, conn, STANDARD),
            }
        }
        for p in &w.persistent {
            self.watches.add_persistent(p, conn, false);
        }
        for p in &w.persistent_recursive {
            self.watches.add_persistent(p, conn, true);
        }
    }

    pub(super) fn add_watch(&mut self, conn: ConnId, xid: i32, path: &str, mode: i32) {
        let zxid = self.last_zxid;
        let recursive = match mode {
            add_watch_mode::PERSISTENT => false,
            add_watch_mode::PERSISTENT_RECURSIVE => true,
            _ => {
                // AddWatchMode.fromIntValue throws while the request is read.
                self.reply(
                    conn,
                    xid,
                    zxid,
                    ErrorCode::MarshallingError,
                    Response::Empty,
                );
                return;
            }
        };
        self.watches.add_persistent(path, conn, recursive);
        self.reply(
            conn,
            xid,
            zxid,
            ErrorCode::Ok,
            Response::ErrorBody { err: 0 },
        );
    }

    /// removeWatches (remove = true) and checkWatches: NOWATCHER when there is none.
    pub(super) fn remove_watches(
        &mut self,
        conn: ConnId,
        xid: i32,
        path: &str,
        kind: i32,
        remove: bool,
    ) {
        let zxid = self.last_zxid;
        let tables: &[Table] = match kind {
            watcher_type::CHILDREN => &[Table::Child],
            watcher_type::DATA => &[Table::Data],
            watcher_type::ANY => &[Table::Child, Table::Data],
            _ => {
                // WatcherType.fromInt throws while the request is read.
                self.reply(
                    conn,
                    xid,
                    zxid,
                    ErrorCode::MarshallingError,
                    Response::Empty,
                );
                return;
            }
        };
        let mut found = false;
        for &t in tables {
            // ZooKeeper 3.8 quirk (probed): checkWatches answers OK when any connection
            // watches the path; removeWatches only touches the caller's own watches.
            found |= if remove {
                self.watches.remove(t, path, conn, ALL_MODES)
            } else {
                self.watches.is_watched(t, path)
            };
        }
        let err = if found {
            ErrorCode::Ok
        } else {
            ErrorCode::NoWatcher
        };
        self.reply(conn, xid, zxid, err, Response::Empty);
    }
}
