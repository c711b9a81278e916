"""10,000 TCP connections from 127.0.0.1, each with a session: the server holds them within a
stated memory bound, shows them in mntr, keeps serving another client with normal latency,
and is fine once they all close."""

import time

import pytest

from conftest import NOFILE, RssMonitor, mib, wait_until
import hostilelib

N_CONNECTIONS = 10_000
# Per connection: socket buffers the kernel charges elsewhere, plus the server's own state
# (session, reader buffer, writer channel, task). Bound: PER_CONNECTION_BOUND each plus
# BASE_BOUND: about 3x the 16.7 KiB measured before issue 9 (printed as "per connection").
PER_CONNECTION_BOUND = 48 << 10
BASE_BOUND = 64 << 20
RSS_BOUND = BASE_BOUND + N_CONNECTIONS * PER_CONNECTION_BOUND
PROBE_MAX_LATENCY_S = 2.0
TIME_BOUND_S = 110.0


def many_connections(server, n: int = N_CONNECTIONS, rss_bound: int = RSS_BOUND) -> None:
    assert NOFILE > n + 100, f"RLIMIT_NOFILE {NOFILE} too low for {n} connections"
    t_start = time.monotonic()
    base_sessions = int(server.mntr()["zk_global_sessions"])
    c = hostilelib.round_trips(server.port, "/", 1)  # warm-up; also proves service
    assert c
    with RssMonitor(server.pid) as rss:
        flood = hostilelib.open_sessions(server.port, n)
        try:
            held = rss.sample()
            m = server.mntr()
            alive_cnx = int(m["zk_num_alive_connections"])
            sessions = int(m["zk_global_sessions"])
            lat = sorted(hostilelib.round_trips(server.port, "/", 50))
            print(f"\n{n} sessions opened in {flood.handshake_s:.1f}s; mntr: "
                  f"zk_num_alive_connections {alive_cnx}, zk_global_sessions {sessions}; "
                  f"server RSS {mib(rss.base)} -> {mib(held)} "
                  f"({(held - rss.base) / n / 1024:.1f} KiB per connection; bound "
                  f"{mib(rss_bound)}); another client: p50 {lat[25] * 1000:.1f} ms, max "
                  f"{lat[-1] * 1000:.1f} ms")
            assert alive_cnx >= n, m
            # (not base + n: a session an earlier phase of the gauntlet left may expire now)
            assert sessions >= n, m
            assert lat[-1] < PROBE_MAX_LATENCY_S
        finally:
            t0 = time.monotonic()
            oks = hostilelib.close_sessions(flood)
            print(f"closed: {oks} closeSession OK in {time.monotonic() - t0:.1f}s")
    print(f"server RSS peak {mib(rss.peak)} (growth {mib(rss.growth)})")
    assert rss.growth < rss_bound, f"RSS grew by {mib(rss.growth)} (bound {mib(rss_bound)})"
    wait_until(lambda: int(server.mntr()["zk_num_alive_connections"]) <= 2, 30,
               interval=0.2, what="the connections to be gone from mntr")
    wait_until(lambda: int(server.mntr()["zk_global_sessions"]) <= base_sessions, 30,
               interval=0.2, what="the sessions to be gone")
    server.check_healthy("after 10,000 connections came and went")
    elapsed = time.monotonic() - t_start
    print(f"many-connections scenario took {elapsed:.1f}s")
    assert elapsed < TIME_BOUND_S


@pytest.mark.timeout(120)
def test_ten_thousand_connections(make_server):
    server = make_server()
    many_connections(server)
