//! Transactions: the only thing that changes the data tree, and the unit the WAL stores.
//! Shapes follow ZooKeeper's txn records (ZK-PROTOCOL.md section 10) so a ZooKeeper log can be
//! imported one day.

use crate::proto::Acl;
use std::sync::Arc;

/// Znode data as txns and trees hold it: shared bytes, or null (see `proto::Data`).
pub use crate::proto::Data;

/// One logged transaction: TxnHeader plus its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    /// TxnHeader.clientId: the session that issued it.
    pub session_id: i64,
    /// TxnHeader.cxid: the client's xid.
    pub cxid: i32,
    pub zxid: i64,
    /// Milliseconds since the epoch, from the pipeline's clock when the txn was prepared.
    pub time_ms: i64,
    pub body: TxnBody,
}

/// The txn record, by TxnHeader.type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnBody {
    /// createSession (-10): CreateSessionTxn.
    CreateSession { timeout_ms: i32 },
    /// closeSession (-11): CloseSessionTxn with the ephemerals it deletes.
    CloseSession { paths_to_delete: Vec<String> },
    /// create (1), create2 (15), createContainer (19), createTTL (21).
    /// `ephemeral_owner` is the stored owner: a session id, the container marker, or the TTL
    /// marker (see `tree::EphemeralType`). `parent_cversion` is the parent's stored cversion
    /// after this create.
    Create {
        opcode: i32,
        /// Shared: it becomes the key of the new znode in every tree that applies the txn.
        path: Arc<str>,
        data: Data,
        acl: Vec<Acl>,
        ephemeral_owner: i64,
        parent_cversion: i32,
    },
    /// delete (2) and deleteContainer (20).
    Delete { opcode: i32, path: String },
    /// setData (5): `version` is the new version.
    SetData {
        path: String,
        data: Data,
        version: i32,
    },
    /// setACL (7): `version` is the new aversion.
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// check (13), only inside a multi.
    Check { path: String, version: i32 },
    /// error (-1): a failed write still consumes a zxid.
    Error { err: i32 },
    /// multi (14). A failed multi holds only Error sub-txns.
    Multi(Vec<TxnBody>),
}

impl TxnBody {
    /// TxnHeader.type for this record.
    pub fn opcode(&self) -> i32 {
        use crate::proto::op;
        match self {
            TxnBody::CreateSession { .. } => op::CREATE_SESSION,
            TxnBody::CloseSession { .. } => op::CLOSE_SESSION,
            TxnBody::Create { opcode, .. } => *opcode,
            TxnBody::Delete { opcode, .. } => *opcode,
            TxnBody::SetData { .. } => op::SET_DATA,
            TxnBody::SetAcl { .. } => op::SET_ACL,
            TxnBody::Check { .. } => op::CHECK,
            TxnBody::Error { .. } => op::ERROR,
            TxnBody::Multi(_) => op::MULTI,
        }
    }
}
