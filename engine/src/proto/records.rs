//! Records of `zookeeper.jute` that the client protocol uses, as plain Rust types.
//! Encoding and decoding live in `codec.rs`.

pub use super::child_names::ChildNames;
use super::Data;

/// ZooDefs.OpCode values.
pub mod op {
    pub const NOTIFICATION: i32 = 0;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

/// Special xids (ZK-PROTOCOL.md section 2).
pub mod xid {
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    pub const SET_WATCHES_C: i32 = -8;
}

/// ZooDefs.Perms.
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = 31;
}

/// Watcher.Event.EventType values the server sends.
pub mod event {
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
    /// KeeperState.SyncConnected: the only state a server notification carries.
    pub const STATE_SYNC_CONNECTED: i32 = 3;
}

/// The client-visible Stat (68 bytes on the wire).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

impl Acl {
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.to_string(),
                id: id.to_string(),
            },
        }
    }

    /// ZooDefs.Ids.OPEN_ACL_UNSAFE: world:anyone with every permission.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "world", "anyone")]
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    /// `None` when the client did not send the trailing byte (a pre-3.4 "old client").
    pub read_only: Option<bool>,
}

impl ConnectRequest {
    /// What a client sends to start a new session: no session id, no password, nothing seen.
    pub fn new_session(timeout_ms: i32) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    /// `None` answers an old client that did not send the byte itself.
    pub read_only: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    pub xid: i32,
    pub opcode: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatcherEvent {
    pub event_type: i32,
    pub state: i32,
    pub path: String,
}

/// CreateRequest and CreateTTLRequest share this shape; `ttl` is `None` unless opcode 21.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    pub path: String,
    pub data: Data,
    pub acl: Vec<Acl>,
    pub flags: i32,
    pub ttl: Option<i64>,
}

/// CreateMode flag values.
pub mod create_mode {
    pub const PERSISTENT: i32 = 0;
    pub const EPHEMERAL: i32 = 1;
    pub const PERSISTENT_SEQUENTIAL: i32 = 2;
    pub const EPHEMERAL_SEQUENTIAL: i32 = 3;
    pub const CONTAINER: i32 = 4;
    pub const PERSISTENT_WITH_TTL: i32 = 5;
    pub const PERSISTENT_SEQUENTIAL_WITH_TTL: i32 = 6;
}

/// AddWatchMode values.
pub mod add_watch_mode {
    pub const PERSISTENT: i32 = 0;
    pub const PERSISTENT_RECURSIVE: i32 = 1;
}

/// WatcherType values for checkWatches and removeWatches.
pub mod watcher_type {
    pub const CHILDREN: i32 = 1;
    pub const DATA: i32 = 2;
    pub const ANY: i32 = 3;
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SetWatches {
    pub relative_zxid: i64,
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    /// Only in SetWatches2 (opcode 105).
    pub persistent: Vec<String>,
    /// Only in SetWatches2 (opcode 105).
    pub persistent_recursive: Vec<String>,
}

/// One sub-operation of a multi (14) request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiOp {
    /// `opcode` is the sub-op's type as sent: 1, 15, 19 or 21.
    Create {
        opcode: i32,
        req: CreateRequest,
    },
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Data,
        version: i32,
    },
    Check {
        path: String,
        version: i32,
    },
}

/// One sub-operation of a multiRead (22) request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiReadOp {
    GetData { path: String },
    GetChildren { path: String },
}

/// A decoded client request body, by opcode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// create (1), create2 (15), createContainer (19) and createTTL (21).
    Create {
        opcode: i32,
        req: CreateRequest,
    },
    Delete {
        path: String,
        version: i32,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetData {
        path: String,
        watch: bool,
    },
    SetData {
        path: String,
        data: Data,
        version: i32,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// getChildren (8) and getChildren2 (12), told apart by `with_stat`.
    GetChildren {
        path: String,
        watch: bool,
        with_stat: bool,
    },
    Sync {
        path: String,
    },
    Ping,
    Check {
        path: String,
        version: i32,
    },
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiReadOp>),
    Reconfig {
        joining: Option<String>,
        leaving: Option<String>,
        new_members: Option<String>,
        config_id: i64,
    },
    CheckWatches {
        path: String,
        watcher_type: i32,
    },
    RemoveWatches {
        path: String,
        watcher_type: i32,
    },
    Auth {
        auth_type: i32,
        scheme: String,
        /// `None` for a null buffer (length -1), which ZooKeeper's digest provider fails.
        auth: Option<Vec<u8>>,
    },
    /// setWatches (101) and setWatches2 (105).
    SetWatches {
        v2: bool,
        watches: SetWatches,
    },
    Sasl {
        token: Vec<u8>,
    },
    GetEphemerals {
        prefix: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    AddWatch {
        path: String,
        mode: i32,
    },
    WhoAmI,
    CloseSession,
}

/// Result of one sub-op in a multi or multiRead response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiResult {
    /// Plain create (1): CreateResponse.
    Create {
        path: String,
    },
    /// create2, createContainer, createTTL: answered as type 15 with Create2Response.
    Create2 {
        path: String,
        stat: Stat,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    Check,
    GetData {
        data: Data,
        stat: Stat,
    },
    GetChildren {
        children: ChildNames,
    },
    Error {
        err: i32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}

/// A response body for err == 0. `Empty` is a bare header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Empty,
    Create {
        path: String,
    },
    Create2 {
        path: String,
        stat: Stat,
    },
    Stat(Stat),
    GetData {
        data: Data,
        stat: Stat,
    },
    GetAcl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    GetChildren {
        children: ChildNames,
    },
    GetChildren2 {
        children: ChildNames,
        stat: Stat,
    },
    Sync {
        path: String,
    },
    Multi(Vec<MultiResult>),
    /// ErrorResponse {i err}: addWatch answers with this 4-byte body.
    ErrorBody {
        err: i32,
    },
    GetEphemerals {
        paths: Vec<String>,
    },
    AllChildrenNumber(i32),
    WhoAmI(Vec<ClientInfo>),
    Sasl {
        token: Vec<u8>,
    },
}
