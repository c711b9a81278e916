//! Reads against a tree, shared by the engine and by connection shards that serve reads from
//! their own replica. Rules follow ZooKeeper's FinalRequestProcessor: exists arms a watch on a
//! missing node, getData and getChildren do not; getACL needs READ or ADMIN and masks digests
//! without ADMIN; watch flags inside multiRead are ignored.

use crate::proto::{perms, ErrorCode, Id, MultiReadOp, MultiResult, Request, Response};
use crate::tree::{acl, DataTree};
use crate::watch::Table;

/// A watch a read asks for: which table and path, and whether the node existed when the
/// read was served (that decides how a later registration checks for missed changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchRequest {
    pub table: Table,
    pub path: String,
    pub existed: bool,
}

/// The answer to a read and the watch it arms, if any.
pub struct ReadOutcome {
    pub result: Result<Response, ErrorCode>,
    pub watch: Option<WatchRequest>,
}

/// Can this request be answered by `read_tree` alone (no session or connection state)?
pub fn is_tree_read(req: &Request) -> bool {
    matches!(
        req,
        Request::Exists { .. }
            | Request::GetData { .. }
            | Request::GetChildren { .. }
            | Request::GetAcl { .. }
            | Request::GetAllChildrenNumber { .. }
            | Request::MultiRead(_)
    )
}

/// Bytes of a multi header and a Stat, the fixed part of each multiRead result.
const MULTI_RESULT_FIXED_BYTES: usize = 4 + 1 + 4 + 68;

/// An upper bound on the bytes the reply to a multiRead takes, from the nodes it names
/// (ACLs unchecked, so it may count data the reply will not hold). One 1 MiB request holds
/// about 80,000 getData sub-ops: of a 1 MiB znode, their reply would be 80 GB, which a server
/// must refuse before building it. Each op costs one lookup.
pub fn multi_read_reply_bound(tree: &DataTree, ops: &[MultiReadOp]) -> usize {
    let mut bytes = 4 + 1 + 4;
    for o in ops {
        bytes += MULTI_RESULT_FIXED_BYTES;
        bytes += match o {
            MultiReadOp::GetData { path } => tree.get(path).map_or(0, |n| 4 + n.data.len()),
            MultiReadOp::GetChildren { path } => tree.children(path).map_or(0, |c| c.wire_len()),
        };
    }
    bytes
}

fn check(
    tree: &DataTree,
    auth: &[Id],
    skip_acl: bool,
    path: &str,
    perm: i32,
) -> Result<(), ErrorCode> {
    let node = tree.get(path).ok_or(ErrorCode::NoNode)?;
    acl::check_acl(tree.acl_of(node), perm, auth, skip_acl)
}

fn read_result(
    tree: &DataTree,
    auth: &[Id],
    skip_acl: bool,
    req: &Request,
) -> Result<Response, ErrorCode> {
    match req {
        Request::Exists { path, .. } => {
            if path.contains('\0') {
                return Err(ErrorCode::BadArguments);
            }
            tree.get(path)
                .map(|n| Response::Stat(n.stat()))
                .ok_or(ErrorCode::NoNode)
        }
        Request::GetData { path, .. } => {
            check(tree, auth, skip_acl, path, perms::READ)?;
            let n = tree.get(path).ok_or(ErrorCode::NoNode)?;
            Ok(Response::GetData {
                data: n.data.clone(),
                stat: n.stat(),
            })
        }
        Request::GetChildren {
            path, with_stat, ..
        } => {
            check(tree, auth, skip_acl, path, perms::READ)?;
            let n = tree.get(path).ok_or(ErrorCode::NoNode)?;
            let children = tree.children(path).unwrap_or_default();
            Ok(if *with_stat {
                Response::GetChildren2 {
                    children,
                    stat: n.stat(),
                }
            } else {
                Response::GetChildren { children }
            })
        }
        Request::GetAcl { path } => {
            check(tree, auth, skip_acl, path, acl::GET_ACL_PERMS)?;
            let n = tree.get(path).ok_or(ErrorCode::NoNode)?;
            let list = tree.acl_of(n);
            let admin = check(tree, auth, skip_acl, path, perms::ADMIN).is_ok();
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
            check(tree, auth, skip_acl, path, perms::READ)?;
            Ok(Response::AllChildrenNumber(
                tree.descendant_count(path) as i32
            ))
        }
        Request::MultiRead(ops) => {
            let results = ops
                .iter()
                .map(|o| {
                    let sub = match o {
                        MultiReadOp::GetData { path } => Request::GetData {
                            path: path.clone(),
                            watch: false,
                        },
                        MultiReadOp::GetChildren { path } => Request::GetChildren {
                            path: path.clone(),
                            watch: false,
                            with_stat: false,
                        },
                    };
                    match read_result(tree, auth, skip_acl, &sub) {
                        Ok(Response::GetData { data, stat }) => MultiResult::GetData { data, stat },
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

/// Answers a tree read for a caller with `auth` ids.
pub fn read_tree(tree: &DataTree, auth: &[Id], skip_acl: bool, req: &Request) -> ReadOutcome {
    let result = read_result(tree, auth, skip_acl, req);
    let watch = match req {
        // exists arms its watch whether or not the node is there (not on a bad path).
        Request::Exists { path, watch: true } if result != Err(ErrorCode::BadArguments) => {
            Some(WatchRequest {
                table: Table::Data,
                path: path.clone(),
                existed: result.is_ok(),
            })
        }
        Request::GetData { path, watch: true } if result.is_ok() => Some(WatchRequest {
            table: Table::Data,
            path: path.clone(),
            existed: true,
        }),
        Request::GetChildren {
            path, watch: true, ..
        } if result.is_ok() => Some(WatchRequest {
            table: Table::Child,
            path: path.clone(),
            existed: true,
        }),
        _ => None,
    };
    ReadOutcome { result, watch }
}
