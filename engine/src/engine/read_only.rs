//! Read-only mode: an ensemble member cut off from its quorum serves the clients that asked
//! for it (`readOnly` in their ConnectRequest) from the tree it has, as ZooKeeper's
//! ReadOnlyZooKeeperServer does (ZK-PROTOCOL.md): sessions are local, never logged; writes,
//! `sync` and closing a global session answer NOTREADONLY; clients that did not ask are
//! refused. The server turns the mode on and off (`Engine::set_read_only`) and drops every
//! connection when it does.

use super::{is_write, Engine, Output};
use crate::proto::{ConnectRequest, ErrorCode, Id, Request, RequestHeader, Response};
use crate::session::session_password;
use crate::watch::ConnId;
use crate::Now;

impl Engine {
    /// Turns read-only mode on or off.
    pub fn set_read_only(&mut self, on: bool) {
        self.read_only = on;
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Closes every client connection (the server stopped serving, or its mode changed):
    /// sessions live on, and their clients reconnect elsewhere or here.
    pub fn close_all_conns(&mut self) {
        self.drop_forwarded();
        for conn in self.conn_ids() {
            self.drop_conn(conn);
            self.push(Output::Close { conn });
        }
    }

    /// A ConnectRequest while read-only: only clients that asked for read-only mode.
    pub(super) fn connect_read_only(
        &mut self,
        conn: ConnId,
        ids: Vec<Id>,
        req: &ConnectRequest,
        timeout_ms: i32,
    ) {
        if req.read_only != Some(true) {
            self.push(Output::Close { conn });
            return;
        }
        // A global session this server knows keeps its id; any other gets a local one.
        let known = req.session_id != 0
            && self.sessions.is_live(req.session_id)
            && req.passwd.as_slice() == session_password(req.session_id).as_slice();
        let session_id = if known {
            self.close_conns_of(req.session_id, Some(conn));
            req.session_id
        } else {
            self.sessions.next_id()
        };
        self.attach(conn, session_id, ids);
        let resp = super::new_session_response(session_id, timeout_ms, Some(true));
        self.push(Output::Connected { conn, resp });
    }

    /// A request on a read-only connection.
    pub(super) fn request_read_only(
        &mut self,
        conn: ConnId,
        session_id: i64,
        header: RequestHeader,
        req: Request,
        now: Now,
    ) {
        let zxid = self.last_zxid;
        match req {
            Request::CloseSession if !self.sessions.is_live(session_id) => {
                self.reply(conn, header.xid, zxid, ErrorCode::Ok, Response::Empty);
                self.drop_conn(conn);
                self.push(Output::Close { conn });
            }
            ref r if is_write(r) || matches!(r, Request::Sync { .. } | Request::CloseSession) => {
                self.reply(
                    conn,
                    header.xid,
                    zxid,
                    ErrorCode::NotReadOnly,
                    Response::Empty,
                );
            }
            _ => self.serve(conn, session_id, header, req, now),
        }
    }
}
