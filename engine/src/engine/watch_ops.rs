//! setWatches, addWatch, checkWatches and removeWatches, and the watches reads arm.
//!
//! With `EngineConfig::watches_at_shards` the engine keeps no watches: it hands each watch
//! request to the connection's shard as `Output::Watch`, in its place in the output stream,
//! and the shard performs it and answers.

use super::{Engine, Output};
use crate::proto::{add_watch_mode, watcher_type, ErrorCode, Response, SetWatches};
use crate::watch::ops::{perform, WatchOp};
use crate::watch::{ConnId, Table};

impl Engine {
    /// Performs `op` here, or hands it to the shard. `reply_xid`: the request to answer.
    pub(super) fn watch_op(&mut self, conn: ConnId, op: WatchOp, reply_xid: Option<i32>) {
        let zxid = self.last_zxid;
        if self.config.watches_at_shards {
            let reply = reply_xid.map(|xid| (xid, zxid));
            self.push(Output::Watch { conn, op, reply });
            return;
        }
        let done = perform(&self.tree, &mut self.watches, conn, &op, &|_, _| false);
        for event in done.events {
            self.push(Output::Notify { conn, event });
        }
        if let Some(xid) = reply_xid {
            self.reply(conn, xid, zxid, done.err, done.body);
        }
    }

    /// `DataTree.setWatches`: what changed since `relative_zxid` fires now, before the reply;
    /// the rest is re-armed.
    pub(super) fn set_watches(&mut self, conn: ConnId, xid: i32, w: &SetWatches) {
        self.watch_op(conn, WatchOp::Set(w.clone()), Some(xid));
    }

    pub(super) fn add_watch(&mut self, conn: ConnId, xid: i32, path: &str, mode: i32) {
        let recursive = match mode {
            add_watch_mode::PERSISTENT => false,
            add_watch_mode::PERSISTENT_RECURSIVE => true,
            _ => {
                // AddWatchMode.fromIntValue throws while the request is read.
                let zxid = self.last_zxid;
                let err = ErrorCode::MarshallingError;
                self.reply(conn, xid, zxid, err, Response::Empty);
                return;
            }
        };
        let path = path.to_string();
        self.watch_op(conn, WatchOp::AddPersistent { path, recursive }, Some(xid));
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
        let tables = match kind {
            watcher_type::CHILDREN => vec![Table::Child],
            watcher_type::DATA => vec![Table::Data],
            watcher_type::ANY => vec![Table::Child, Table::Data],
            _ => {
                // WatcherType.fromInt throws while the request is read.
                let zxid = self.last_zxid;
                let err = ErrorCode::MarshallingError;
                self.reply(conn, xid, zxid, err, Response::Empty);
                return;
            }
        };
        let path = path.to_string();
        let op = WatchOp::Remove {
            path,
            tables,
            remove,
        };
        self.watch_op(conn, op, Some(xid));
    }
}
