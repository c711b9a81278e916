//! The `ZooKeeper` API calls the commands use, with the Java client's behaviour around the
//! wire: client-side path and ACL checks, the chroot, which opcode a create uses, and which
//! path an error names.

use ringkeeper_engine::proto::{
    create_mode, op, watcher_type, Acl, ClientInfo, CreateRequest, Data, MultiOp, MultiResult,
    Request, Response, Stat,
};

use super::client::{Client, WatchOnReply};
use super::keeper_error::{code, CliError, KeeperError};
use super::path;
use super::watches::Registration;

/// What a ZooKeeper API call throws: a KeeperException, or an IllegalArgumentException
/// (a malformed path or TTL) that zkCli prints as it is.
#[derive(Debug)]
pub enum ApiError {
    Keeper(KeeperError),
    IllegalArgument(String),
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> CliError {
        match e {
            ApiError::Keeper(k) => k.into(),
            ApiError::IllegalArgument(m) => CliError::new(m),
        }
    }
}

impl From<KeeperError> for ApiError {
    fn from(e: KeeperError) -> ApiError {
        ApiError::Keeper(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The config znode (`ZooDefs.CONFIG_NODE`); getConfig reads it without the chroot.
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// `EphemeralType.TTL.maxValue()`.
pub const MAX_TTL: i64 = 0x0000_00FF_FFFF_FFFF;

fn checked(p: &str) -> ApiResult<()> {
    path::validate(p, false).map_err(ApiError::IllegalArgument)
}

fn unexpected() -> ApiError {
    ApiError::Keeper(KeeperError::without_path(code::MARSHALLING_ERROR))
}

pub struct Api<'a> {
    pub zk: &'a Client,
}

impl Api<'_> {
    fn server(&self, p: &str) -> String {
        self.zk.chroot().to_server(p)
    }

    fn call(
        &self,
        opcode: i32,
        req: Request,
        watch: Option<WatchOnReply>,
        client_path: Option<&str>,
    ) -> ApiResult<Response> {
        self.zk.call(opcode, &req, watch).map_err(|c| {
            ApiError::Keeper(KeeperError {
                code: c,
                path: client_path.map(str::to_string),
            })
        })
    }

    pub fn get_children(&self, p: &str, watch: bool) -> ApiResult<(Vec<String>, Stat)> {
        checked(p)?;
        let req = Request::GetChildren {
            path: self.server(p),
            watch,
            with_stat: true,
        };
        let w = watch.then(|| WatchOnReply::Child(p.to_string()));
        match self.call(op::GET_CHILDREN2, req, w, Some(p))? {
            Response::GetChildren2 { children, stat } => Ok((children.to_vec(), stat)),
            _ => Err(unexpected()),
        }
    }

    pub fn get_data(&self, p: &str, watch: bool) -> ApiResult<(Data, Stat)> {
        checked(p)?;
        let req = Request::GetData {
            path: self.server(p),
            watch,
        };
        let w = watch.then(|| WatchOnReply::Data(p.to_string()));
        match self.call(op::GET_DATA, req, w, Some(p))? {
            Response::GetData { data, stat } => Ok((data, stat)),
            _ => Err(unexpected()),
        }
    }

    /// `getConfig`: the config znode, not under the chroot.
    pub fn get_config(&self, watch: bool) -> ApiResult<(Data, Stat)> {
        let req = Request::GetData {
            path: CONFIG_NODE.to_string(),
            watch,
        };
        let w = watch.then(|| WatchOnReply::Data(CONFIG_NODE.to_string()));
        match self.call(op::GET_DATA, req, w, Some(CONFIG_NODE))? {
            Response::GetData { data, stat } => Ok((data, stat)),
            _ => Err(unexpected()),
        }
    }

    /// `exists`: `None` for a node that is not there.
    pub fn exists(&self, p: &str, watch: bool) -> ApiResult<Option<Stat>> {
        checked(p)?;
        let req = Request::Exists {
            path: self.server(p),
            watch,
        };
        let w = watch.then(|| WatchOnReply::Exists(p.to_string()));
        match self.call(op::EXISTS, req, w, Some(p)) {
            Ok(Response::Stat(s)) => Ok(Some(s)),
            Ok(_) => Err(unexpected()),
            Err(ApiError::Keeper(k)) if k.code == code::NO_NODE => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn set_data(&self, p: &str, data: Vec<u8>, version: i32) -> ApiResult<Stat> {
        checked(p)?;
        let req = Request::SetData {
            path: self.server(p),
            data: data.into(),
            version,
        };
        match self.call(op::SET_DATA, req, None, Some(p))? {
            Response::Stat(s) => Ok(s),
            _ => Err(unexpected()),
        }
    }

    /// `create(path, data, acl, mode)` or, with a TTL, `create(path, data, acl, mode, stat,
    /// ttl)`; returns the created path as the client sees it.
    pub fn create(
        &self,
        p: &str,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        flags: i32,
        ttl: Option<i64>,
    ) -> ApiResult<String> {
        let sequential = matches!(
            flags,
            create_mode::PERSISTENT_SEQUENTIAL
                | create_mode::EPHEMERAL_SEQUENTIAL
                | create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL
        );
        path::validate(p, sequential).map_err(ApiError::IllegalArgument)?;
        let is_ttl = matches!(
            flags,
            create_mode::PERSISTENT_WITH_TTL | create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL
        );
        if is_ttl {
            let t = ttl.unwrap_or(-1);
            if t <= 0 || t > MAX_TTL {
                return Err(ApiError::IllegalArgument(format!(
                    "ttl must be positive and cannot be larger than: {MAX_TTL}"
                )));
            }
        }
        if acl.is_empty() {
            return Err(KeeperError::without_path(code::INVALID_ACL).into());
        }
        let opcode = if is_ttl {
            op::CREATE_TTL
        } else if flags == create_mode::CONTAINER {
            op::CREATE_CONTAINER
        } else {
            op::CREATE
        };
        let req = Request::Create {
            opcode,
            req: CreateRequest {
                path: self.server(p),
                data: data.map(Data::from).unwrap_or_else(Data::null),
                acl,
                flags,
                ttl: is_ttl.then(|| ttl.unwrap_or(-1)),
            },
        };
        let created = match self.call(opcode, req, None, Some(p))? {
            Response::Create { path } | Response::Create2 { path, .. } => path,
            _ => return Err(unexpected()),
        };
        Ok(self.zk.chroot().to_client(&created))
    }

    pub fn delete(&self, p: &str, version: i32) -> ApiResult<()> {
        checked(p)?;
        // As the Java client: "/" is sent as it is, even under a chroot, so it always fails.
        let server = if p == "/" {
            p.to_string()
        } else {
            self.server(p)
        };
        let req = Request::Delete {
            path: server,
            version,
        };
        self.call(op::DELETE, req, None, Some(p)).map(|_| ())
    }

    /// One multi of deletes (`ZKUtil.deleteInBatch`); `Ok(false)` when the multi failed.
    pub fn delete_batch(&self, paths: &[String]) -> ApiResult<bool> {
        let ops = paths
            .iter()
            .map(|p| MultiOp::Delete {
                path: self.server(p),
                version: -1,
            })
            .collect();
        match self.zk.call(op::MULTI, &Request::Multi(ops), None) {
            Ok(Response::Multi(results)) => Ok(!results
                .iter()
                .any(|r| matches!(r, MultiResult::Error { err } if *err != 0))),
            Ok(_) => Err(unexpected()),
            Err(_) => Ok(false),
        }
    }

    pub fn get_acl(&self, p: &str) -> ApiResult<(Vec<Acl>, Stat)> {
        checked(p)?;
        let req = Request::GetAcl {
            path: self.server(p),
        };
        match self.call(op::GET_ACL, req, None, Some(p))? {
            Response::GetAcl { acl, stat } => Ok((acl, stat)),
            _ => Err(unexpected()),
        }
    }

    pub fn set_acl(&self, p: &str, acl: Vec<Acl>, version: i32) -> ApiResult<Stat> {
        checked(p)?;
        if acl.is_empty() {
            return Err(KeeperError::without_path(code::INVALID_ACL).into());
        }
        let req = Request::SetAcl {
            path: self.server(p),
            acl,
            version,
        };
        match self.call(op::SET_ACL, req, None, Some(p))? {
            Response::Stat(s) => Ok(s),
            _ => Err(unexpected()),
        }
    }

    /// `sync`: the result code (zkCli prints it rather than throwing).
    pub fn sync(&self, p: &str) -> ApiResult<i32> {
        checked(p)?;
        let req = Request::Sync {
            path: self.server(p),
        };
        match self.zk.call(op::SYNC, &req, None) {
            Ok(_) => Ok(0),
            Err(c) => Ok(c),
        }
    }

    pub fn get_all_children_number(&self, p: &str) -> ApiResult<i32> {
        checked(p)?;
        let req = Request::GetAllChildrenNumber {
            path: self.server(p),
        };
        match self.call(op::GET_ALL_CHILDREN_NUMBER, req, None, Some(p))? {
            Response::AllChildrenNumber(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    /// `getEphemerals(prefix)`: like the Java client, the prefix goes to the server without
    /// the chroot, and an error names no path.
    pub fn get_ephemerals(&self, prefix: &str) -> ApiResult<Vec<String>> {
        checked(prefix)?;
        let req = Request::GetEphemerals {
            prefix: prefix.to_string(),
        };
        match self.call(op::GET_EPHEMERALS, req, None, None)? {
            Response::GetEphemerals { paths } => Ok(paths),
            _ => Err(unexpected()),
        }
    }

    pub fn add_watch(&self, p: &str, mode: i32) -> ApiResult<()> {
        checked(p)?;
        let reg = if mode == ringkeeper_engine::proto::add_watch_mode::PERSISTENT_RECURSIVE {
            Registration::Recursive(p.to_string())
        } else {
            Registration::Persistent(p.to_string())
        };
        let req = Request::AddWatch {
            path: self.server(p),
            mode,
        };
        self.call(op::ADD_WATCH, req, Some(WatchOnReply::Add(reg)), Some(p))
            .map(|_| ())
    }

    /// `removeAllWatches(path, type, local)`: the client must hold such a watch; the server
    /// removes its side, then the client's records go and "...WatchRemoved" events follow.
    pub fn remove_watches(&self, p: &str, wtype: i32, local: bool) -> ApiResult<()> {
        checked(p)?;
        if !self.zk.with_watches(|w| w.contains(p, wtype)) {
            return Err(KeeperError::new(code::NO_WATCHER, p).into());
        }
        let req = Request::RemoveWatches {
            path: self.server(p),
            watcher_type: wtype,
        };
        let rc = match self.zk.call(op::REMOVE_WATCHES, &req, None) {
            Ok(_) => code::OK,
            Err(c) => c,
        };
        if rc != code::OK && !local {
            return Err(KeeperError::new(rc, p).into());
        }
        let events = self.zk.with_watches(|w| w.remove(p, wtype));
        if events.is_empty() {
            return Err(KeeperError::new(code::NO_WATCHER, p).into());
        }
        for t in events {
            self.zk.emit(super::event::WatchedEvent {
                state: super::event::KeeperState::SyncConnected,
                event_type: t,
                path: Some(p.to_string()),
            });
        }
        Ok(())
    }

    pub fn who_am_i(&self) -> ApiResult<Vec<ClientInfo>> {
        match self.call(op::WHO_AM_I, Request::WhoAmI, None, None)? {
            Response::WhoAmI(v) => Ok(v),
            _ => Err(unexpected()),
        }
    }
}

/// `WatcherType` by removewatches' flags.
pub fn watcher_type_of(children: bool, data: bool) -> i32 {
    if children {
        watcher_type::CHILDREN
    } else if data {
        watcher_type::DATA
    } else {
        watcher_type::ANY
    }
}
