"""A client pipelines 20,000 getData of a 512 KiB znode (~10 GB of replies) and reads none of
them for a while. The server must bound what it buffers for that connection (RSS growth under
SLOW_READER_RSS_BOUND) and keep serving another session; when the client finally reads,
every reply arrives in xid order, or the server has closed that connection."""

import time

import zkraw

from conftest import RssMonitor, mib
import crashlib
import hostilelib

N_REQUESTS = 20_000
DATA_LEN = 512 * 1024
# 64 MiB for the server's own buffers plus a per-connection bound of queued replies of the
# order of 64 MiB. Apache ZooKeeper 3.8 grew 43 MiB here; Ringkeeper before issue 9 ~1 GiB.
SLOW_READER_RSS_BOUND = 128 << 20
STALL_S = 8.0  # how long the client reads nothing
# Another session's getData round trips: while the slow client reads nothing, and overall
# (including while it reads ~10 GB of replies, which is heavy but legitimate traffic).
PROBE_MAX_LATENCY_STALL_S = 3.0
PROBE_MAX_LATENCY_S = 5.0


def slow_reader(server, n: int = N_REQUESTS, rss_bound: int = SLOW_READER_RSS_BOUND,
                stall_s: float = STALL_S) -> dict:
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=30000)
    assert c.create("/s", b"r" * DATA_LEN).ok or c.exists("/s").ok
    assert c.create("/small", b"s").ok or c.exists("/small").ok
    c.close_session()
    c.close()
    with RssMonitor(server.pid) as rss, hostilelib.LatencyProbe(server.port, "/small") as probe:
        reader = hostilelib.SlowReader(server.port, "/s", n).start()
        t_stall = time.monotonic()
        time.sleep(stall_s)
        stalled_growth, sent_by_then = rss.growth, reader.sent
        stall_trips, stall_max = probe.max_between(t_stall, time.monotonic())
        alive = server.alive()
        res = reader.read_all() if alive else {}
        reader.close()
    print(f"\nslow reader: {n} x getData({DATA_LEN} bytes); after {stall_s:.0f}s without reading "
          f"the client had sent {sent_by_then}, server RSS {mib(rss.base)} -> peak "
          f"{mib(rss.peak)} (growth {mib(rss.growth)}, {mib(stalled_growth)} during the "
          f"stall; bound {mib(rss_bound)}); other session: {probe.summary()}; during the stall "
          f"{stall_trips} round trips, max {stall_max * 1000:.1f} ms")
    print(f"reading everything: {res}")
    server.check_alive("with a slow reader")
    assert rss.growth < rss_bound, f"RSS grew by {mib(rss.growth)} (bound {mib(rss_bound)})"
    assert not probe.failures, f"the other session failed: {probe.failures[:3]}"
    assert stall_trips and stall_max < PROBE_MAX_LATENCY_STALL_S, \
        f"during the stall: {stall_trips} round trips, max {stall_max:.2f}s"
    assert probe.latencies and probe.max < PROBE_MAX_LATENCY_S, probe.summary()
    if not res["closed"]:
        assert res["replies"] == n, res
    assert res["in_order"], f"replies out of xid order: {res}"
    assert not res["errors"], f"error replies: {res}"
    server.check_healthy("after the slow reader")
    return res


def test_slow_reader(make_server):
    server = make_server()
    res = slow_reader(server)
    print("slow reader outcome: " + ("connection closed by the server after "
                                     f"{res['replies']} replies" if res["closed"]
                                     else f"all {res['replies']} replies, in order"))
