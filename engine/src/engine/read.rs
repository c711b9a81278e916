//! Reads the engine answers itself: tree reads (through `crate::read`, answered from the tree
//! as prepared; `poll_output` holds the reply until every txn before it is durable) and the
//! reads that need the session or connection: getEphemerals, whoAmI, sync.

use super::{Engine, Output};
use crate::proto::{ClientInfo, ErrorCode, Request, Response};
use crate::read::{multi_read_reply_bound, read_tree};
use crate::tree::acl;
use crate::watch::ops::WatchOp;
use crate::watch::ConnId;

impl Engine {
    fn read(&mut self, conn: ConnId, req: Request) -> Result<Response, ErrorCode> {
        match req {
            Request::GetEphemerals { prefix } => {
                let session_id = self.conns.get(&conn).map(|c| c.session_id).unwrap_or(0);
                let all = prefix.trim().is_empty() || prefix.trim() == "/";
                let paths = self
                    .tree
                    .ephemerals_of(session_id)
                    .into_iter()
                    .filter(|p| all || p.starts_with(&prefix))
                    .collect();
                Ok(Response::GetEphemerals { paths })
            }
            Request::Sync { path } => Ok(Response::Sync { path }),
            Request::WhoAmI => {
                let auth = self
                    .conns
                    .get(&conn)
                    .map(|c| c.auth.clone())
                    .unwrap_or_default();
                let infos = acl::java_hash_set_order(&auth)
                    .into_iter()
                    .map(|id| {
                        let user = match id.scheme.as_str() {
                            "digest" => id.id.split(':').next().unwrap_or("").to_string(),
                            "super" => String::new(),
                            _ => id.id.clone(),
                        };
                        ClientInfo {
                            auth_scheme: id.scheme.clone(),
                            user,
                        }
                    })
                    .collect();
                Ok(Response::WhoAmI(infos))
            }
            req => {
                let auth = self
                    .conns
                    .get(&conn)
                    .map(|c| c.auth.as_slice())
                    .unwrap_or(&[]);
                let outcome = read_tree(&self.tree, auth, self.config.skip_acl, &req);
                if let Some(w) = outcome.watch {
                    self.watch_op(conn, WatchOp::Register(w), None);
                }
                outcome.result
            }
        }
    }

    pub(super) fn handle_read(&mut self, conn: ConnId, xid: i32, req: Request) {
        if let Request::MultiRead(ops) = &req {
            if multi_read_reply_bound(&self.tree, ops) > self.config.max_reply_bytes {
                // Too large to build, and larger than a client takes: the connection closes,
                // as a ZooKeeper client drops a reply above its jute.maxbuffer.
                self.push(Output::Close { conn });
                return;
            }
        }
        let zxid = self.last_zxid;
        match self.read(conn, req) {
            Ok(body) => self.reply(conn, xid, zxid, ErrorCode::Ok, body),
            Err(e) => self.reply(conn, xid, zxid, e, Response::Empty),
        }
    }
}
