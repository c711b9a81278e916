//! One znode as a sequential object, for the linearizability checker: a register with
//! ZooKeeper's version (`Stat.version`), which a create sets to 0, each setData raises by one
//! and a delete removes with the znode. Data is a write's number, so a read names the write it
//! saw. The outcomes are DataTree's: a versioned setData or delete checks existence first
//! (NONODE) and the version second (BADVERSION); -1 matches any version.

use super::lincheck::Model;
use ringkeeper_engine::proto::ErrorCode;

/// A client operation on the znode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZnodeOp {
    Create {
        data: u64,
    },
    SetData {
        data: u64,
        version: i32,
    },
    Delete {
        version: i32,
    },
    /// getData pipelined behind a `sync` on the same session (see `History`).
    SyncedRead,
}

/// What the server answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZnodeRet {
    Created,
    /// setData's new `Stat.version`.
    Set {
        version: i32,
    },
    Deleted,
    Read {
        data: u64,
        version: i32,
    },
    Failed(ErrorCode),
}

/// The znode's content, or `None` while it does not exist.
pub type ZnodeState = Option<(u64, i32)>;

pub struct Znode;

/// A write's number as the znode's data.
pub fn data_bytes(data: u64) -> Vec<u8> {
    data.to_string().into_bytes()
}

/// The write number the data of `path` holds.
pub fn data_number(data: &[u8], path: &str) -> u64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{path} holds {data:?}, which no client wrote"))
}

impl Znode {
    /// What `op` does on `state`: the next state and the answer.
    pub fn apply(state: ZnodeState, op: ZnodeOp) -> (ZnodeState, ZnodeRet) {
        use ZnodeRet::Failed;
        let matches = |want: i32, have: i32| want == -1 || want == have;
        match (op, state) {
            (ZnodeOp::Create { data }, None) => (Some((data, 0)), ZnodeRet::Created),
            (ZnodeOp::Create { .. }, Some(_)) => (state, Failed(ErrorCode::NodeExists)),
            (ZnodeOp::SetData { data, version }, Some((_, have))) if matches(version, have) => {
                let version = have + 1;
                (Some((data, version)), ZnodeRet::Set { version })
            }
            (ZnodeOp::Delete { version }, Some((_, have))) if matches(version, have) => {
                (None, ZnodeRet::Deleted)
            }
            (ZnodeOp::SetData { .. } | ZnodeOp::Delete { .. }, Some(_)) => {
                (state, Failed(ErrorCode::BadVersion))
            }
            (ZnodeOp::SetData { .. } | ZnodeOp::Delete { .. }, None) => {
                (state, Failed(ErrorCode::NoNode))
            }
            (ZnodeOp::SyncedRead, Some((data, version))) => {
                (state, ZnodeRet::Read { data, version })
            }
            (ZnodeOp::SyncedRead, None) => (state, Failed(ErrorCode::NoNode)),
        }
    }
}

impl Model for Znode {
    type State = ZnodeState;
    type Op = ZnodeOp;
    type Ret = ZnodeRet;

    fn init(&self) -> ZnodeState {
        None
    }

    fn step(&self, state: &ZnodeState, op: &ZnodeOp, ret: Option<&ZnodeRet>) -> Option<ZnodeState> {
        let (next, answer) = Znode::apply(*state, *op);
        ret.is_none_or(|r| *r == answer).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lincheck::{check, Operation};
    use super::*;
    use ZnodeOp::{Create, Delete, SetData, SyncedRead};
    use ZnodeRet::{Created, Deleted, Failed, Read, Set};

    type Op = Operation<ZnodeOp, ZnodeRet>;

    /// Invoked at `call`, answered `ret` at `done`.
    fn op(op: ZnodeOp, call: u64, done: u64, ret: ZnodeRet) -> Op {
        Operation {
            op,
            call,
            ret: Some((done, ret)),
        }
    }

    fn unanswered(op: ZnodeOp, call: u64) -> Op {
        Operation {
            op,
            call,
            ret: None,
        }
    }

    /// The znode created with data 1 at steps 1-2, as every history here starts.
    fn created() -> Op {
        op(Create { data: 1 }, 1, 2, Created)
    }

    fn set(data: u64) -> ZnodeOp {
        SetData { data, version: -1 }
    }

    fn set_to(version: i32) -> ZnodeRet {
        Set { version }
    }

    /// A read's answer.
    fn saw(data: u64, version: i32) -> ZnodeRet {
        Read { data, version }
    }

    #[test]
    fn concurrent_creates_one_wins_and_versions_count_up() {
        let h = [
            op(Create { data: 1 }, 1, 4, Created),
            op(Create { data: 2 }, 2, 5, Failed(ErrorCode::NodeExists)),
            // Two overlapping setData: whichever answered version 2 went second.
            op(set(3), 6, 9, set_to(2)),
            op(set(4), 7, 8, set_to(1)),
            op(SyncedRead, 10, 11, saw(3, 2)),
            op(Delete { version: 2 }, 12, 13, Deleted),
            op(SyncedRead, 14, 15, Failed(ErrorCode::NoNode)),
        ];
        assert!(check(&Znode, &h).is_ok());
    }

    #[test]
    fn stale_write_fails() {
        // setData answered version 1 after another setData had already answered version 1:
        // the second write was applied to a stale znode.
        let h = [
            created(),
            op(set(2), 3, 4, set_to(1)),
            op(set(3), 5, 6, set_to(1)),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn lost_write_fails() {
        // An acknowledged setData that a later synced read does not see.
        let h = [
            created(),
            op(set(2), 3, 4, set_to(1)),
            op(SyncedRead, 5, 6, saw(1, 0)),
        ];
        let v = check(&Znode, &h).unwrap_err();
        assert_eq!(v.stuck, Some(2), "{v:?}");
    }

    #[test]
    fn impossible_version_fails() {
        // Two setData on a fresh znode cannot reach version 3, in either order.
        let h = [
            created(),
            op(set(2), 3, 6, set_to(1)),
            op(set(3), 4, 5, set_to(3)),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn create_over_a_live_znode_fails() {
        // No delete between: the second create must answer NODEEXISTS.
        let h = [created(), op(Create { data: 2 }, 3, 4, Created)];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn unanswered_delete_explains_a_later_create() {
        // The delete's connection closed before its answer; it took effect anyway.
        let h = [
            created(),
            unanswered(Delete { version: -1 }, 3),
            op(Create { data: 2 }, 5, 6, Created),
            op(SyncedRead, 7, 8, saw(2, 0)),
        ];
        assert!(check(&Znode, &h).is_ok());
        // But not one invoked after the create it would explain.
        let h = [
            created(),
            op(Create { data: 2 }, 5, 6, Created),
            unanswered(Delete { version: -1 }, 7),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn conditional_writes_fail_on_a_moved_version() {
        let h = [
            created(),
            op(set(2), 3, 4, set_to(1)),
            op(
                SetData {
                    data: 3,
                    version: 0,
                },
                5,
                6,
                Failed(ErrorCode::BadVersion),
            ),
            op(Delete { version: 1 }, 7, 8, Deleted),
        ];
        assert!(check(&Znode, &h).is_ok());
        // A conditional setData that succeeded on a version already gone.
        let h = [
            created(),
            op(set(2), 3, 4, set_to(1)),
            op(
                SetData {
                    data: 3,
                    version: 0,
                },
                5,
                6,
                set_to(1),
            ),
        ];
        assert!(check(&Znode, &h).is_err());
    }
}
