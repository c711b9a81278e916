//! The connection thread of a `Client`: connects to the servers of the list in turn,
//! primes a new connection (SetWatches, auth), reads replies and notifications, pings when
//! idle, and on a lost connection moves on to the next server with the same session.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use ringkeeper_engine::proto::{
    decode_connect_response, decode_reply_header, decode_response, decode_watcher_event,
    encode_connect_request, encode_request, op, xid, ConnectRequest, ConnectResponse, Request,
    RequestHeader,
};

use super::client::{encode_auth, send, ConnState, Inner, Shared, WatchOnReply};
use super::event::{KeeperState, WatchedEvent};
use super::keeper_error::code;
use super::watches::Registration;

/// Frames above this are a broken stream (the server's own limit is about 1 MB).
const MAX_FRAME: usize = 64 << 20;
/// Pause after every server of the list refused, before the next round (Java: up to 1 s).
const ROUND_PAUSE: Duration = Duration::from_millis(1000);

/// The connection thread: connect, serve, and on a lost connection try the next server.
pub(super) fn run(sh: &Shared) {
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
) -> io::Result<(TcpStream, ConnectResponse)> {
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
