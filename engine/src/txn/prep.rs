//! Prep: a write request becomes a txn or an error code, checked against the tree plus the
//! changes of earlier ops in the same multi (ZooKeeper's PrepRequestProcessor and its
//! ChangeRecords). Validation order follows ZooKeeper, so the same bad request gives the same
//! error.

use super::{Data, TxnBody};
use crate::limits::{CONTAINER_EPHEMERAL_OWNER, TTL_MAX_MS};
use crate::proto::{create_mode, op, perms, Acl, CreateRequest, ErrorCode, Id, MultiOp};
use crate::tree::{acl, path, DataTree, EphemeralType, CONFIG, QUOTA, ROOT, ZOOKEEPER};
use std::collections::HashMap;

/// What prep needs to know about the caller and the server.
pub struct PrepContext<'a> {
    pub session_id: i64,
    pub auth: &'a [Id],
    pub extended_types_enabled: bool,
    pub skip_acl: bool,
    pub digest_enabled: bool,
    pub x509_enabled: bool,
}

impl PrepContext<'_> {
    fn providers(&self) -> acl::Providers {
        acl::Providers {
            digest: self.digest_enabled,
            x509: self.x509_enabled,
        }
    }
}

/// The parts of a znode prep reads (ZooKeeper's ChangeRecord).
#[derive(Clone, Debug)]
struct Record {
    version: i32,
    cversion: i32,
    aversion: i32,
    num_children: i32,
    ephemeral_owner: i64,
    acl: Vec<Acl>,
}

/// The tree as prep sees it: the real tree overlaid with the changes of earlier multi ops.
pub struct PrepView<'a> {
    tree: &'a DataTree,
    changes: HashMap<String, Option<Record>>,
}

fn key(p: &str) -> &str {
    if p.is_empty() {
        ROOT
    } else {
        p
    }
}

impl<'a> PrepView<'a> {
    pub fn new(tree: &'a DataTree) -> PrepView<'a> {
        PrepView {
            tree,
            changes: HashMap::new(),
        }
    }

    fn record(&self, p: &str) -> Result<Record, ErrorCode> {
        if let Some(change) = self.changes.get(key(p)) {
            return change.clone().ok_or(ErrorCode::NoNode);
        }
        let n = self.tree.get(p).ok_or(ErrorCode::NoNode)?;
        Ok(Record {
            version: n.version,
            cversion: n.cversion,
            aversion: n.aversion,
            num_children: n.children.len() as i32,
            ephemeral_owner: n.ephemeral_owner,
            acl: self.tree.acl_of(n).to_vec(),
        })
    }

    fn exists(&self, p: &str) -> bool {
        self.record(p).is_ok()
    }

    fn set(&mut self, p: &str, r: Option<Record>) {
        self.changes.insert(key(p).to_string(), r);
    }

    /// Records the removal of `p` from `parent` and gives its txn.
    fn delete(&mut self, parent_path: &str, parent: Record, p: &str, opcode: i32) -> TxnBody {
        self.set(
            parent_path,
            Some(Record {
                num_children: parent.num_children - 1,
                ..parent
            }),
        );
        self.set(p, None);
        TxnBody::Delete {
            opcode,
            path: p.to_string(),
        }
    }
}

fn check_acl(ctx: &PrepContext, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
    acl::check_acl(acl, perm, ctx.auth, ctx.skip_acl)
}

/// `checkAndIncVersion`: -1 matches any version.
fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

fn validate(p: &str) -> Result<(), ErrorCode> {
    path::validate_path(p).map_err(|_| ErrorCode::BadArguments)
}

fn is_special(p: &str) -> bool {
    matches!(p, ROOT | ZOOKEEPER | QUOTA | CONFIG)
}

/// `getParentPathAndValidate` / `validatePathForCreate`.
fn parent_and_validate(p: &str) -> Result<&str, ErrorCode> {
    match path::parent_of(p) {
        Some(parent) if !p.contains('\0') => Ok(parent),
        _ => Err(ErrorCode::BadArguments),
    }
}

pub fn prep_create(
    view: &mut PrepView,
    ctx: &PrepContext,
    opcode: i32,
    req: &CreateRequest,
) -> Result<TxnBody, ErrorCode> {
    let flags = req.flags;
    if !(create_mode::PERSISTENT..=create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL).contains(&flags) {
        return Err(ErrorCode::BadArguments);
    }
    let is_ttl = flags == create_mode::PERSISTENT_WITH_TTL
        || flags == create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL;
    // createContainer (19) makes a container whatever its flags say (sequential still
    // applies); ZooKeeper 3.8.0 turns a plain create with flag 4 into a persistent node,
    // Ringkeeper makes it the container it asked for.
    let is_container = opcode == op::CREATE_CONTAINER || flags == create_mode::CONTAINER;
    let ttl = if opcode == op::CREATE_TTL {
        req.ttl.unwrap_or(-1)
    } else {
        -1
    };
    if is_ttl && !ctx.extended_types_enabled {
        return Err(ErrorCode::Unimplemented);
    }
    if is_ttl {
        if !(1..=TTL_MAX_MS).contains(&ttl) {
            return Err(ErrorCode::BadArguments);
        }
    } else if ttl >= 0 {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = parent_and_validate(&req.path)?;
    let fixed_acl = acl::fixup_acl(&req.acl, ctx.auth, ctx.providers())?;
    let parent = view.record(parent_path)?;
    check_acl(ctx, &parent.acl, perms::CREATE)?;
    let sequential = matches!(
        flags,
        create_mode::PERSISTENT_SEQUENTIAL
            | create_mode::EPHEMERAL_SEQUENTIAL
            | create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL
    );
    let new_path = if sequential {
        format!("{}{:010}", req.path, parent.cversion)
    } else {
        req.path.clone()
    };
    validate(&new_path)?;
    if view.exists(&new_path) {
        return Err(ErrorCode::NodeExists);
    }
    if matches!(
        EphemeralType::of(parent.ephemeral_owner),
        EphemeralType::Normal(_)
    ) {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let parent_cversion = parent.cversion.wrapping_add(1);
    let ephemeral = !is_container
        && matches!(
            flags,
            create_mode::EPHEMERAL | create_mode::EPHEMERAL_SEQUENTIAL
        );
    let ephemeral_owner = if ephemeral {
        ctx.session_id
    } else if is_container {
        CONTAINER_EPHEMERAL_OWNER
    } else if is_ttl {
        EphemeralType::ttl_owner(ttl)
    } else {
        0
    };
    let txn_opcode = if is_container {
        op::CREATE_CONTAINER
    } else if is_ttl {
        op::CREATE_TTL
    } else if opcode == op::CREATE {
        op::CREATE
    } else {
        op::CREATE2
    };
    view.set(
        parent_path,
        Some(Record {
            cversion: parent_cversion,
            num_children: parent.num_children + 1,
            ..parent
        }),
    );
    view.set(
        &new_path,
        Some(Record {
            version: 0,
            cversion: 0,
            aversion: 0,
            num_children: 0,
            ephemeral_owner,
            acl: fixed_acl.clone(),
        }),
    );
    Ok(TxnBody::Create {
        opcode: txn_opcode,
        path: new_path.into(),
        data: req.data.clone(),
        acl: fixed_acl,
        ephemeral_owner,
        parent_cversion,
    })
}

pub fn prep_delete(
    view: &mut PrepView,
    ctx: &PrepContext,
    p: &str,
    version: i32,
) -> Result<TxnBody, ErrorCode> {
    let parent_path = parent_and_validate(p)?;
    if is_special(p) {
        return Err(ErrorCode::BadArguments);
    }
    let parent = view.record(parent_path)?;
    check_acl(ctx, &parent.acl, perms::DELETE)?;
    let node = view.record(p)?;
    check_and_inc_version(node.version, version)?;
    if node.num_children > 0 {
        return Err(ErrorCode::NotEmpty);
    }
    Ok(view.delete(parent_path, parent, p, op::DELETE))
}

/// The container reaper's internal delete (deleteContainer, opcode 20).
pub fn prep_delete_container(view: &mut PrepView, p: &str) -> Result<TxnBody, ErrorCode> {
    let parent_path = parent_and_validate(p)?;
    let node = view.record(p)?;
    if node.num_children > 0 {
        return Err(ErrorCode::NotEmpty);
    }
    if matches!(
        EphemeralType::of(node.ephemeral_owner),
        EphemeralType::Normal(_)
    ) {
        return Err(ErrorCode::BadVersion);
    }
    let parent = view.record(parent_path)?;
    Ok(view.delete(parent_path, parent, p, op::DELETE_CONTAINER))
}

pub fn prep_set_data(
    view: &mut PrepView,
    ctx: &PrepContext,
    p: &str,
    data: &Data,
    version: i32,
) -> Result<TxnBody, ErrorCode> {
    validate(p)?;
    let node = view.record(p)?;
    check_acl(ctx, &node.acl, perms::WRITE)?;
    let new_version = check_and_inc_version(node.version, version)?;
    view.set(
        p,
        Some(Record {
            version: new_version,
            ..node
        }),
    );
    Ok(TxnBody::SetData {
        path: p.to_string(),
        data: data.clone(),
        version: new_version,
    })
}

pub fn prep_set_acl(
    view: &mut PrepView,
    ctx: &PrepContext,
    p: &str,
    new_acl: &[Acl],
    version: i32,
) -> Result<TxnBody, ErrorCode> {
    validate(p)?;
    let fixed = acl::fixup_acl(new_acl, ctx.auth, ctx.providers())?;
    let node = view.record(p)?;
    check_acl(ctx, &node.acl, perms::ADMIN)?;
    let new_version = check_and_inc_version(node.aversion, version)?;
    view.set(
        p,
        Some(Record {
            aversion: new_version,
            acl: fixed.clone(),
            ..node
        }),
    );
    Ok(TxnBody::SetAcl {
        path: p.to_string(),
        acl: fixed,
        version: new_version,
    })
}

pub fn prep_check(
    view: &mut PrepView,
    ctx: &PrepContext,
    p: &str,
    version: i32,
) -> Result<TxnBody, ErrorCode> {
    validate(p)?;
    let node = view.record(p)?;
    check_acl(ctx, &node.acl, perms::READ)?;
    let v = check_and_inc_version(node.version, version)?;
    Ok(TxnBody::Check {
        path: p.to_string(),
        version: v,
    })
}

pub fn prep_multi_op(
    view: &mut PrepView,
    ctx: &PrepContext,
    m: &MultiOp,
) -> Result<TxnBody, ErrorCode> {
    match m {
        MultiOp::Create { opcode, req } => prep_create(view, ctx, *opcode, req),
        MultiOp::Delete { path, version } => prep_delete(view, ctx, path, *version),
        MultiOp::SetData {
            path,
            data,
            version,
        } => prep_set_data(view, ctx, path, data, *version),
        MultiOp::Check { path, version } => prep_check(view, ctx, path, *version),
    }
}

/// A multi: all ops or none. On failure every op becomes an error sub-txn: 0 before the
/// failing op, its code at it, RUNTIMEINCONSISTENCY after it.
pub fn prep_multi(tree: &DataTree, ctx: &PrepContext, ops: &[MultiOp]) -> TxnBody {
    let mut view = PrepView::new(tree);
    let mut bodies = Vec::with_capacity(ops.len());
    for (i, m) in ops.iter().enumerate() {
        match prep_multi_op(&mut view, ctx, m) {
            Ok(b) => bodies.push(b),
            Err(e) => {
                let errs = (0..ops.len()).map(|j| {
                    let err = match j.cmp(&i) {
                        std::cmp::Ordering::Less => 0,
                        std::cmp::Ordering::Equal => e.code(),
                        std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency.code(),
                    };
                    TxnBody::Error { err }
                });
                return TxnBody::Multi(errs.collect());
            }
        }
    }
    TxnBody::Multi(bodies)
}
