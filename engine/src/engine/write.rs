//! Writes: prep, commit (zxid, apply, WAL), reply. A failed write still consumes a zxid and
//! is logged as an error txn, as in ZooKeeper.

use super::Engine;
use crate::proto::{create_mode, op, ErrorCode, Id, MultiOp, MultiResult, Request, Response};
use crate::txn::prep::{self, PrepContext, PrepView};
use crate::txn::{Applied, TxnBody};
use crate::watch::ConnId;
use crate::Now;

impl Engine {
    pub(super) fn handle_write(
        &mut self,
        conn: ConnId,
        session_id: i64,
        xid: i32,
        req: Request,
        now: Now,
    ) {
        assert!(!self.forwarding, "a forwarding server prepared a write");
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default();
        let (zxid, applied) = self.prep_and_commit(session_id, xid, &auth, &req, now);
        let (err, resp) = response_for(&req, applied);
        self.reply(conn, xid, zxid, err, resp);
    }

    /// Prep (checked against the tree, which holds every txn prepared so far) and commit: a
    /// request that fails prep still consumes a zxid as an error txn, as in ZooKeeper.
    pub(super) fn prep_and_commit(
        &mut self,
        session_id: i64,
        xid: i32,
        auth: &[Id],
        req: &Request,
        now: Now,
    ) -> (i64, Applied) {
        let ctx = PrepContext {
            session_id,
            auth,
            extended_types_enabled: self.config.extended_types_enabled,
            skip_acl: self.config.skip_acl,
            digest_enabled: self.config.digest_enabled,
            x509_enabled: self.config.x509_enabled,
        };
        let mut view = PrepView::new(&self.tree);
        let prepped: Result<TxnBody, ErrorCode> = match req {
            Request::Create { opcode, req } => prep::prep_create(&mut view, &ctx, *opcode, req),
            Request::Delete { path, version } => prep::prep_delete(&mut view, &ctx, path, *version),
            Request::SetData {
                path,
                data,
                version,
            } => prep::prep_set_data(&mut view, &ctx, path, data, *version),
            Request::SetAcl { path, acl, version } => {
                prep::prep_set_acl(&mut view, &ctx, path, acl, *version)
            }
            Request::Check { path, version } => prep::prep_check(&mut view, &ctx, path, *version),
            Request::Multi(ops) => Ok(prep::prep_multi(&self.tree, &ctx, ops)),
            Request::Reconfig { .. } => Err(if self.config.reconfig_enabled {
                ErrorCode::Unimplemented
            } else {
                ErrorCode::ReconfigDisabled
            }),
            _ => Err(ErrorCode::BadArguments),
        };
        match prepped {
            Ok(body) => self.commit(session_id, xid, now, body),
            Err(err) => {
                let (zxid, _) =
                    self.commit(session_id, xid, now, TxnBody::Error { err: err.code() });
                (zxid, Applied::Error { err: err.code() })
            }
        }
    }
}

/// Does this create sub-op answer as Create2 inside a multi? ZooKeeper rebuilds each create
/// from its flags: containers and TTL nodes answer as type 15, the rest as plain create.
fn multi_create_has_stat(m: &MultiOp) -> bool {
    match m {
        MultiOp::Create { req, .. } => matches!(
            req.flags,
            create_mode::CONTAINER
                | create_mode::PERSISTENT_WITH_TTL
                | create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL
        ),
        _ => false,
    }
}

fn multi_result(m: &MultiOp, a: Applied) -> MultiResult {
    match a {
        Applied::Created { path, stat } if multi_create_has_stat(m) => {
            MultiResult::Create2 { path, stat }
        }
        Applied::Created { path, .. } => MultiResult::Create { path },
        Applied::Deleted => MultiResult::Delete,
        Applied::DataSet { stat } => MultiResult::SetData { stat },
        Applied::Checked => MultiResult::Check,
        Applied::Error { err } => MultiResult::Error { err },
        _ => MultiResult::Error {
            err: ErrorCode::RuntimeInconsistency.code(),
        },
    }
}

pub(super) fn response_for(req: &Request, applied: Applied) -> (ErrorCode, Response) {
    match (req, applied) {
        (_, Applied::Error { err }) => (ErrorCode::from_code(err), Response::Empty),
        (Request::Create { opcode, .. }, Applied::Created { path, stat }) => {
            if *opcode == op::CREATE {
                (ErrorCode::Ok, Response::Create { path })
            } else {
                (ErrorCode::Ok, Response::Create2 { path, stat })
            }
        }
        (Request::SetData { .. }, Applied::DataSet { stat }) => {
            (ErrorCode::Ok, Response::Stat(stat))
        }
        (Request::SetAcl { .. }, Applied::AclSet { stat }) => (ErrorCode::Ok, Response::Stat(stat)),
        (Request::Multi(ops), Applied::Multi(results)) => {
            let results = ops
                .iter()
                .zip(results)
                .map(|(m, a)| multi_result(m, a))
                .collect();
            (ErrorCode::Ok, Response::Multi(results))
        }
        (_, _) => (ErrorCode::Ok, Response::Empty),
    }
}
