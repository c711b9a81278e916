//! Apply: the only code that changes the data tree. A committed txn changes the tree and
//! fires watches, in the order ZooKeeper's DataTree does. Replay uses the same function with
//! no watches; errors there (NODEEXISTS, NONODE over a fuzzy snapshot) are expected and
//! harmless.

use super::{Txn, TxnBody};
use crate::proto::{event, Stat, WatcherEvent};
use crate::tree::{path, DataTree};
use crate::watch::{ConnId, Table, WatchManager};
use std::collections::BTreeSet;

/// What applying one txn (or one multi sub-txn) did, for building the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Created { path: String, stat: Stat },
    Deleted,
    DataSet { stat: Stat },
    AclSet { stat: Stat },
    Checked,
    Error { err: i32 },
    SessionCreated,
    SessionClosed,
    Multi(Vec<Applied>),
}

/// Watch events produced by applying txns, in delivery order.
pub type Events = Vec<(ConnId, WatcherEvent)>;

fn fire(
    watches: &mut WatchManager,
    events: &mut Events,
    table: Table,
    p: &str,
    event_type: i32,
    suppress: Option<&BTreeSet<ConnId>>,
) -> BTreeSet<ConnId> {
    let told = watches.trigger(table, p, event_type == event::NODE_CHILDREN_CHANGED);
    for &conn in &told {
        if suppress.is_some_and(|s| s.contains(&conn)) {
            continue;
        }
        events.push((
            conn,
            WatcherEvent {
                event_type,
                state: event::STATE_SYNC_CONNECTED,
                path: p.to_string(),
            },
        ));
    }
    told
}

fn parent_key(p: &str) -> &str {
    match path::parent_of(p) {
        Some("") | None => "/",
        Some(parent) => parent,
    }
}

/// deleteNode plus its watches: NodeDeleted to data watchers, then to child watchers not
/// already told, then NodeChildrenChanged on the parent.
fn delete_and_fire(
    tree: &mut DataTree,
    watches: &mut WatchManager,
    events: &mut Events,
    p: &str,
    zxid: i64,
) -> Applied {
    match tree.delete(p, zxid) {
        Ok(()) => {
            let told = fire(watches, events, Table::Data, p, event::NODE_DELETED, None);
            fire(
                watches,
                events,
                Table::Child,
                p,
                event::NODE_DELETED,
                Some(&told),
            );
            fire(
                watches,
                events,
                Table::Child,
                parent_key(p),
                event::NODE_CHILDREN_CHANGED,
                None,
            );
            Applied::Deleted
        }
        Err(e) => Applied::Error { err: e.code() },
    }
}

fn stat_of(tree: &DataTree, p: &str) -> Stat {
    tree.get(p).map(|n| n.stat()).unwrap_or_default()
}

fn apply_body(
    tree: &mut DataTree,
    watches: &mut WatchManager,
    events: &mut Events,
    txn: &Txn,
    body: &TxnBody,
) -> Applied {
    let zxid = txn.zxid;
    match body {
        TxnBody::CreateSession { .. } => Applied::SessionCreated,
        TxnBody::CloseSession { paths_to_delete } => {
            let mut paths = paths_to_delete.clone();
            // Older logs carry no list: delete whatever the session still owns.
            if paths.is_empty() {
                paths = tree.ephemerals_of(txn.session_id);
            }
            for p in paths {
                delete_and_fire(tree, watches, events, &p, zxid);
            }
            Applied::SessionClosed
        }
        TxnBody::Create {
            path: p,
            data,
            acl,
            ephemeral_owner,
            parent_cversion,
            ..
        } => {
            let r = tree.create(
                p.clone(),
                data.clone(),
                acl,
                *ephemeral_owner,
                *parent_cversion,
                zxid,
                txn.time_ms,
            );
            match r {
                Ok(()) => {
                    fire(watches, events, Table::Data, p, event::NODE_CREATED, None);
                    fire(
                        watches,
                        events,
                        Table::Child,
                        parent_key(p),
                        event::NODE_CHILDREN_CHANGED,
                        None,
                    );
                    Applied::Created {
                        path: p.to_string(),
                        stat: stat_of(tree, p),
                    }
                }
                Err(e) => Applied::Error { err: e.code() },
            }
        }
        TxnBody::Delete { path: p, .. } => delete_and_fire(tree, watches, events, p, zxid),
        TxnBody::SetData {
            path: p,
            data,
            version,
        } => match tree.set_data(p, data.clone(), *version, zxid, txn.time_ms) {
            Ok(()) => {
                fire(
                    watches,
                    events,
                    Table::Data,
                    p,
                    event::NODE_DATA_CHANGED,
                    None,
                );
                Applied::DataSet {
                    stat: stat_of(tree, p),
                }
            }
            Err(e) => Applied::Error { err: e.code() },
        },
        TxnBody::SetAcl {
            path: p,
            acl,
            version,
        } => match tree.set_acl(p, acl, *version) {
            Ok(()) => Applied::AclSet {
                stat: stat_of(tree, p),
            },
            Err(e) => Applied::Error { err: e.code() },
        },
        TxnBody::Check { .. } => Applied::Checked,
        TxnBody::Error { err } => Applied::Error { err: *err },
        TxnBody::Multi(subs) => Applied::Multi(
            subs.iter()
                .map(|b| apply_body(tree, watches, events, txn, b))
                .collect(),
        ),
    }
}

/// Applies one committed txn. Session bookkeeping (createSession, closeSession) is the
/// caller's; this changes the tree and collects watch events.
pub fn apply(
    tree: &mut DataTree,
    watches: &mut WatchManager,
    txn: &Txn,
    events: &mut Events,
) -> Applied {
    apply_body(tree, watches, events, txn, &txn.body)
}
