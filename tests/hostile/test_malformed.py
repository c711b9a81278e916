"""A battery of malformed and hostile frames, each on a fresh connection (before or after the
handshake). After each one: ruok is imok, mntr answers, an older session and a new one work.
Whether the server answered or closed that connection is recorded (printed), not asserted:
any error code or a close is acceptable, only a server exit or a stuck server is not.
At the end the server is SIGKILLed and restarted on its data, and checked again."""

from __future__ import annotations

import random
import socket
import struct
import time

import zkraw
from zkraw import OP, W, create_body

from conftest import JUTE_MAXBUFFER
import crashlib
import hostilelib
from hostilelib import connect_payload, frame

SEED = 0x9E3779B9
N_RANDOM = 24
OBSERVE_S = 0.25  # how long a case's connection is watched for replies or a close
I32_MAX = (1 << 31) - 1


def L(n: int) -> bytes:
    return struct.pack(">i", n)


def req(opcode: int, body: bytes = b"", xid: int = 1) -> bytes:
    return frame(struct.pack(">ii", xid, opcode) + body)


def huge_paths(n_bytes: int, prefix: str) -> list:
    out, total, i = [], 0, 0
    while total < n_bytes:
        p = f"/{prefix}/{i:07d}"
        out.append(p)
        total += 4 + len(p)
        i += 1
    return out


def set_watches_body(rel_zxid: int, lists: list) -> bytes:
    w = W().long(rel_zxid)
    for lst in lists:
        w.strs(lst)
    return w.bytes()


def cases() -> list:
    """(name, handshake first?, bytes to send, seconds to watch the connection)."""
    c = []
    pre = lambda name, b, w=OBSERVE_S: c.append((name, False, b, w))  # noqa: E731
    post = lambda name, b, w=OBSERVE_S: c.append((name, True, b, w))  # noqa: E731

    # frame lengths, before and after the handshake
    for when, add in (("pre", pre), ("post", post)):
        add(f"{when}: length -1", L(-1) + b"\0" * 16)
        add(f"{when}: length -2^31", L(-(1 << 31)) + b"\0" * 16)
        add(f"{when}: length 0", L(0))
        add(f"{when}: length 0 twice then garbage", L(0) + L(0) + b"\xde\xad\xbe\xef" * 4)
        add(f"{when}: length 2^31-1", L(I32_MAX) + b"\0" * 64)
        add(f"{when}: length jute.maxbuffer+1", L(JUTE_MAXBUFFER + 1) + b"\0" * 64)
        add(f"{when}: length 64 MiB with 1 MiB of body", L(64 << 20) + b"\0" * (1 << 20))
        add(f"{when}: truncated body", L(100) + b"\0" * 10)
        add(f"{when}: truncated length", b"\0\0")

    # connect requests
    pre("connect: random 45 bytes", frame(random.Random(1).randbytes(45)))
    pre("connect: 10 bytes", frame(b"\0" * 10))
    pre("connect: passwd length -5", frame(W().int(0).long(0).int(30000).long(0).int(-5).bytes()))
    pre("connect: passwd length 2^31-1", frame(W().int(0).long(0).int(30000).long(0)
                                                .int(I32_MAX).raw(b"\0" * 16).bytes()))
    pre("connect: passwd 100 KB", frame(W().int(0).long(0).int(30000).long(0)
                                        .buf(b"p" * 100_000).bytes()))
    pre("connect: negative timeout", frame(connect_payload(timeout_ms=-1)))
    pre("connect: timeout 2^31-1", frame(connect_payload(timeout_ms=I32_MAX)))
    pre("connect: protocol version -1", frame(W().int(-1).long(0).int(30000).long(0)
                                              .buf(bytes(16)).bool(False).bytes()))
    pre("connect: lastZxidSeen 2^63-1", frame(W().int(0).long((1 << 63) - 1).int(30000).long(0)
                                              .buf(bytes(16)).bool(False).bytes()))
    pre("connect: unknown session id", frame(connect_payload(session_id=0x1234_5678_9ABC)))
    pre("connect: session id -1", frame(connect_payload(session_id=-1)))
    pre("connect: 1000 trailing bytes", frame(connect_payload() + b"\xff" * 1000))
    pre("connect twice in one write", frame(connect_payload()) * 2)
    pre("connect: 1 MiB of trailing bytes", frame(connect_payload() + b"\x01" * (JUTE_MAXBUFFER - 60)))
    pre("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    pre("TLS client hello", bytes.fromhex("16030100a5010000a10303") + b"\0" * 160)

    # requests before the handshake
    pre("getData before connect", req(OP["getData"], zkraw.path_watch_body("/")))
    pre("closeSession before connect", req(OP["closeSession"]))
    pre("ping before connect", req(OP["ping"], xid=-2))
    pre("auth before connect", req(OP["auth"], W().int(0).str("digest").buf(b"a:b").bytes(), -4))

    # request headers and opcodes
    post("header of 4 bytes", frame(L(1)))
    post("header of 7 bytes", frame(L(1) + b"\0\0\4"))
    for opc in (77, 9999, -12345, 0, I32_MAX, -(1 << 31), 20):
        post(f"opcode {opc}", req(opc, b"\0" * 8))
    for xid in (-1, -2, -8, -(1 << 31), I32_MAX):
        post(f"getData with xid {xid}", req(OP["getData"], zkraw.path_watch_body("/"), xid))

    # truncated and lying bodies
    post("getData: path length 100, 3 bytes", req(OP["getData"], L(100) + b"/ab"))
    post("getData: path length -7", req(OP["getData"], L(-7) + b"\0"))
    post("getData: null path", req(OP["getData"], L(-1) + b"\0"))
    post("getData: no watch byte", req(OP["getData"], W().str("/").bytes()))
    post("create: path length 2^31-1", req(OP["create"], L(I32_MAX) + b"/x"))
    post("create: data length 2^31-1", req(OP["create"], W().str("/x").int(I32_MAX).raw(b"d").bytes()))
    post("create: data length -2", req(OP["create"], W().str("/x").int(-2).acls(zkraw.OPEN_ACL)
                                        .int(0).bytes()))
    post("create: ACL count -5", req(OP["create"], W().str("/x").buf(b"").int(-5).int(0).bytes()))
    post("create: ACL count 2^31-1", req(OP["create"], W().str("/x").buf(b"").int(I32_MAX)
                                          .int(31).str("world").bytes()))
    post("create: no flags", req(OP["create"], W().str("/x").buf(b"").acls(zkraw.OPEN_ACL).bytes()))
    post("create: flags 99", req(OP["create"], create_body("/x", b"", flags=99)))
    post("createTTL: ttl -1", req(OP["createTTL"], zkraw.create_ttl_body("/x", ttl=-1)))
    post("createTTL: ttl 2^63-1", req(OP["createTTL"], zkraw.create_ttl_body("/x", ttl=(1 << 63) - 1)))
    post("setData: truncated version", req(OP["setData"], W().str("/").buf(b"v").bytes() + b"\0"))
    post("getChildren: trailing 64 KB", req(OP["getChildren"], zkraw.path_watch_body("/")
                                            + b"\xaa" * 65536))

    # strings that are not UTF-8
    for name, raw in (("lone continuation", b"/\x80"), ("overlong", b"/\xc0\xaf"),
                      ("truncated sequence", b"/\xe2\x82"), ("surrogate", b"/\xed\xa0\x80"),
                      ("0xff", b"/\xff\xfe"), ("NUL", b"/a\x00b")):
        post(f"create: path {name}", req(OP["create"], L(len(raw)) + raw + W().buf(b"")
                                         .acls(zkraw.OPEN_ACL).int(0).bytes()))
        post(f"getData: path {name}", req(OP["getData"], L(len(raw)) + raw + b"\0"))
    post("create: ACL scheme not UTF-8", req(OP["create"], W().str("/u").buf(b"").int(1).int(31)
                                              .buf(b"w\xffrld").str("anyone").int(0).bytes()))

    # vectors
    post("multi: op header then nothing", req(OP["multi"], W().int(OP["create"]).bool(False)
                                               .int(-1).bytes()))
    post("multi: nested multi", req(OP["multi"], W().int(OP["multi"]).bool(False).int(-1)
                                    .raw(zkraw.multi_body([])).bytes()))
    post("multi: unknown sub-op", req(OP["multi"], W().int(77).bool(False).int(-1).raw(b"\0" * 8)
                                      .int(-1).bool(True).int(-1).bytes()))
    post("multi: no end marker", req(OP["multi"], zkraw.multi_body([("check", "/", -1)])[:-9]))
    post("multiRead: 2^31-1 in a sub-op path length",
         req(OP["multiRead"], W().int(OP["getData"]).bool(False).int(-1).int(I32_MAX).bytes()))
    post("setWatches: count 2^31-1", req(OP["setWatches"], W().long(0).int(I32_MAX)
                                          .str("/a").bytes(), -8))
    post("setWatches: count -7", req(OP["setWatches"], W().long(0).int(-7).int(0).int(0).bytes(), -8))
    post("setWatches2: count 2^31-1 in the last list",
         req(OP["setWatches2"], W().long(0).int(0).int(0).int(0).int(0).int(I32_MAX).bytes(), -8))
    big = huge_paths(JUTE_MAXBUFFER - 200, "w")
    post(f"setWatches: {len(big)} exist watches on missing nodes",
         req(OP["setWatches"], set_watches_body(0, [[], big, []]), -8), 10.0)
    third = huge_paths((JUTE_MAXBUFFER - 200) // 5, "v")
    post(f"setWatches2: 5 lists of {len(third)} paths",
         req(OP["setWatches2"], set_watches_body(0, [third] * 5), -8), 10.0)
    post("setWatches: relative zxid 2^63-1",
         req(OP["setWatches"], set_watches_body((1 << 63) - 1, [["/"], ["/"], ["/"]]), -8))

    # auth
    for name, scheme, data in (("unknown scheme", "nope", b"x"), ("empty scheme", "", b"x"),
                               ("digest without colon", "digest", b"nocolon"),
                               ("digest empty", "digest", b""), ("world scheme", "world", b"anyone"),
                               ("ip scheme", "ip", b"1.2.3.4"), ("sasl scheme", "sasl", b"x"),
                               ("super scheme", "super", b"x"),
                               ("100 KB scheme", "s" * 100_000, b"x")):
        post(f"auth: {name}", req(OP["auth"], W().int(0).str(scheme).buf(data).bytes(), -4))
    post("auth: null scheme", req(OP["auth"], W().int(0).int(-1).buf(b"x").bytes(), -4))
    post("auth: scheme not UTF-8", req(OP["auth"], W().int(0).buf(b"dig\xffest").buf(b"a:b")
                                       .bytes(), -4))
    post("auth: type 7", req(OP["auth"], W().int(7).str("digest").buf(b"a:b").bytes(), -4))
    post("auth: with a normal xid", req(OP["auth"], W().int(0).str("nope").buf(b"x").bytes(), 5))
    post("sasl: 1 KB garbage token", req(OP["sasl"], W().buf(b"\x00\xff" * 512).bytes()))

    # watches
    for mode in (-1, 2, 99, I32_MAX):
        post(f"addWatch: mode {mode}", req(OP["addWatch"], W().str("/").int(mode).bytes()))
    for op_ in ("checkWatches", "removeWatches"):
        post(f"{op_}: type 42", req(OP[op_], W().str("/").int(42).bytes()))
    post("reconfig: garbage", req(OP["reconfig"], b"\xff" * 40))
    post("whoAmI: trailing garbage", req(OP["whoAmI"], b"\x01" * 33))
    post("closeSession: body garbage", req(OP["closeSession"], b"\x02" * 17))
    post("getEphemerals: prefix not UTF-8", req(OP["getEphemerals"], L(2) + b"/\xff"))
    post("getAllChildrenNumber: path length -1", req(OP["getAllChildrenNumber"], L(-1)))
    post("sync: path length 2^31-1", req(OP["sync"], L(I32_MAX) + b"/"))
    post("1000 pipelined pings, then a close", req(OP["ping"], xid=-2) * 1000)

    # seeded random bytes
    rnd = random.Random(SEED)
    for i in range(N_RANDOM // 2):
        pre(f"random raw bytes #{i}", rnd.randbytes(rnd.randrange(1, 300)))
    ops = [v for v in OP.values() if v not in (OP["closeSession"],)]
    for i in range(N_RANDOM // 2):
        opc = rnd.choice(ops)
        post(f"random body #{i} for opcode {opc}",
             req(opc, rnd.randbytes(rnd.randrange(0, 200)), xid=rnd.randrange(-10, 1000)))
    return c


def observe(sock: socket.socket, window: float, handshake_done: bool) -> str:
    """What the server did within `window`: "closed", "replies ... then closed", "open".
    On a connection without a handshake, a first frame of 36/37 bytes is a ConnectResponse.
    Cases given a longer window (a huge setWatches) stop waiting at their first reply."""
    fb = hostilelib.FrameBuf()
    seen = []
    deadline = time.monotonic() + window
    state = "open"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        except OSError:
            state = "reset"
            break
        if not data:
            state = "closed"
            break
        fb.feed(data)
        try:
            while (f := fb.next()) is not None:
                if not handshake_done and not seen and len(f) in (36, 37):
                    (sid,) = struct.unpack_from(">q", f, 8)
                    seen.append("session granted" if sid else "session refused (id 0)")
                elif len(f) >= 16:
                    xid, _, err = hostilelib.HEADER.unpack_from(f)
                    seen.append(f"xid {xid} {zkraw.ERR.get(err, err)}")
                else:
                    seen.append(f"{len(f)}-byte frame")
        except ValueError:
            seen.append("unframed bytes")
            fb.buf.clear()
        if seen and window > OBSERVE_S:
            break  # the awaited reply of a slow case came
    if len(seen) > 4:
        seen = seen[:2] + [f"... {len(seen) - 3} more ..."] + seen[-1:]
    return ("; ".join(seen) + " then " if seen else "") + state


def run_case(server, handshake: bool, payload: bytes, window: float) -> str:
    s = socket.create_connection((crashlib.HOST, server.port), timeout=5)
    try:
        if handshake:
            s.sendall(frame(connect_payload()))
            hdr = b""
            while len(hdr) < 41:
                b = s.recv(41 - len(hdr))
                assert b, "handshake refused"
                hdr += b
        try:
            s.sendall(payload)
        except OSError as e:
            return f"send failed: {type(e).__name__}"
        return observe(s, window, handshake)
    finally:
        s.close()


def run_battery(server, restart: bool = True, every: int = 1) -> list:
    """Runs the cases (every `every`-th one: the gauntlet runs a share of them)."""
    keeper = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=10.0)
    assert keeper.create("/keep", b"before the battery").ok or keeper.exists("/keep").ok
    results = []
    t0 = time.monotonic()
    for name, handshake, payload, window in cases()[::every]:
        outcome = run_case(server, handshake, payload, window)
        results.append((name, outcome))
        server.check_alive(f"after case {name!r} ({outcome})")
        r = keeper.get_data("/keep")
        assert isinstance(r, zkraw.Reply) and r.ok, f"older session after case {name!r}: {r!r}"
        server.check_healthy(f"after case {name!r}")
    print(f"\nmalformed-frame battery: {len(results)} cases in {time.monotonic() - t0:.1f}s")
    for name, outcome in results:
        print(f"  {name[:60]:60s} -> {outcome}")
    keeper.close_session()
    keeper.close()
    if restart:
        server.restart()
        server.check_healthy("after a restart following the battery")
        c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=30000)
        r = c.get_data("/keep")
        assert r.ok and r["data"] == b"before the battery", f"/keep after the restart: {r!r}"
        c.close_session()
        c.close()
    zkraw.LIVE_SESSIONS.clear()
    return results


def test_malformed_frames(make_server):
    server = make_server()
    run_battery(server)
