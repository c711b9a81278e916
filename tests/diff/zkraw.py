"""Minimal raw-socket ZooKeeper 3.8 client for differential testing.

Everything is exposed field by field: the connect handshake, every reply header
(xid, zxid, err), the raw body and a decoded body.  Every frame a connection
receives (replies and notifications) is kept in arrival order in ``conn.frames``
so tests can assert on interleaving.

The layouts follow /work/shared/ZK-PROTOCOL.md sections 1-3.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

# --------------------------------------------------------------------------
# constants

OP = {
    "notification": 0, "create": 1, "delete": 2, "exists": 3, "getData": 4,
    "setData": 5, "getACL": 6, "setACL": 7, "getChildren": 8, "sync": 9,
    "ping": 11, "getChildren2": 12, "check": 13, "multi": 14, "create2": 15,
    "reconfig": 16, "checkWatches": 17, "removeWatches": 18,
    "createContainer": 19, "deleteContainer": 20, "createTTL": 21,
    "multiRead": 22, "auth": 100, "setWatches": 101, "sasl": 102,
    "getEphemerals": 103, "getAllChildrenNumber": 104, "setWatches2": 105,
    "addWatch": 106, "whoAmI": 107, "createSession": -10, "closeSession": -11,
    "error": -1,
}
OPNAME = {v: k for k, v in OP.items()}

ERR = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED",
    -7: "OPERATIONTIMEOUT", -8: "BADARGUMENTS", -12: "UNKNOWNSESSION",
    -13: "NEWCONFIGNOQUORUM", -14: "RECONFIGINPROGRESS", -100: "APIERROR",
    -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -113: "INVALIDCALLBACK", -114: "INVALIDACL",
    -115: "AUTHFAILED", -118: "SESSIONMOVED", -119: "NOTREADONLY",
    -120: "EPHEMERALONLOCALSESSION", -121: "NOWATCHER", -122: "REQUESTTIMEOUT",
    -123: "RECONFIGDISABLED", -124: "SESSIONCLOSEDREQUIRESASLAUTH",
    -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
}
E = {v: k for k, v in ERR.items()}  # name -> code

# CreateMode flags
PERSISTENT, EPHEMERAL, PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL = 0, 1, 2, 3
CONTAINER, PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL = 4, 5, 6

# event types
NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged = 1, 2, 3, 4
EVENT = {-1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
         4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
         7: "PersistentWatchRemoved"}

# watch types for checkWatches/removeWatches
WT_CHILDREN, WT_DATA, WT_ANY = 1, 2, 3
# addWatch modes
PERSISTENT_WATCH, PERSISTENT_RECURSIVE_WATCH = 0, 1

PERM_READ, PERM_WRITE, PERM_CREATE, PERM_DELETE, PERM_ADMIN, PERM_ALL = 1, 2, 4, 8, 16, 31
OPEN_ACL = [(PERM_ALL, "world", "anyone")]
READ_ACL = [(PERM_READ, "world", "anyone")]

XID_NOTIFICATION, XID_PING, XID_AUTH = -1, -2, -4

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion",
               "aversion", "ephemeralOwner", "dataLength", "numChildren", "pzxid")
_STAT = struct.Struct(">qqqqiiiqiiq")
assert _STAT.size == 68


# --------------------------------------------------------------------------
# jute writer / reader

class W:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def int(self, v: int) -> "W":
        self.parts.append(struct.pack(">i", v))
        return self

    def long(self, v: int) -> "W":
        self.parts.append(struct.pack(">q", v))
        return self

    def bool(self, v: bool) -> "W":
        self.parts.append(b"\x01" if v else b"\x00")
        return self

    def byte(self, v: int) -> "W":
        self.parts.append(struct.pack(">b", v))
        return self

    def buf(self, v: Optional[bytes]) -> "W":
        if v is None:
            return self.int(-1)
        self.int(len(v))
        self.parts.append(bytes(v))
        return self

    def str(self, v: Optional[str]) -> "W":
        return self.buf(None if v is None else v.encode("utf-8"))

    def strs(self, v: Optional[list]) -> "W":
        if v is None:
            return self.int(-1)
        self.int(len(v))
        for s in v:
            self.str(s)
        return self

    def acls(self, acl: Optional[list]) -> "W":
        if acl is None:
            return self.int(-1)
        self.int(len(acl))
        for perms, scheme, ident in acl:
            self.int(perms).str(scheme).str(ident)
        return self

    def raw(self, b: bytes) -> "W":
        self.parts.append(b)
        return self

    def bytes(self) -> bytes:
        return b"".join(self.parts)


class Truncated(Exception):
    pass


class R:
    def __init__(self, data: bytes) -> None:
        self.d = data
        self.p = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.p + n > len(self.d):
            raise Truncated(f"need {n} bytes at {self.p}, have {len(self.d) - self.p}")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def remaining(self) -> int:
        return len(self.d) - self.p

    def int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def bool(self) -> bool:
        return self._take(1) != b"\x00"

    def buf(self) -> Optional[bytes]:
        n = self.int()
        if n == -1:
            return None
        return self._take(n)

    def str(self) -> Optional[str]:
        b = self.buf()
        return None if b is None else b.decode("utf-8", "surrogatepass")

    def strs(self) -> Optional[list]:
        n = self.int()
        if n == -1:
            return None
        return [self.str() for _ in range(n)]

    def stat(self) -> dict:
        return dict(zip(STAT_FIELDS, _STAT.unpack(self._take(68))))

    def acls(self) -> Optional[list]:
        n = self.int()
        if n == -1:
            return None
        return [(self.int(), self.str(), self.str()) for _ in range(n)]


def stop_process_group(p) -> None:
    """Stops a server started in its own process group (start_new_session): SIGTERM, then
    SIGKILL after 5 s; a group already gone is fine."""
    import os
    import signal
    import subprocess
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=5)


def wait_until(pred: Callable, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls `pred` until it returns something true (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# request bodies

def create_body(path, data=b"", acl=OPEN_ACL, flags=0) -> bytes:
    return W().str(path).buf(data).acls(acl).int(flags).bytes()


def create_ttl_body(path, data=b"", acl=OPEN_ACL, flags=PERSISTENT_WITH_TTL, ttl=1000) -> bytes:
    return W().str(path).buf(data).acls(acl).int(flags).long(ttl).bytes()


def path_watch_body(path, watch=False) -> bytes:
    return W().str(path).bool(watch).bytes()


def path_int_body(path, v) -> bytes:
    return W().str(path).int(v).bytes()


def multi_body(ops) -> bytes:
    """ops: list of tuples: (name, *args).  name may also be an int opcode,
    followed by a ready-made body (bytes) for abuse tests."""
    w = W()
    for op in ops:
        name = op[0]
        if isinstance(name, int):
            w.int(name).bool(False).int(-1).raw(op[1])
            continue
        code = OP[name]
        w.int(code).bool(False).int(-1)
        a = op[1:]
        if name in ("create", "create2", "createContainer"):
            w.raw(create_body(*a))
        elif name == "createTTL":
            w.raw(create_ttl_body(*a))
        elif name in ("delete", "check"):
            w.raw(path_int_body(a[0], a[1] if len(a) > 1 else -1))
        elif name == "setData":
            w.str(a[0]).buf(a[1]).int(a[2] if len(a) > 2 else -1)
        elif name in ("getData", "getChildren"):
            w.raw(path_watch_body(a[0], a[1] if len(a) > 1 else False))
        else:
            raise ValueError(f"op {name} not allowed in multi")
    w.int(-1).bool(True).int(-1)
    return w.bytes()


# --------------------------------------------------------------------------
# reply decoding

def decode_multi(r: R) -> list:
    out = []
    while True:
        typ, done, err = r.int(), r.bool(), r.int()
        if done:
            break
        res: dict[str, Any] = {"type": typ, "err": err}
        if typ == 1:
            res["path"] = r.str()
        elif typ in (15, 19, 21):
            res["path"] = r.str()
            res["stat"] = r.stat()
        elif typ == 5:
            res["stat"] = r.stat()
        elif typ in (2, 13):
            pass
        elif typ == -1:
            res["errbody"] = r.int()
        elif typ == 4:
            res["data"] = r.buf()
            res["stat"] = r.stat()
        elif typ == 8:
            res["children"] = r.strs()
        else:
            res["undecoded"] = r.d[r.p:]
            r.p = len(r.d)
            out.append(res)
            break
        out.append(res)
    return out


def decode_body(opcode: int, body: bytes) -> dict:
    r = R(body)
    f: dict[str, Any] = {}
    if opcode == 1 or opcode == 9:
        f["path"] = r.str()
    elif opcode in (15, 19, 21):
        f["path"] = r.str()
        f["stat"] = r.stat()
    elif opcode in (3, 5, 7):
        f["stat"] = r.stat()
    elif opcode == 4:
        f["data"] = r.buf()
        f["stat"] = r.stat()
    elif opcode == 6:
        f["acl"] = r.acls()
        f["stat"] = r.stat()
    elif opcode == 8:
        f["children"] = r.strs()
    elif opcode == 12:
        f["children"] = r.strs()
        f["stat"] = r.stat()
    elif opcode in (14, 22):
        f["results"] = decode_multi(r)
    elif opcode == 103:
        f["paths"] = r.strs()
    elif opcode == 104:
        f["total"] = r.int()
    elif opcode == 106:
        if r.remaining() >= 4:
            f["errbody"] = r.int()
    elif opcode == 102:
        f["token"] = r.buf()
    elif opcode == 107:
        n = r.int()
        f["clientInfo"] = [] if n < 0 else [(r.str(), r.str()) for _ in range(n)]
    if r.remaining():
        f["trailing"] = r.d[r.p:]
    return f


# --------------------------------------------------------------------------
# frames

@dataclass
class Reply:
    xid: int
    zxid: int
    err: int
    op: str
    body: bytes = b""
    f: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.err == 0

    @property
    def errname(self) -> str:
        return ERR.get(self.err, str(self.err))

    def __getitem__(self, k):
        if k not in self.f:
            raise AssertionError(f"{self!r} has no field {k!r}")
        return self.f[k]

    def __repr__(self) -> str:
        return f"Reply({self.op} xid={self.xid} zxid={self.zxid:#x} err={self.errname} f={self.f})"


@dataclass
class Notification:
    zxid: int
    err: int
    type: int
    state: int
    path: str

    @property
    def typename(self) -> str:
        return EVENT.get(self.type, str(self.type))

    def __repr__(self) -> str:
        return f"Notification({self.typename} {self.path} state={self.state})"


class Closed:
    """Marker: the server closed the connection before the awaited reply."""

    def __init__(self, why: str = "") -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"Closed({self.why})"

    ok = False
    err = None
    errname = "CLOSED"

    def __getitem__(self, k):
        raise AssertionError(f"connection closed, no field {k!r}")


class TimedOut:
    """Marker: no reply within the wait time (connection still open)."""

    def __repr__(self) -> str:
        return "TimedOut()"

    ok = False
    err = None
    errname = "TIMEOUT"

    def __getitem__(self, k):
        raise AssertionError(f"no reply (timeout), no field {k!r}")


class ConnectionClosed(Exception):
    pass


# --------------------------------------------------------------------------
# connection

# TLS mode of the differential suite (RINGKEEPER_DIFF_TLS=1): connections to a port in
# TLS_PORTS are wrapped with TLS_CONTEXT (a client certificate and the test CA).
TLS_CONTEXT: Optional[ssl.SSLContext] = None
TLS_PORTS: set = set()
# A server ending a TLS connection can surface as an SSL error instead of a reset.
RESET_ERRORS = (ConnectionResetError, BrokenPipeError, ssl.SSLError)


def open_socket(host: str, port: int, timeout: float) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    if TLS_CONTEXT is not None and port in TLS_PORTS:
        try:
            s = TLS_CONTEXT.wrap_socket(s, server_hostname="localhost")
        except BaseException:
            s.close()
            raise
    return s


def four_letter(host: str, port: int, cmd: str | bytes, timeout: float = 10.0,
                extra: bytes = b"") -> str:
    """Send a 4lw and return the whole text reply (read until EOF)."""
    if isinstance(cmd, str):
        cmd = cmd.encode()
    with open_socket(host, port, timeout) as s:
        s.sendall(cmd + extra)
        chunks = []
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except RESET_ERRORS:
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode("utf-8", "replace")


class ZkConn:
    """One TCP connection speaking the ZooKeeper client protocol."""

    def __init__(self, host: str, port: int, *, io_timeout: float = 10.0,
                 name: str = "c", on_frame: Optional[Callable] = None) -> None:
        self.host, self.port, self.name = host, port, name
        self.io_timeout = io_timeout
        self.sock = open_socket(host, port, io_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = b""
        self.xid = 0
        self.frames: list = []          # every received frame, in arrival order
        self.closed = False
        self.session_id = 0
        self.passwd = b"\0" * 16
        self.timeout = 0
        self.last_zxid = 0
        self.connect_resp: Optional[dict] = None
        self.on_frame = on_frame

    # ---- low level ---------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def _fill(self, n: int, deadline: float) -> None:
        while len(self.rbuf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("read timeout")
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(1 << 20)
            except socket.timeout:
                raise TimeoutError("read timeout")
            except RESET_ERRORS as e:
                self.closed = True
                raise ConnectionClosed(f"reset: {e}")
            if not b:
                self.closed = True
                raise ConnectionClosed("eof")
            self.rbuf += b

    def read_frame(self, timeout: Optional[float] = None) -> bytes:
        deadline = time.monotonic() + (self.io_timeout if timeout is None else timeout)
        self._fill(4, deadline)
        (n,) = struct.unpack(">i", self.rbuf[:4])
        if n < 0 or n > 64 << 20:
            raise ValueError(f"bad frame length from server: {n}")
        self._fill(4 + n, deadline)
        frame = self.rbuf[4:4 + n]
        self.rbuf = self.rbuf[4 + n:]
        return frame

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True if the server closes the connection within timeout (any pending
        frames are recorded)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._next_frame(deadline - time.monotonic())
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    # ---- handshake ---------------------------------------------------------
    def connect(self, timeout_ms: int = 30000, session_id: int = 0,
                passwd: bytes = b"\0" * 16, read_only: Optional[bool] = False,
                last_zxid: int = 0, protocol_version: int = 0):
        """Send ConnectRequest; read_only=None omits the trailing byte.
        Returns a dict of ConnectResponse fields, or Closed."""
        w = W().int(protocol_version).long(last_zxid).int(timeout_ms).long(session_id).buf(passwd)
        if read_only is not None:
            w.bool(read_only)
        self.send_frame(w.bytes())
        try:
            frame = self.read_frame()
        except ConnectionClosed as e:
            return Closed(str(e))
        r = R(frame)
        resp = {"protocolVersion": r.int(), "timeOut": r.int(), "sessionId": r.long(),
                "passwd": r.buf(), "bodyLen": len(frame)}
        if r.remaining() >= 1:
            resp["readOnly"] = r.bool()
        if r.remaining():
            resp["trailing"] = frame[r.p:]
        self.connect_resp = resp
        if resp["sessionId"] != 0:
            LIVE_SESSIONS[(self.host, self.port, resp["sessionId"])] = resp["passwd"]
        self.session_id = resp["sessionId"]
        self.passwd = resp["passwd"]
        self.timeout = resp["timeOut"]
        self.frames.append(("connect", resp))
        if self.on_frame:
            self.on_frame(self, ("connect", resp))
        return resp

    # ---- request/reply -----------------------------------------------------
    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    def send(self, opcode: int, body: bytes = b"", xid: Optional[int] = None) -> int:
        if xid is None:
            xid = self.next_xid()
        self.send_frame(struct.pack(">ii", xid, opcode) + body)
        return xid

    def _next_frame(self, timeout: float):
        frame = self.read_frame(timeout)
        r = R(frame)
        xid, zxid, err = r.int(), r.long(), r.int()
        if xid == XID_NOTIFICATION:
            if err == 0 and r.remaining() >= 12:
                typ, state, path = r.int(), r.int(), r.str()
            else:
                typ, state, path = None, None, None
            item = Notification(zxid, err, typ, state, path)
        else:
            op = self._pending.pop(xid, None) if hasattr(self, "_pending") else None
            opname = OPNAME.get(op, str(op)) if op is not None else "?"
            body = frame[16:]
            f = {}
            if err == 0 and op is not None:
                try:
                    f = decode_body(op, body)
                except Truncated as e:
                    f = {"decode_error": str(e), "raw": body}
            elif body:
                f = {"errbody_raw": body}
            item = Reply(xid, zxid, err, opname, body, f)
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
        self.frames.append(item)
        if self.on_frame:
            self.on_frame(self, item)
        return item

    def request(self, opcode: int, body: bytes = b"", xid: Optional[int] = None,
                timeout: Optional[float] = None):
        """Send a request and read frames until its reply arrives.
        Returns Reply, Closed (server closed first) or TimedOut."""
        if not hasattr(self, "_pending"):
            self._pending = {}
        try:
            xid = self.send(opcode, body, xid)
        except RESET_ERRORS as e:
            self.closed = True
            res = Closed(f"send: {e}")
            if self.on_frame:
                self.on_frame(self, res)
            return res
        self._pending[xid] = opcode
        return self.wait_reply(xid, timeout)

    def wait_reply(self, xid: int, timeout: Optional[float] = None):
        deadline = time.monotonic() + (self.io_timeout if timeout is None else timeout)
        while True:
            try:
                item = self._next_frame(deadline - time.monotonic())
            except ConnectionClosed as e:
                res = Closed(str(e))
                if self.on_frame:
                    self.on_frame(self, res)
                return res
            except TimeoutError:
                res = TimedOut()
                if self.on_frame:
                    self.on_frame(self, res)
                return res
            if isinstance(item, Reply) and item.xid == xid:
                return item

    def pipeline(self, reqs: list) -> list:
        """Send several (opcode, body) requests back to back; return replies in order."""
        if not hasattr(self, "_pending"):
            self._pending = {}
        xids = []
        for opcode, body in reqs:
            x = self.send(opcode, body)
            self._pending[x] = opcode
            xids.append(x)
        return [self.wait_reply(x) for x in xids]

    def notifications(self) -> list:
        return [f for f in self.frames if isinstance(f, Notification)]

    def drain(self, wait: float = 0.3) -> list:
        """Read whatever arrives within `wait` seconds (notifications)."""
        got = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            try:
                got.append(self._next_frame(left))
            except (TimeoutError, ConnectionClosed):
                return got

    # ---- operations --------------------------------------------------------
    def create(self, path, data=b"", acl=OPEN_ACL, flags=0):
        return self.request(1, create_body(path, data, acl, flags))

    def create2(self, path, data=b"", acl=OPEN_ACL, flags=0):
        return self.request(15, create_body(path, data, acl, flags))

    def create_container(self, path, data=b"", acl=OPEN_ACL, flags=CONTAINER):
        return self.request(19, create_body(path, data, acl, flags))

    def create_ttl(self, path, data=b"", acl=OPEN_ACL, flags=PERSISTENT_WITH_TTL, ttl=1000):
        return self.request(21, create_ttl_body(path, data, acl, flags, ttl))

    def delete(self, path, version=-1):
        return self.request(2, path_int_body(path, version))

    def exists(self, path, watch=False):
        return self.request(3, path_watch_body(path, watch))

    def get_data(self, path, watch=False):
        return self.request(4, path_watch_body(path, watch))

    def set_data(self, path, data, version=-1):
        return self.request(5, W().str(path).buf(data).int(version).bytes())

    def get_acl(self, path):
        return self.request(6, W().str(path).bytes())

    def set_acl(self, path, acl, version=-1):
        return self.request(7, W().str(path).acls(acl).int(version).bytes())

    def get_children(self, path, watch=False):
        return self.request(8, path_watch_body(path, watch))

    def get_children2(self, path, watch=False):
        return self.request(12, path_watch_body(path, watch))

    def sync(self, path):
        return self.request(9, W().str(path).bytes())

    def ping(self, timeout=None):
        return self.request(11, b"", xid=XID_PING, timeout=timeout)

    def check(self, path, version, timeout=None):
        return self.request(13, path_int_body(path, version), timeout=timeout)

    def multi(self, ops):
        return self.request(14, multi_body(ops))

    def multi_read(self, ops):
        return self.request(22, multi_body(ops))

    def reconfig(self, joining="", leaving="", members="", config_id=-1):
        return self.request(16, W().str(joining).str(leaving).str(members).long(config_id).bytes())

    def check_watches(self, path, wtype):
        return self.request(17, path_int_body(path, wtype))

    def remove_watches(self, path, wtype):
        return self.request(18, path_int_body(path, wtype))

    def add_watch(self, path, mode):
        return self.request(106, path_int_body(path, mode))

    def auth(self, scheme, data: bytes, typ=0):
        return self.request(100, W().int(typ).str(scheme).buf(data).bytes(), xid=XID_AUTH)

    def set_watches(self, rel_zxid, data=(), exist=(), child=(), xid=None):
        body = W().long(rel_zxid).strs(list(data)).strs(list(exist)).strs(list(child)).bytes()
        return self.request(101, body, xid=xid)

    def set_watches2(self, rel_zxid, data=(), exist=(), child=(), persistent=(),
                     recursive=(), xid=None):
        body = (W().long(rel_zxid).strs(list(data)).strs(list(exist)).strs(list(child))
                .strs(list(persistent)).strs(list(recursive)).bytes())
        return self.request(105, body, xid=xid)

    def sasl(self, token: bytes):
        return self.request(102, W().buf(token).bytes())

    def delete_container(self, path: str):
        """deleteContainer (20) is internal; its body is the raw UTF-8 path."""
        return self.request(20, path.encode())

    def who_am_i(self):
        return self.request(107, b"")

    def get_ephemerals(self, prefix):
        return self.request(103, W().str(prefix).bytes())

    def get_all_children_number(self, path):
        return self.request(104, W().str(path).bytes())

    def close_session(self):
        r = self.request(-11, b"")
        if isinstance(r, Reply) and r.ok:
            LIVE_SESSIONS.pop((self.host, self.port, self.session_id), None)
        return r


# Every session a handshake opened and no closeSession has ended yet, keyed by
# (host, port, session id), with its password. A session left behind expires on its own
# clock and logs a closeSession txn inside some later test, where it takes a zxid that
# the other server does not take at the same point of the transcript.
LIVE_SESSIONS: dict = {}


def end_sessions(host: Optional[str] = None, port: Optional[int] = None,
                 keep: frozenset | set = frozenset()) -> None:
    """Close every live session (of one server, if given): through a new connection
    that resumes it, since the connection that opened it may be gone. A session the
    server already ended answers the resume with id 0; one whose server is down is
    dropped. Sessions in `keep` are left alone."""
    for key, passwd in list(LIVE_SESSIONS.items()):
        h, p, sid = key
        if key in keep:
            continue
        if (host, port) != (None, None) and (h, p) != (host, port):
            continue
        LIVE_SESSIONS.pop(key, None)
        try:
            c = ZkConn(h, p, io_timeout=5.0, name="end")
        except OSError:
            continue
        try:
            resp = c.connect(timeout_ms=10000, session_id=sid, passwd=passwd)
            if not isinstance(resp, Closed) and resp["sessionId"] == sid:
                c.close_session()
        except (OSError, ConnectionClosed, TimeoutError):
            pass
        finally:
            c.close()


def connect(host: str, port: int, timeout_ms: int = 30000, **kw) -> ZkConn:
    """Open a connection and complete a new-session handshake."""
    c = ZkConn(host, port, **{k: v for k, v in kw.items() if k in ("io_timeout", "name", "on_frame")})
    resp = c.connect(timeout_ms=timeout_ms,
                     **{k: v for k, v in kw.items() if k in ("session_id", "passwd", "read_only", "last_zxid")})
    if isinstance(resp, Closed) or resp["sessionId"] == 0:
        raise ConnectionClosed(f"handshake failed: {resp}")
    return c
