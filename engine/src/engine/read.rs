//! Reads, answered from the tree as prepared; `poll_output` holds the reply until every txn
//! before it is durable. Watch rules follow ZooKeeper's FinalRequestProcessor: exists arms a
//! watch on a missing node, getData and getChildren do not.

use super::Engine;
use crate::proto::{perms, ClientInfo, ErrorCode, MultiReadOp, MultiResult, Request, Response};
use crate::tree::acl;
use crate::watch::{ConnId, Table, STANDARD};

impl Engine {
    fn check_read_acl(&self, conn: ConnId, path: &str, perm: i32) -> Result<(), ErrorCode> {
        let node = self.tree.get(path).ok_or(ErrorCode::NoNode)?;
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.as_slice())
            .unwrap_or(&[]);
        acl::check_acl(self.tree.acl_of(node), perm, auth, self.config.skip_acl)
    }

    fn read(&mut self, conn: ConnId, req: Request) -> Result<Response, ErrorCode> {
        match req {
            Request::Exists { path, watch } => {
                if path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                if watch {
                    self.watches.add(Table::Data, &path, conn, STANDARD);
                }
                self.tree
                    .get(&path)
                    .map(|n| Response::Stat(n.stat()))
                    .ok_or(ErrorCode::NoNode)
            }
            Request::GetData { path, watch } => {
                self.check_read_acl(conn, &path, perms::READ)?;
                if watch {
                    self.watches.add(Table::Data, &path, conn, STANDARD);
                }
                let n = self.tree.get(&path).ok_or(ErrorCode::NoNode)?;
                Ok(Response::GetData {
                    data: n.data.clone(),
                    stat: n.stat(),
                })
            }
            Request::GetChildren {
                path,
                watch,
                with_stat,
            } => {
                self.check_read_acl(conn, &path, perms::READ)?;
                if watch {
                    self.watches.add(Table::Child, &path, conn, STANDARD);
                }
                let n = self.tree.get(&path).ok_or(ErrorCode::NoNode)?;
                let children = n.children.iter().map(|c| c.to_string()).collect();
                Ok(if with_stat {
                    Response::GetChildren2 {
                        children,
                        stat: n.stat(),
                    }
                } else {
                    Response::GetChildren { children }
                })
            }
            Request::GetAcl { path } => {
                self.check_read_acl(conn, &path, acl::GET_ACL_PERMS)?;
                let n = self.tree.get(&path).ok_or(ErrorCode::NoNode)?;
                let list = self.tree.acl_of(n);
                let admin = self.check_read_acl(conn, &path, perms::ADMIN).is_ok();
                let acl = if admin {
                    list.to_vec()
                } else {
                    acl::mask_digests(list)
                };
                Ok(Response::GetAcl {
                    acl,
                    stat: n.stat(),
                })
            }
            Request::GetAllChildrenNumber { path } => {
                self.check_read_acl(conn, &path, perms::READ)?;
                Ok(Response::AllChildrenNumber(
                    self.tree.descendant_count(&path) as i32,
                ))
            }
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
                    .cloned()
                    .map(|id| {
                        let user = match id.scheme.as_str() {
                            "digest" => id.id.split(':').next().unwrap_or("").to_string(),
                            "super" => String::new(),
                            _ => id.id,
                        };
                        ClientInfo {
                            auth_scheme: id.scheme,
                            user,
                        }
                    })
                    .collect();
                Ok(Response::WhoAmI(infos))
            }
            Request::MultiRead(ops) => {
                let results = ops
                    .into_iter()
                    .map(|o| {
                        let r = match o {
                            MultiReadOp::GetData { path } => {
                                self.read(conn, Request::GetData { path, watch: false })
                            }
                            MultiReadOp::GetChildren { path } => self.read(
                                conn,
                                Request::GetChildren {
                                    path,
                                    watch: false,
                                    with_stat: false,
                                },
                            ),
                        };
                        match r {
                            Ok(Response::GetData { data, stat }) => {
                                MultiResult::GetData { data, stat }
                            }
                            Ok(Response::GetChildren { children }) => {
                                MultiResult::GetChildren { children }
                            }
                            Ok(_) => MultiResult::Error {
                                err: ErrorCode::SystemError.code(),
                            },
                            Err(e) => MultiResult::Error { err: e.code() },
                        }
                    })
                    .collect();
                Ok(Response::Multi(results))
            }
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    pub(super) fn handle_read(&mut self, conn: ConnId, xid: i32, req: Request) {
        let zxid = self.last_zxid;
        match self.read(conn, req) {
            Ok(body) => self.reply(conn, xid, zxid, ErrorCode::Ok, body),
            Err(e) => self.reply(conn, xid, zxid, e, Response::Empty),
        }
    }
}
