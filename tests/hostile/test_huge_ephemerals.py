"""A session owning 80 ephemerals with ~900 KiB names ends (closeSession, or expiry): the
deletion of ~72 MiB of paths must neither take the server down nor come back after a restart.
(Before issue 9 the closeSession txn was one WAL record above the 64 MiB record limit and the
server exited with "record ... above the limit 67108864".)"""

import time

import zkraw

from conftest import JUTE_MAXBUFFER, wait_until
import crashlib

N_EPHEMERALS = 80
NAME_LEN = 900 * 1024  # a create request stays below jute.maxbuffer
PARENT = "/eph"
assert NAME_LEN + 200 < JUTE_MAXBUFFER


def names(n: int = N_EPHEMERALS):
    return [f"{i:03d}" + "x" * (NAME_LEN - 3) for i in range(n)]


def create_ephemerals(server, timeout_ms: int, n: int = N_EPHEMERALS) -> zkraw.ZkConn:
    admin = zkraw.connect(crashlib.HOST, server.port, timeout_ms=30000)
    assert admin.create(PARENT).ok
    admin.close_session()
    admin.close()
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=timeout_ms, io_timeout=60.0)
    t0 = time.monotonic()
    for name in names(n):
        r = c.create(f"{PARENT}/{name}", b"", flags=zkraw.EPHEMERAL)
        assert isinstance(r, zkraw.Reply) and r.ok, f"create ephemeral: {r!r}"[:300]
    print(f"\n{n} ephemerals of {NAME_LEN} bytes created in "
          f"{time.monotonic() - t0:.1f}s")
    return c


def children_count(server) -> int:
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=30000, io_timeout=30.0)
    try:
        r = c.get_all_children_number(PARENT)
        assert isinstance(r, zkraw.Reply) and r.ok, f"getAllChildrenNumber: {r!r}"
        # and no single ephemeral is there
        for name in names()[:: N_EPHEMERALS // 4]:
            e = c.exists(f"{PARENT}/{name}")
            assert isinstance(e, zkraw.Reply), e
            assert (e.err == zkraw.E["NONODE"]) == (r["total"] == 0), (r, e)
        c.close_session()
        return r["total"]
    finally:
        c.close()
        zkraw.LIVE_SESSIONS.clear()


def all_gone(server, what: str) -> bool:
    """True once no ephemeral is left; fails the test at once if the server died."""
    try:
        return server.alive() and children_count(server) == 0
    except (OSError, zkraw.ConnectionClosed):
        server.check_survived(what)
        raise


def ephemerals_gone_for_good(server, how: str) -> None:
    server.check_healthy(f"after the session {how}")
    assert children_count(server) == 0
    server.restart()
    server.check_healthy(f"after a restart once the session {how}")
    assert children_count(server) == 0, "the ephemerals came back after a restart"


def test_huge_ephemeral_set_close_session(make_server):
    server = make_server()
    c = create_ephemerals(server, timeout_ms=30000)
    assert children_count(server) == N_EPHEMERALS
    t0 = time.monotonic()
    r = c.close_session()
    c.close()
    print(f"closeSession answered {r!r} after {time.monotonic() - t0:.1f}s")
    server.check_survived("after closeSession of the huge ephemeral set")
    wait_until(lambda: all_gone(server, "after closeSession") or not server.alive(), 30,
               what="ephemerals deleted")
    ephemerals_gone_for_good(server, "closed")


def test_huge_ephemeral_set_expiry(make_server):
    server = make_server()  # tickTime 1000: a 4 s session expires within ~5 s
    c = create_ephemerals(server, timeout_ms=4000)
    assert children_count(server) == N_EPHEMERALS
    c.close()  # no closeSession, no pings: the session expires
    t0 = time.monotonic()
    wait_until(lambda: all_gone(server, "during expiry") or not server.alive(), 30,
               interval=0.5, what="the session to expire and its ephemerals to go")
    server.check_alive("after expiry of the session owning the huge ephemeral set")
    print(f"ephemerals gone {time.monotonic() - t0:.1f}s after the connection closed")
    ephemerals_gone_for_good(server, "expired")
