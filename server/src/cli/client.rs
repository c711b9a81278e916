//! A blocking ZooKeeper session for the CLI, on the engine's jute codec: callers block in
//! `call` while the connection thread (`connection.rs`) talks to the server.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringkeeper_engine::proto::codec::{begin_frame, end_frame};
use ringkeeper_engine::proto::{
    encode_request, op, xid, JuteWriter, Request, RequestHeader, Response,
};

use super::connect_string::ConnectString;
use super::connection;
use super::event::{EventSink, KeeperState, WatchedEvent};
use super::keeper_error::code;
use super::path::Chroot;
use super::watches::{Registration, WatchManager};

/// How long `close` waits for the server to answer closeSession.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// `ZooKeeper.States` as the prompt shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    Closed,
    AuthFailed,
}

impl ConnState {
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Connecting => "CONNECTING",
            ConnState::Connected => "CONNECTED",
            ConnState::Closed => "CLOSED",
            ConnState::AuthFailed => "AUTH_FAILED",
        }
    }

    pub fn is_alive(self) -> bool {
        matches!(self, ConnState::Connecting | ConnState::Connected)
    }
}

/// The watch a call leaves behind when it succeeds.
#[derive(Clone, Debug)]
pub enum WatchOnReply {
    /// getData: a data watch.
    Data(String),
    /// exists: a data watch, or an exist watch on NoNode.
    Exists(String),
    Child(String),
    /// addWatch.
    Add(Registration),
}

pub(super) type CallResult = Result<Response, i32>;

pub(super) struct Pending {
    pub(super) opcode: i32,
    pub(super) watch: Option<WatchOnReply>,
}

pub(super) struct Inner {
    pub(super) state: ConnState,
    pub(super) closing: bool,
    pub(super) writer: Option<TcpStream>,
    pub(super) last_send: Instant,
    pub(super) next_xid: i32,
    pub(super) pending: HashMap<i32, Pending>,
    pub(super) done: HashMap<i32, CallResult>,
    pub(super) session_id: i64,
    pub(super) passwd: Vec<u8>,
    pub(super) negotiated_ms: i32,
    pub(super) last_zxid: i64,
    pub(super) auth: Vec<(String, Option<Vec<u8>>)>,
    pub(super) watches: WatchManager,
    /// Full rounds over the server list that found no server; calls waiting for a connection
    /// give up with ConnectionLoss when this moves.
    pub(super) failed_rounds: u64,
    pub(super) host: String,
}

pub(super) struct Shared {
    pub(super) hosts: Vec<String>,
    pub(super) chroot: Chroot,
    pub(super) timeout_ms: i32,
    pub(super) events: EventSink,
    pub(super) m: Mutex<Inner>,
    pub(super) cv: Condvar,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Client {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Client {
    /// Starts connecting; returns at once (state CONNECTING), like `new ZooKeeper(...)`.
    pub fn open(cs: &ConnectString, timeout_ms: i32, events: EventSink) -> Client {
        let shared = Arc::new(Shared {
            hosts: cs.hosts.clone(),
            chroot: cs.chroot.clone(),
            timeout_ms,
            events,
            m: Mutex::new(Inner {
                state: ConnState::Connecting,
                closing: false,
                writer: None,
                last_send: Instant::now(),
                next_xid: 1,
                pending: HashMap::new(),
                done: HashMap::new(),
                session_id: 0,
                passwd: vec![0; 16],
                negotiated_ms: timeout_ms,
                last_zxid: 0,
                auth: Vec::new(),
                watches: WatchManager::default(),
                failed_rounds: 0,
                host: String::new(),
            }),
            cv: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("cli-connection".into())
            .spawn(move || connection::run(&s))
            .expect("spawn the connection thread");
        Client {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    pub fn state(&self) -> ConnState {
        self.shared.lock().state
    }

    pub fn chroot(&self) -> &Chroot {
        &self.shared.chroot
    }

    /// Sends one request and waits for its reply: the decoded response, or the error code.
    pub fn call(&self, opcode: i32, req: &Request, watch: Option<WatchOnReply>) -> CallResult {
        let sh = &self.shared;
        let mut g = sh.lock();
        let rounds = g.failed_rounds;
        loop {
            match g.state {
                ConnState::Connected => break,
                ConnState::Connecting if g.failed_rounds == rounds => {
                    g = sh
                        .cv
                        .wait_timeout(g, Duration::from_millis(200))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                ConnState::AuthFailed => return Err(code::AUTH_FAILED),
                _ => return Err(code::CONNECTION_LOSS),
            }
        }
        let x = g.next_xid;
        g.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        let mut buf = Vec::new();
        encode_request(&RequestHeader { xid: x, opcode }, req, &mut buf);
        if send(&mut g, &buf).is_err() {
            // The connection thread sees the broken socket too and reconnects.
            return Err(code::CONNECTION_LOSS);
        }
        g.pending.insert(x, Pending { opcode, watch });
        loop {
            if let Some(r) = g.done.remove(&x) {
                return r;
            }
            g = sh.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// `addAuthInfo`: sent now when connected, and again on every new connection.
    pub fn add_auth(&self, scheme: &str, auth: Option<&[u8]>) {
        let mut g = self.shared.lock();
        g.auth.push((scheme.to_string(), auth.map(<[u8]>::to_vec)));
        if g.state == ConnState::Connected {
            let mut buf = Vec::new();
            encode_auth(scheme, auth, &mut buf);
            let _ = send(&mut g, &buf);
        }
    }

    /// Runs `f` on the watch records (removewatches checks and updates them).
    pub fn with_watches<T>(&self, f: impl FnOnce(&mut WatchManager) -> T) -> T {
        f(&mut self.shared.lock().watches)
    }

    pub fn emit(&self, e: WatchedEvent) {
        self.shared.events.send(e);
    }

    /// `ZooKeeper.close()`: closeSession, then the Closed event. Idempotent.
    pub fn close(&self) {
        self.close_with(true, true);
    }

    /// Drops the connection without closing the session, as zkCli.sh leaves at the end of
    /// its input or after a command from the arguments: the server expires the session (and
    /// its ephemerals) after the session timeout.
    pub fn abandon(&self) {
        self.close_with(false, false);
    }

    /// Closes the connection; `close_session` asks the server to end the session first,
    /// `announce` sends the Closed event.
    fn close_with(&self, close_session: bool, announce: bool) {
        let taken = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(thread) = taken else {
            return;
        };
        let sh = &self.shared;
        let mut g = sh.lock();
        g.closing = true;
        if close_session && g.state == ConnState::Connected {
            let x = g.next_xid;
            g.next_xid += 1;
            let mut buf = Vec::new();
            let header = RequestHeader {
                xid: x,
                opcode: op::CLOSE_SESSION,
            };
            encode_request(&header, &Request::CloseSession, &mut buf);
            if send(&mut g, &buf).is_ok() {
                g.pending.insert(
                    x,
                    Pending {
                        opcode: op::CLOSE_SESSION,
                        watch: None,
                    },
                );
                let deadline = Instant::now() + CLOSE_WAIT;
                while !g.done.contains_key(&x) && g.writer.is_some() {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    g = sh
                        .cv
                        .wait_timeout(g, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                g.done.remove(&x);
            }
        }
        if let Some(w) = g.writer.take() {
            let _ = w.shutdown(Shutdown::Both);
        }
        let was_alive = g.state != ConnState::AuthFailed;
        g.state = ConnState::Closed;
        sh.cv.notify_all();
        drop(g);
        let _ = thread.join();
        if was_alive && announce {
            sh.events
                .send(WatchedEvent::state_change(KeeperState::Closed));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.abandon();
    }
}

pub(super) fn send(g: &mut Inner, buf: &[u8]) -> io::Result<()> {
    let w = g
        .writer
        .as_mut()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))?;
    w.write_all(buf)?;
    g.last_send = Instant::now();
    Ok(())
}

/// AuthPacket; `None` is a null buffer, which zkCli's `addauth scheme` (no auth) sends.
pub(super) fn encode_auth(scheme: &str, auth: Option<&[u8]>, out: &mut Vec<u8>) {
    let start = begin_frame(out);
    let mut w = JuteWriter::new(out);
    w.write_int(xid::AUTH);
    w.write_int(op::AUTH);
    w.write_int(0);
    w.write_ustring(scheme);
    match auth {
        Some(a) => w.write_buffer(a),
        None => w.write_null_buffer(),
    }
    end_frame(out, start);
}
