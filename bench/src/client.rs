//! One ZooKeeper session over a blocking `TcpStream`: handshake, pipelined requests, replies
//! matched in order, notifications (xid -1) and ping replies (xid -2) skipped, keepalive pings.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use ringkeeper_engine::proto::{
    decode_connect_response, decode_reply_header, decode_response, encode_connect_request,
    encode_request, op, xid, ConnectRequest, ReplyHeader, Request, RequestHeader, Response,
};

use crate::error::{BenchError, Result};

/// Frames above this are treated as a broken stream (the protocol limit is about 1 MB).
const MAX_FRAME: usize = 64 << 20;
const READ_CHUNK: usize = 64 << 10;

/// A request on the wire whose reply has not arrived yet.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub xid: i32,
    pub opcode: i32,
    /// Caller's tag (the op kind index).
    pub tag: u8,
    /// When the latency clock started: the send time, or the intended time at a fixed rate.
    pub start: Instant,
}

/// What one incoming frame turned out to be.
#[derive(Debug)]
pub enum Event<'a> {
    Reply {
        pending: Pending,
        header: ReplyHeader,
        body: &'a [u8],
    },
    Notification,
    PingReply,
}

#[derive(Debug)]
pub struct Session {
    stream: TcpStream,
    pub addr: String,
    pub session_id: i64,
    pub timeout: Duration,
    next_xid: i32,
    wbuf: Vec<u8>,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    pending: VecDeque<Pending>,
    last_send: Instant,
}

impl Session {
    /// Connects and completes the handshake for a new session.
    pub fn connect(addr: &str, timeout_ms: i32) -> Result<Session> {
        let sock_addr = addr
            .to_socket_addrs()
            .map_err(|e| BenchError::new(format!("{addr}: {e}")))?
            .next()
            .ok_or_else(|| BenchError::new(format!("{addr}: no address")))?;
        let stream = TcpStream::connect_timeout(&sock_addr, Duration::from_secs(10))
            .map_err(|e| BenchError::new(format!("connect {addr}: {e}")))?;
        stream.set_nodelay(true)?;
        let mut s = Session {
            stream,
            addr: addr.to_string(),
            session_id: 0,
            timeout: Duration::from_millis(timeout_ms.max(1) as u64),
            next_xid: 1,
            wbuf: Vec::with_capacity(4096),
            rbuf: vec![0; READ_CHUNK * 2],
            rstart: 0,
            rend: 0,
            pending: VecDeque::new(),
            last_send: Instant::now(),
        };
        let req = ConnectRequest::new_session(timeout_ms);
        encode_connect_request(&req, &mut s.wbuf);
        s.flush()?;
        s.stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let body = s
            .read_frame_blocking()
            .map_err(|e| BenchError::new(format!("handshake (is the server serving?): {e}")))?;
        let resp = decode_connect_response(&body)
            .map_err(|e| BenchError::new(format!("{addr}: bad ConnectResponse: {e}")))?;
        if resp.timeout_ms <= 0 {
            return Err(BenchError::new(format!(
                "{addr}: session refused (timeout 0)"
            )));
        }
        s.session_id = resp.session_id;
        s.timeout = Duration::from_millis(resp.timeout_ms as u64);
        s.stream.set_read_timeout(None)?;
        Ok(s)
    }

    pub fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    pub fn drain_pending(&mut self) -> impl Iterator<Item = Pending> + '_ {
        self.pending.drain(..)
    }

    /// Encodes a request into the send buffer; `flush` puts it on the wire.
    pub fn queue(&mut self, opcode: i32, req: &Request, tag: u8, start: Instant) {
        let xid = self.next_xid;
        self.next_xid = if xid == i32::MAX { 1 } else { xid + 1 };
        encode_request(&RequestHeader { xid, opcode }, req, &mut self.wbuf);
        self.pending.push_back(Pending {
            xid,
            opcode,
            tag,
            start,
        });
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf)?;
            self.wbuf.clear();
            self.last_send = Instant::now();
        }
        Ok(())
    }

    /// When the next keepalive ping is due: a third of the session timeout after the last send.
    pub fn ping_due(&self) -> Instant {
        self.last_send + self.timeout / 3
    }

    pub fn ping(&mut self) -> io::Result<()> {
        let header = RequestHeader {
            xid: xid::PING,
            opcode: op::PING,
        };
        encode_request(&header, &Request::Ping, &mut self.wbuf);
        self.flush()
    }

    /// One `read` call (the caller knows the socket is readable, or is willing to block).
    /// Returns an error on EOF.
    pub fn read_some(&mut self) -> io::Result<usize> {
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rbuf.len() - self.rend < READ_CHUNK {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
            if self.rbuf.len() - self.rend < READ_CHUNK {
                self.rbuf.resize(self.rend + READ_CHUNK, 0);
            }
        }
        let n = self.stream.read(&mut self.rbuf[self.rend..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.rend += n;
        Ok(n)
    }

    /// Hands every complete frame in the read buffer to `f`, in order.
    pub fn process_frames(&mut self, mut f: impl FnMut(Event<'_>)) -> Result<()> {
        loop {
            let avail = self.rend - self.rstart;
            if avail < 4 {
                return Ok(());
            }
            let len_bytes = &self.rbuf[self.rstart..self.rstart + 4];
            let len = i32::from_be_bytes(len_bytes.try_into().expect("4 bytes"));
            if len < 0 || len as usize > MAX_FRAME {
                return Err(BenchError::new(format!(
                    "{}: bad frame length {len}",
                    self.addr
                )));
            }
            let len = len as usize;
            if avail < 4 + len {
                if self.rbuf.len() < 4 + len {
                    self.rbuf.resize(4 + len + READ_CHUNK, 0);
                }
                return Ok(());
            }
            let body_start = self.rstart + 4;
            self.rstart = body_start + len;
            let frame = &self.rbuf[body_start..body_start + len];
            let (header, body) = decode_reply_header(frame)
                .map_err(|e| BenchError::new(format!("{}: bad reply header: {e}", self.addr)))?;
            match header.xid {
                xid::NOTIFICATION => f(Event::Notification),
                xid::PING => f(Event::PingReply),
                x => {
                    let pending = match self.pending.pop_front() {
                        Some(p) if p.xid == x => p,
                        Some(p) => {
                            return Err(BenchError::new(format!(
                                "{}: xid out of order: got {x}, expected {}",
                                self.addr, p.xid
                            )))
                        }
                        None => {
                            return Err(BenchError::new(format!(
                                "{}: reply with xid {x} but nothing pending",
                                self.addr
                            )))
                        }
                    };
                    f(Event::Reply {
                        pending,
                        header,
                        body,
                    })
                }
            }
        }
    }

    fn read_frame_blocking(&mut self) -> Result<Vec<u8>> {
        loop {
            let avail = self.rend - self.rstart;
            if avail >= 4 {
                let len_bytes = &self.rbuf[self.rstart..self.rstart + 4];
                let len = i32::from_be_bytes(len_bytes.try_into().expect("4 bytes"));
                if len < 0 || len as usize > MAX_FRAME {
                    return Err(BenchError::new(format!(
                        "{}: bad frame length {len}",
                        self.addr
                    )));
                }
                let len = len as usize;
                if avail >= 4 + len {
                    let body = self.rbuf[self.rstart + 4..self.rstart + 4 + len].to_vec();
                    self.rstart += 4 + len;
                    return Ok(body);
                }
            }
            self.read_some()
                .map_err(|e| BenchError::new(format!("{}: {e}", self.addr)))?;
        }
    }

    /// Sends one request and blocks for its reply (setup, cleanup). Returns the error code
    /// (0 on success) and the decoded body.
    pub fn call(&mut self, opcode: i32, req: &Request) -> Result<(i32, Option<Response>)> {
        self.queue(opcode, req, 0, Instant::now());
        self.flush()?;
        let mut out = None;
        while out.is_none() {
            self.read_some()
                .map_err(|e| BenchError::new(format!("{}: {e}", self.addr)))?;
            let mut result = Ok(());
            self.process_frames(|ev| {
                if let Event::Reply {
                    header,
                    body,
                    pending,
                } = ev
                {
                    if header.err != 0 {
                        out = Some((header.err, None));
                    } else {
                        match decode_response(pending.opcode, body) {
                            Ok(r) => out = Some((0, Some(r))),
                            Err(e) => result = Err(BenchError::new(format!("bad response: {e}"))),
                        }
                    }
                }
            })?;
            result?;
        }
        Ok(out.expect("set above"))
    }

    /// Closes the session politely (closeSession), ignoring failures.
    pub fn close(mut self) {
        let header = RequestHeader {
            xid: self.next_xid,
            opcode: op::CLOSE_SESSION,
        };
        encode_request(&header, &Request::CloseSession, &mut self.wbuf);
        let _ = self.flush();
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut scratch = [0u8; 256];
        // Wait for the reply or the close, so the server logs a clean close, not a reset.
        while let Ok(n) = self.stream.read(&mut scratch) {
            if n == 0 {
                break;
            }
        }
    }
}

/// Polls the given fds for readability with a nanosecond timeout (`ppoll`). Returns the
/// indices of readable (or hung-up) fds in `ready`.
pub fn poll_readable(fds: &[RawFd], timeout: Duration, ready: &mut Vec<usize>) -> io::Result<()> {
    ready.clear();
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structs and `ts` a valid timespec,
    // both alive for the duration of the call; a null sigmask leaves the mask unchanged.
    let rc = unsafe {
        libc::ppoll(
            pfds.as_mut_ptr(),
            pfds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(());
        }
        return Err(err);
    }
    for (i, p) in pfds.iter().enumerate() {
        if p.revents != 0 {
            ready.push(i);
        }
    }
    Ok(())
}
