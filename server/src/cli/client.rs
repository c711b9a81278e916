//! A blocking ZooKeeper session for the CLI, on the engine's jute codec: one connection
//! thread connects (trying the servers of the list in turn), primes the connection (auth,
//! SetWatches), reads replies and notifications and sends pings; callers block in `call`.
//! On a lost connection it moves on to the next server with the same session, as the Java
//! client does.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringkeeper_engine::proto::codec::{begin_frame, end_frame};
use ringkeeper_engine::proto::{
    decode_connect_response, decode_reply_header, decode_response, decode_watcher_event,
    encode_connect_request, encode_request, op, xid, ConnectRequest, JuteWriter, Request,
    RequestHeader, Response,
};

use super::connect_string::ConnectString;
use super::event::{EventSink, KeeperState, WatchedEvent};
use super::keeper_error::code;
use super::path::Chroot;
use super::watches::{Registration, WatchManager};

/// Frames above this are a broken stream (the server's own limit is about 1 MB).
const MAX_FRAME: usize = 64 << 20;
/// How long `close` waits for the server to answer closeSession.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Pause after every server of the list refused, before the next round (Java: up to 1 s).
const ROUND_PAUSE: Duration = Duration::from_millis(1000);

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

type CallResult = Result<Response, i32>;

struct Pending {
    opcode: i32,
    watch: Option<WatchOnReply>,
}

struct Inner {
    state: ConnState,
    closing: bool,
    writer: Option<TcpStream>,
    last_send: Instant,
    next_xid: i32,
    pending: HashMap<i32, Pending>,
    done: HashMap<i32, CallResult>,
    session_id: i64,
    passwd: Vec<u8>,
    negotiated_ms: i32,
    last_zxid: i64,
    auth: Vec<(String, Option<Vec<u8>>)>,
    watches: WatchManager,
    /// Full rounds over the server list that found no server; calls waiting for a connection
    /// give up with ConnectionLoss when this moves.
    failed_rounds: u64,
    host: String,
}

struct Shared {
    hosts: Vec<String>,
    chroot: Chroot,
    timeout_ms: i32,
    events: EventSink,
    m: Mutex<Inner>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
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
            .spawn(move || run(&s))
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

fn send(g: &mut Inner, buf: &[u8]) -> io::Result<()> {
    let w = g
        .writer
        .as_mut()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))?;
    w.write_all(buf)?;
    g.last_send = Instant::now();
    Ok(())
}

/// AuthPacket; `None` is a null buffer, which zkCli's `addauth scheme` (no auth) sends.
fn encode_auth(scheme: &str, auth: Option<&[u8]>, out: &mut Vec<u8>) {
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

/// The connection thread: connect, serve, and on a lost connection try the next server.
fn run(sh: &Shared) {
    let n = sh.hosts.len();
    let mut next = 0usize;
    let mut failed_in_row = 0usize;
    loop {
        if sh.lock().closing {
            return;
        }
        let host = sh.hosts[next % n].clone();
        next += 1;
        let (session_id, passwd, last_zxid) = {
            let g = sh.lock();
            (g.session_id, g.passwd.clone(), g.last_zxid)
        };
        let connected = handshake(&host, sh.timeout_ms, session_id, passwd, last_zxid, n);
        let (stream, resp) = match connected {
            Ok(c) => c,
            Err(_) => {
                failed_in_row += 1;
                if failed_in_row.is_multiple_of(n) {
                    let mut g = sh.lock();
                    g.failed_rounds += 1;
                    sh.cv.notify_all();
                    if !g.closing {
                        let _ = sh.cv.wait_timeout(g, ROUND_PAUSE);
                    }
                }
                continue;
            }
        };
        failed_in_row = 0;
        let mut g = sh.lock();
        if g.closing {
            return;
        }
        if resp.timeout_ms <= 0 {
            // The server no longer knows the session.
            g.state = ConnState::Closed;
            fail_all(&mut g, code::SESSION_EXPIRED);
            sh.cv.notify_all();
            drop(g);
            sh.events
                .send(WatchedEvent::state_change(KeeperState::Expired));
            return;
        }
        g.session_id = resp.session_id;
        g.passwd = resp.passwd.clone();
        g.negotiated_ms = resp.timeout_ms;
        g.host = host.clone();
        let Ok(writer) = stream.try_clone() else {
            continue;
        };
        g.writer = Some(writer);
        if prime(sh, &mut g).is_err() {
            g.writer = None;
            continue;
        }
        g.state = ConnState::Connected;
        sh.cv.notify_all();
        let negotiated = g.negotiated_ms;
        drop(g);
        sh.events
            .send(WatchedEvent::state_change(KeeperState::SyncConnected));
        let _ = serve(sh, stream, negotiated);
        let mut g = sh.lock();
        g.writer = None;
        if g.closing {
            fail_all(&mut g, code::CONNECTION_LOSS);
            sh.cv.notify_all();
            return;
        }
        if g.state == ConnState::AuthFailed {
            fail_all(&mut g, code::AUTH_FAILED);
            sh.cv.notify_all();
            return;
        }
        g.state = ConnState::Connecting;
        fail_all(&mut g, code::CONNECTION_LOSS);
        sh.cv.notify_all();
        drop(g);
        sh.events
            .send(WatchedEvent::state_change(KeeperState::Disconnected));
    }
}

fn fail_all(g: &mut Inner, err: i32) {
    let xids: Vec<i32> = g.pending.keys().copied().collect();
    for x in xids {
        g.pending.remove(&x);
        g.done.insert(x, Err(err));
    }
}

/// Auth infos and watches for a new connection (`ClientCnxn.primeConnection`).
fn prime(sh: &Shared, g: &mut Inner) -> io::Result<()> {
    let mut buf = Vec::new();
    if !g.watches.is_empty() {
        let sw = g
            .watches
            .set_watches(g.last_zxid, |p| sh.chroot.to_server(p));
        let v2 = g.watches.has_persistent();
        let header = RequestHeader {
            xid: xid::SET_WATCHES_C,
            opcode: if v2 {
                op::SET_WATCHES2
            } else {
                op::SET_WATCHES
            },
        };
        encode_request(&header, &Request::SetWatches { v2, watches: sw }, &mut buf);
    }
    for (scheme, auth) in &g.auth {
        encode_auth(scheme, auth.as_deref(), &mut buf);
    }
    if buf.is_empty() {
        return Ok(());
    }
    send(g, &buf)
}

fn handshake(
    host: &str,
    timeout_ms: i32,
    session_id: i64,
    passwd: Vec<u8>,
    last_zxid: i64,
    hosts: usize,
) -> io::Result<(TcpStream, ringkeeper_engine::proto::ConnectResponse)> {
    let addr = host
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    // Java: the connect timeout is the session timeout shared by the servers of the list.
    let per_host = Duration::from_millis((timeout_ms.max(1000) as u64) / hosts as u64);
    let mut s = TcpStream::connect_timeout(&addr, per_host)?;
    s.set_nodelay(true)?;
    // A server that stops reading cannot hold a caller (and the session lock) for ever.
    s.set_write_timeout(Some(Duration::from_millis(timeout_ms.max(1000) as u64)))?;
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: last_zxid,
        timeout_ms,
        session_id,
        passwd,
        read_only: Some(false),
    };
    let mut buf = Vec::new();
    encode_connect_request(&req, &mut buf);
    s.write_all(&buf)?;
    s.set_read_timeout(Some(per_host))?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(0..=4096).contains(&len) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad handshake"));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)?;
    let resp = decode_connect_response(&body)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok((s, resp))
}

/// Reads frames until the connection breaks or is closed; pings when idle.
fn serve(sh: &Shared, mut stream: TcpStream, negotiated_ms: i32) -> io::Result<()> {
    let session = Duration::from_millis(negotiated_ms.max(1) as u64);
    // Java: read timeout two thirds of the session timeout, a ping after half of it idle.
    let read_timeout = session * 2 / 3;
    let ping_after = read_timeout / 2;
    stream.set_read_timeout(Some(ping_after / 2))?;
    let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    let mut last_recv = Instant::now();
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => {
                buf.extend_from_slice(&chunk[..k]);
                last_recv = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if last_recv.elapsed() > read_timeout {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let mut g = sh.lock();
        if g.closing && g.writer.is_none() {
            return Ok(());
        }
        if g.last_send.elapsed() >= ping_after {
            let mut ping = Vec::new();
            let header = RequestHeader {
                xid: xid::PING,
                opcode: op::PING,
            };
            encode_request(&header, &Request::Ping, &mut ping);
            send(&mut g, &ping)?;
        }
        drop(g);
        let mut used = 0;
        while buf.len() - used >= 4 {
            let len = i32::from_be_bytes(buf[used..used + 4].try_into().expect("4 bytes"));
            if len < 0 || len as usize > MAX_FRAME {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad frame length",
                ));
            }
            let end = used + 4 + len as usize;
            if buf.len() < end {
                break;
            }
            on_frame(sh, &buf[used + 4..end])?;
            used = end;
        }
        buf.drain(..used);
    }
}

fn on_frame(sh: &Shared, frame: &[u8]) -> io::Result<()> {
    let bad = |e: ringkeeper_engine::proto::DecodeError| {
        io::Error::new(io::ErrorKind::InvalidData, e.to_string())
    };
    let (header, body) = decode_reply_header(frame).map_err(bad)?;
    let mut g = sh.lock();
    if header.zxid > 0 {
        g.last_zxid = header.zxid;
    }
    match header.xid {
        xid::NOTIFICATION => {
            let ev = decode_watcher_event(body).map_err(bad)?;
            let path = sh.chroot.to_client(&ev.path);
            if g.watches.materialize(ev.event_type, &path) {
                drop(g);
                sh.events.send(WatchedEvent {
                    state: KeeperState::SyncConnected,
                    event_type: ev.event_type,
                    path: Some(path),
                });
            }
        }
        xid::PING | xid::SET_WATCHES_C => {}
        xid::AUTH => {
            if header.err == code::AUTH_FAILED {
                g.state = ConnState::AuthFailed;
                drop(g);
                sh.events
                    .send(WatchedEvent::state_change(KeeperState::AuthFailed));
            }
        }
        x => {
            let Some(p) = g.pending.remove(&x) else {
                return Ok(());
            };
            let result = if header.err == code::OK {
                decode_response(p.opcode, body).map_err(|_| code::MARSHALLING_ERROR)
            } else {
                Err(header.err)
            };
            if let Some(w) = p.watch {
                let reg = match (w, &result) {
                    (WatchOnReply::Data(path), Ok(_)) => Some(Registration::Data(path)),
                    (WatchOnReply::Exists(path), Ok(_)) => Some(Registration::Data(path)),
                    (WatchOnReply::Exists(path), Err(code::NO_NODE)) => {
                        Some(Registration::Exist(path))
                    }
                    (WatchOnReply::Child(path), Ok(_)) => Some(Registration::Child(path)),
                    (WatchOnReply::Add(r), Ok(_)) => Some(r),
                    _ => None,
                };
                if let Some(r) = reg {
                    g.watches.register(r);
                }
            }
            g.done.insert(x, result);
            sh.cv.notify_all();
        }
    }
    Ok(())
}
