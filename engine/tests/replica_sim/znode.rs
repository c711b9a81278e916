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

    fn op(op: ZnodeOp, call: u64, ret: Option<(u64, ZnodeRet)>) -> Operation<ZnodeOp, ZnodeRet> {
        Operation { op, call, ret }
    }

    fn set(data: u64) -> ZnodeOp {
        ZnodeOp::SetData { data, version: -1 }
    }

    fn set_to(version: i32) -> ZnodeRet {
        ZnodeRet::Set { version }
    }

    #[test]
    fn concurrent_creates_one_wins_and_versions_count_up() {
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((4, ZnodeRet::Created))),
            op(
                ZnodeOp::Create { data: 2 },
                2,
                Some((5, ZnodeRet::Failed(ErrorCode::NodeExists))),
            ),
            // Two overlapping setData: whichever answered version 2 went second.
            op(set(3), 6, Some((9, set_to(2)))),
            op(set(4), 7, Some((8, set_to(1)))),
            op(
                ZnodeOp::SyncedRead,
                10,
                Some((
                    11,
                    ZnodeRet::Read {
                        data: 3,
                        version: 2,
                    },
                )),
            ),
            op(
                ZnodeOp::Delete { version: 2 },
                12,
                Some((13, ZnodeRet::Deleted)),
            ),
            op(
                ZnodeOp::SyncedRead,
                14,
                Some((15, ZnodeRet::Failed(ErrorCode::NoNode))),
            ),
        ];
        assert!(check(&Znode, &h).is_ok());
    }

    #[test]
    fn stale_write_fails() {
        // setData answered version 1 after another setData had already answered version 1:
        // the second write was applied to a stale znode.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(set(2), 3, Some((4, set_to(1)))),
            op(set(3), 5, Some((6, set_to(1)))),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn lost_write_fails() {
        // An acknowledged setData that a later synced read does not see.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(set(2), 3, Some((4, set_to(1)))),
            op(
                ZnodeOp::SyncedRead,
                5,
                Some((
                    6,
                    ZnodeRet::Read {
                        data: 1,
                        version: 0,
                    },
                )),
            ),
        ];
        let v = check(&Znode, &h).unwrap_err();
        assert_eq!(v.stuck, Some(2), "{v:?}");
    }

    #[test]
    fn impossible_version_fails() {
        // Two setData on a fresh znode cannot reach version 3, in either order.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(set(2), 3, Some((6, set_to(1)))),
            op(set(3), 4, Some((5, set_to(3)))),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn create_over_a_live_znode_fails() {
        // No delete between: the second create must answer NODEEXISTS.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(ZnodeOp::Create { data: 2 }, 3, Some((4, ZnodeRet::Created))),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn unanswered_delete_explains_a_later_create() {
        // The delete's connection closed before its answer; it took effect anyway.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(ZnodeOp::Delete { version: -1 }, 3, None),
            op(ZnodeOp::Create { data: 2 }, 5, Some((6, ZnodeRet::Created))),
            op(
                ZnodeOp::SyncedRead,
                7,
                Some((
                    8,
                    ZnodeRet::Read {
                        data: 2,
                        version: 0,
                    },
                )),
            ),
        ];
        assert!(check(&Znode, &h).is_ok());
        // But not one invoked after the create it would explain.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(ZnodeOp::Create { data: 2 }, 5, Some((6, ZnodeRet::Created))),
            op(ZnodeOp::Delete { version: -1 }, 7, None),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn conditional_writes_fail_on_a_moved_version() {
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(set(2), 3, Some((4, set_to(1)))),
            op(
                ZnodeOp::SetData {
                    data: 3,
                    version: 0,
                },
                5,
                Some((6, ZnodeRet::Failed(ErrorCode::BadVersion))),
            ),
            op(
                ZnodeOp::Delete { version: 1 },
                7,
                Some((8, ZnodeRet::Deleted)),
            ),
        ];
        assert!(check(&Znode, &h).is_ok());
        // A conditional setData that succeeded on a version already gone.
        let h = [
            op(ZnodeOp::Create { data: 1 }, 1, Some((2, ZnodeRet::Created))),
            op(set(2), 3, Some((4, set_to(1)))),
            op(
                ZnodeOp::SetData {
                    data: 3,
                    version: 0,
                },
                5,
                Some((6, set_to(1))),
            ),
        ];
        assert!(check(&Znode, &h).is_err());
    }
}
