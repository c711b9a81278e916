"""One multiRead of ~65,000 getData sub-ops of a ~1 MiB znode (a 1 MiB request asking for a
~64 GB reply): the server answers with an error or closes that connection, without growing
by more than MULTIREAD_RSS_BOUND, while another session keeps being served."""

import struct
import time

import zkraw
from zkraw import OP

from conftest import JUTE_MAXBUFFER, RssMonitor, mib
import crashlib
import hostilelib

MULTIREAD_RSS_BOUND = 256 << 20
PROBE_MAX_LATENCY_S = 5.0
BIG = "/b"
BIG_DATA = 1_000_000
SUB_OP = zkraw.W().int(OP["getData"]).bool(False).int(-1).str(BIG).bool(False).bytes()
END = zkraw.W().int(-1).bool(True).int(-1).bytes()
N_SUB_OPS = (JUTE_MAXBUFFER - 8 - len(END)) // len(SUB_OP)


def huge_multiread(server, rss_bound: int = MULTIREAD_RSS_BOUND) -> str:
    """Runs the scenario on a started server; returns the outcome ("error N" or "closed")."""
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=60.0)
    assert c.create(BIG, b"m" * BIG_DATA).ok or c.exists(BIG).ok
    assert c.create("/small", b"s").ok or c.exists("/small").ok
    payload = struct.pack(">ii", 1, OP["multiRead"]) + SUB_OP * N_SUB_OPS + END
    assert len(payload) <= JUTE_MAXBUFFER
    print(f"\nmultiRead: {N_SUB_OPS} getData sub-ops of a {BIG_DATA}-byte znode in a "
          f"{len(payload)}-byte request ({N_SUB_OPS * BIG_DATA / 1e9:.0f} GB of data asked)")
    with hostilelib.LatencyProbe(server.port, "/small") as probe, \
            RssMonitor(server.pid) as rss:
        t0 = time.monotonic()
        c.send_raw(hostilelib.frame(payload))
        try:
            c._fill(20, time.monotonic() + 120)
            n, xid, zxid, err = struct.unpack(">iiqi", c.rbuf[:20])
            outcome = f"error {err} ({zkraw.ERR.get(err, '?')}), reply frame of {n} bytes"
        except zkraw.ConnectionClosed as e:
            err, outcome = None, f"closed ({e})"
        except TimeoutError:
            err, outcome = None, "no answer within 120 s, connection still open"
        dt = time.monotonic() - t0
        if server.alive():
            time.sleep(1.0)  # let the probe run after the outcome as well
    if not c.closed and server.alive():
        c.close_session()  # reads the error reply first
    c.close()
    print(f"outcome after {dt:.1f}s: {outcome}; server RSS {mib(rss.base)} -> peak "
          f"{mib(rss.peak)} (growth {mib(rss.growth)}, bound {mib(rss_bound)}); "
          f"other session: {probe.summary()}")
    server.check_survived("after the huge multiRead")
    assert not outcome.startswith("no answer"), outcome
    assert err != 0, f"the huge multiRead succeeded: {outcome}"
    assert rss.growth < rss_bound, f"RSS grew by {mib(rss.growth)}"
    assert not probe.failures, f"the other session failed: {probe.failures[:3]}"
    assert probe.latencies and probe.max < PROBE_MAX_LATENCY_S, probe.summary()
    after = hostilelib.round_trips(server.port, "/small", 20)
    assert max(after) < PROBE_MAX_LATENCY_S
    server.check_healthy("after the huge multiRead")
    return outcome


def test_huge_multiread(make_server):
    server = make_server()
    huge_multiread(server)
