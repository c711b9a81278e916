"""Raw-socket tools of the hostile suite: frame builders, a pipelining driver, a latency
probe for "another client is still served", a connection flood and a slow reader.
The jute layouts are those of tests/diff/zkraw.py (ZK-PROTOCOL.md sections 1-3)."""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

import zkraw
from zkraw import OP, W

HOST = "127.0.0.1"
HEADER = struct.Struct(">iqi")  # reply header: xid, zxid, err


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def request_frame(xid: int, opcode: int, body: bytes = b"") -> bytes:
    return frame(struct.pack(">ii", xid, opcode) + body)


def connect_payload(timeout_ms: int = 30000, session_id: int = 0, passwd: bytes = bytes(16),
                    read_only: Optional[bool] = False) -> bytes:
    w = W().int(0).long(0).int(timeout_ms).long(session_id).buf(passwd)
    if read_only is not None:
        w.bool(read_only)
    return w.bytes()


class FrameBuf:
    """Incremental frame parser over a bytearray (front deletion is O(1) in CPython)."""

    def __init__(self, max_frame: int = 256 << 20) -> None:
        self.buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> None:
        self.buf += data

    def next(self) -> Optional[bytes]:
        if len(self.buf) < 4:
            return None
        (n,) = struct.unpack_from(">i", self.buf)
        if n < 0 or n > self.max_frame:
            raise ValueError(f"bad frame length from server: {n}")
        if len(self.buf) < 4 + n:
            return None
        f = bytes(self.buf[4:4 + n])
        del self.buf[:4 + n]
        return f


@dataclass
class RawReply:
    xid: int
    zxid: int
    err: int
    body: bytes

    @property
    def ok(self) -> bool:
        return self.err == 0


def pipeline(conn: zkraw.ZkConn, reqs: Iterable, window: int = 256,
             timeout: float = 300.0) -> list:
    """Sends (opcode, body) requests on a connected ZkConn with at most `window` unanswered,
    reading replies meanwhile (a reply as large as its request, e.g. a create's path, would
    otherwise fill both socket buffers and deadlock). Returns the RawReply list in arrival
    order; notifications are skipped. Raises on close or timeout."""
    sock = conn.sock
    sel = selectors.DefaultSelector()
    sock.setblocking(False)
    fb = FrameBuf()
    fb.feed(conn.rbuf)
    conn.rbuf = b""
    it = iter(reqs)
    out = bytearray()
    replies: list = []
    sent = 0
    exhausted = False
    deadline = time.monotonic() + timeout
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    try:
        while not (exhausted and not out and len(replies) == sent):
            while not exhausted and sent - len(replies) < window and len(out) < (4 << 20):
                try:
                    opcode, body = next(it)
                except StopIteration:
                    exhausted = True
                    break
                out += request_frame(conn.next_xid(), opcode, body)
                sent += 1
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0)
            sel.modify(sock, events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"pipeline: {len(replies)}/{sent} replies after {timeout}s")
            for _, ev in sel.select(min(left, 1.0)):
                if ev & selectors.EVENT_WRITE and out:
                    try:
                        n = sock.send(out)
                        del out[:n]
                    except BlockingIOError:
                        pass
                if ev & selectors.EVENT_READ:
                    try:
                        data = sock.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not data:
                        raise zkraw.ConnectionClosed(
                            f"pipeline: server closed after {len(replies)}/{sent} replies")
                    fb.feed(data)
                    while (f := fb.next()) is not None:
                        xid, zxid, err = HEADER.unpack_from(f)
                        if xid == zkraw.XID_NOTIFICATION:
                            continue
                        replies.append(RawReply(xid, zxid, err, f[16:]))
    finally:
        sel.close()
        sock.setblocking(True)
        sock.settimeout(conn.io_timeout)
        conn.rbuf = bytes(fb.buf)
    return replies


# ---------------------------------------------------------------------------------------------
# "another client is still served"


class LatencyProbe:
    """A second session doing getData round trips on `path` every `interval` seconds in a
    thread; records each latency and every failure (closed, timeout, error code)."""

    def __init__(self, port: int, path: str, interval: float = 0.05,
                 io_timeout: float = 30.0) -> None:
        self.conn = zkraw.connect(HOST, port, timeout_ms=60000, io_timeout=io_timeout,
                                  name="probe")
        self.path, self.interval = path, interval
        self.latencies: list = []
        self.started_at: list = []  # time.monotonic() at which each round trip began
        self.failures: list = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "LatencyProbe":
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            r = self.conn.get_data(self.path)
            dt = time.monotonic() - t0
            if isinstance(r, zkraw.Reply) and r.ok:
                self.latencies.append(dt)
                self.started_at.append(t0)
            else:
                self.failures.append(repr(r))
                if isinstance(r, zkraw.Closed):
                    return
            self._stop.wait(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join(timeout=60)
        try:
            self.conn.close_session()
        except Exception:  # noqa: BLE001 - the server may have closed it
            pass
        self.conn.close()

    @property
    def max(self) -> float:
        return max(self.latencies, default=0.0)

    def max_between(self, t0: float, t1: float) -> tuple:
        """(round trips begun in [t0, t1), the longest of them in seconds)."""
        lat = [dt for t, dt in zip(self.started_at, self.latencies) if t0 <= t < t1]
        return len(lat), max(lat, default=0.0)

    def summary(self) -> str:
        if not self.latencies:
            return f"no round trips completed; failures {self.failures[:3]}"
        s = sorted(self.latencies)
        p50, p99 = s[len(s) // 2], s[min(len(s) - 1, int(len(s) * 0.99))]
        return (f"{len(s)} round trips: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
                f"max {s[-1] * 1000:.1f} ms, failures {len(self.failures)}")


def round_trips(port: int, path: str, n: int = 50) -> list:
    """Latencies (s) of n getData round trips on a new session."""
    c = zkraw.connect(HOST, port, timeout_ms=30000, io_timeout=30.0)
    try:
        out = []
        for _ in range(n):
            t0 = time.monotonic()
            r = c.get_data(path)
            assert isinstance(r, zkraw.Reply) and r.ok, f"getData {path}: {r}"
            out.append(time.monotonic() - t0)
        c.close_session()
        return out
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# many connections


@dataclass
class Flood:
    socks: list = field(default_factory=list)
    session_ids: list = field(default_factory=list)
    handshake_s: float = 0.0


def open_sessions(port: int, n: int, timeout_ms: int = 120000, in_flight: int = 500,
                  deadline_s: float = 90.0) -> Flood:
    """Opens n TCP connections, each with a completed new-session handshake, keeping at most
    `in_flight` handshakes unanswered. Non-blocking; raises if it cannot finish in time."""
    sel = selectors.DefaultSelector()
    fl = Flood()
    pending: dict = {}  # sock -> bytearray of the reply so far
    hello = frame(connect_payload(timeout_ms))
    started = 0
    t0 = time.monotonic()
    deadline = t0 + deadline_s
    try:
        while len(fl.socks) < n:
            while started < n and len(pending) < in_flight:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex((HOST, port))
                pending[s] = bytearray()
                sel.register(s, selectors.EVENT_WRITE)
                started += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"only {len(fl.socks)}/{n} sessions after {deadline_s}s")
            for key, ev in sel.select(min(left, 1.0)):
                s = key.fileobj
                if ev & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, f"connect failed after {len(fl.socks)} sessions")
                    s.send(hello)  # 49 bytes into an empty socket buffer
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                try:
                    data = s.recv(64)
                except (BlockingIOError, InterruptedError):
                    continue
                if not data:
                    raise zkraw.ConnectionClosed(
                        f"server closed a connection during its handshake after "
                        f"{len(fl.socks)} sessions")
                buf = pending[s]
                buf += data
                if len(buf) >= 4 + 36:
                    (sid,) = struct.unpack_from(">q", buf, 4 + 8)
                    assert sid != 0, "server refused a new session"
                    sel.unregister(s)
                    del pending[s]
                    fl.socks.append(s)
                    fl.session_ids.append(sid)
    except BaseException:
        for s in list(pending) + fl.socks:
            s.close()
        raise
    finally:
        sel.close()
    fl.handshake_s = time.monotonic() - t0
    return fl


def close_sessions(fl: Flood, deadline_s: float = 60.0) -> int:
    """Sends closeSession on every connection, waits for each reply or EOF, closes all.
    Returns how many answered closeSession with OK."""
    sel = selectors.DefaultSelector()
    req = request_frame(1, OP["closeSession"])
    oks = 0
    waiting = {}
    for s in fl.socks:
        try:
            s.send(req)
        except OSError:
            s.close()
            continue
        waiting[s] = bytearray()
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + deadline_s
    try:
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(1.0):
                s = key.fileobj
                try:
                    data = s.recv(256)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                buf = waiting[s]
                buf += data
                if len(buf) >= 20:
                    _, _, err = HEADER.unpack_from(buf, 4)
                    oks += err == 0
                if not data or len(buf) >= 20:
                    sel.unregister(s)
                    del waiting[s]
                    s.close()
    finally:
        sel.close()
        for s in waiting:
            s.close()
        fl.socks.clear()
    return oks


# ---------------------------------------------------------------------------------------------
# slow reader


class SlowReader:
    """A session that pipelines `n` getData requests of `path` from a thread and reads no
    reply until `read_all` is called. The sender may block once the server stops reading
    (that is the back-pressure under test)."""

    def __init__(self, port: int, path: str, n: int) -> None:
        self.conn = zkraw.connect(HOST, port, timeout_ms=120000, io_timeout=120.0,
                                  name="slow")
        # small receive buffer: replies pile up in the server, not in this process's kernel
        self.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.n, self.path = n, path
        self.sent = 0
        self.send_error: Optional[str] = None
        body = zkraw.path_watch_body(path, False)
        self._frames = [request_frame(i + 1, OP["getData"], body) for i in range(n)]
        self._t = threading.Thread(target=self._send, daemon=True)

    def start(self) -> "SlowReader":
        self._t.start()
        return self

    def _send(self) -> None:
        batch = 256
        try:
            for i in range(0, self.n, batch):
                self.conn.sock.sendall(b"".join(self._frames[i:i + batch]))
                self.sent = min(self.n, i + batch)
        except OSError as e:
            self.send_error = f"{type(e).__name__}: {e}"

    def read_all(self, timeout: float = 240.0) -> dict:
        """Reads until every reply arrived or the server closed. Returns what happened:
        replies, whether their xids ascend from 1, errors seen, closed flag, seconds."""
        sock = self.conn.sock
        sock.settimeout(timeout)
        t0 = time.monotonic()
        deadline = t0 + timeout
        want_xid, in_order, errs, closed = 1, True, {}, False
        hdr = bytearray(20)
        view = memoryview(bytearray(1 << 20))
        replies = 0
        pending, self.conn.rbuf = self.conn.rbuf, b""

        def recv_exact(buf: memoryview) -> bool:
            nonlocal pending
            got = 0
            if pending:
                k = min(len(pending), len(buf))
                buf[:k] = pending[:k]
                pending = pending[k:]
                got = k
            while got < len(buf):
                if time.monotonic() > deadline:
                    raise TimeoutError("slow reader: read_all timed out")
                k = sock.recv_into(buf[got:])
                if k == 0:
                    return False
                got += k
            return True

        try:
            while replies < self.n:
                if not recv_exact(memoryview(hdr)):
                    closed = True
                    break
                n, xid, _, err = struct.unpack(">iiqi", hdr)
                left = n - 16
                while left > 0:
                    k = min(left, len(view))
                    if not recv_exact(view[:k]):
                        closed = True
                        break
                    left -= k
                if closed:
                    break
                if xid == zkraw.XID_NOTIFICATION:
                    continue
                if xid != want_xid:
                    in_order = False
                want_xid = xid + 1
                if err:
                    errs[err] = errs.get(err, 0) + 1
                replies += 1
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        self._t.join(timeout=30)
        return {"replies": replies, "in_order": in_order, "errors": errs, "closed": closed,
                "seconds": time.monotonic() - t0, "sent": self.sent,
                "send_error": self.send_error}

    def close(self) -> None:
        """Ends the session when the connection is still usable, then closes it."""
        if not self.conn.closed and not self._t.is_alive():
            try:
                self.conn.sock.settimeout(10)
                self.conn.close_session()
            except Exception:  # noqa: BLE001 - the server may have closed it meanwhile
                pass
        self.conn.close()
