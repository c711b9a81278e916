"""A chain of 10,000 nested znodes: reading the deepest, a recursive watch firing at the
bottom, recovery both from the log and from a snapshot covering the chain, and counting them
(getAllChildrenNumber). Nothing may recurse once per level on a bounded stack (Apache
ZooKeeper 3.8 cannot restart on such a tree; Ringkeeper before issue 9 overflowed its stack
counting a chain of 1,000).

The count comes last, after the restarts, so that a server that cannot count still shows
whether it can recover such a tree. The bytes sent grow with the square of the depth (every
create carries its full path): 10,000 levels are 100 MB of paths, about 40 s with a debug
build on 2 cores; RINGKEEPER_HOSTILE_DEPTH=20000 runs the 400 MB variant (about 2.5 min)."""

import os
import time

import zkraw
from zkraw import OP, create_body

from conftest import SNAP_COUNT_KEY, wait_until
import crashlib
import hostilelib

DEPTH = int(os.environ.get("RINGKEEPER_HOSTILE_DEPTH", "10000"))
ROOT = "/d"
# snapCount for the snapshot round: low enough that a few small writes start a snapshot,
# which then covers the whole chain.
SNAP_COUNT_LOW = 100


def level(k: int) -> str:
    """Path of the k-th znode below ROOT (k = 1 .. DEPTH)."""
    return ROOT + "/a" * k


DEEPEST = level(DEPTH)


def build_chain(server, depth: int = DEPTH) -> None:
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=60.0)
    try:
        assert c.create(ROOT).ok
        t0 = time.monotonic()
        reqs = ((OP["create"], create_body(ROOT + "/a" * k, b"")) for k in range(1, depth + 1))
        replies = hostilelib.pipeline(c, reqs, window=64, timeout=400)
        bad = [r for r in replies if not r.ok]
        assert len(replies) == depth and not bad, \
            f"{len(bad)} of {len(replies)} creates failed, first err {bad[0].err if bad else ''}"
        print(f"\nchain of {depth} znodes created in {time.monotonic() - t0:.1f}s")
        assert c.set_data(ROOT + "/a" * depth, b"bottom").ok
        c.close_session()
    finally:
        c.close()


def check_chain(server, depth: int = DEPTH, what: str = "", count: bool = False) -> None:
    """The deepest znode and its data, and every 500th level with exactly one child; with
    count, getAllChildrenNumber of the root as well (every level is there)."""
    server.check_alive(what)
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=60.0)
    try:
        deepest = ROOT + "/a" * depth
        g = c.get_data(deepest)
        if isinstance(g, zkraw.Closed):
            server.check_survived(f"after getData of the deepest znode {what}")
        assert isinstance(g, zkraw.Reply) and g.ok and g["data"] == b"bottom", \
            f"getData(deepest) {what}: {g!r}"[:400]
        for k in [1] + list(range(500, depth, 500)) + [depth - 1]:
            e = c.exists(ROOT + "/a" * k)
            assert isinstance(e, zkraw.Reply) and e.ok and e["stat"]["numChildren"] == 1, \
                f"exists(level {k}) {what}: {e!r}"[:400]
        assert c.exists(deepest + "/a").err == zkraw.E["NONODE"]
        if count:
            t0 = time.monotonic()
            r = c.get_all_children_number(ROOT)
            if isinstance(r, zkraw.Closed):
                server.check_survived(f"after getAllChildrenNumber({ROOT}) {what}")
            assert isinstance(r, zkraw.Reply) and r.ok and r["total"] == depth, \
                f"getAllChildrenNumber({ROOT}) {what}: {r!r}"[:400]
            print(f"getAllChildrenNumber({ROOT}) = {depth} in {(time.monotonic() - t0) * 1000:.0f} ms")
        print(f"chain checked {what}")
        c.close_session()
    finally:
        c.close()
        zkraw.LIVE_SESSIONS.clear()


def check_recursive_watch(server, depth: int = DEPTH) -> None:
    deepest = ROOT + "/a" * depth
    w = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=60.0)
    a = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=60.0)
    try:
        r = w.add_watch(ROOT, zkraw.PERSISTENT_RECURSIVE_WATCH)
        assert isinstance(r, zkraw.Reply) and r.ok, f"addWatch: {r!r}"
        assert a.set_data(deepest, b"changed").ok
        assert a.create(deepest + "/leaf").ok
        assert a.delete(deepest + "/leaf").ok
        assert a.set_data(deepest, b"bottom").ok
        if not isinstance(a.frames[-1], zkraw.Reply):
            server.check_survived("after writes under a recursive watch")
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 4 and time.monotonic() < deadline:
            got += [(n.typename, n.path) for n in w.drain(0.5) if isinstance(n, zkraw.Notification)]
        want = [("NodeDataChanged", deepest), ("NodeCreated", deepest + "/leaf"),
                ("NodeDeleted", deepest + "/leaf"), ("NodeDataChanged", deepest)]
        short = [(t, f"<depth {p.count('/a')}>" + p[-8:]) for t, p in got]
        assert got == want, f"recursive watch events: {short}"
        w.close_session()
        a.close_session()
    finally:
        w.close()
        a.close()
        zkraw.LIVE_SESSIONS.clear()


def test_deep_chain_survives_restart_and_snapshot(make_server):
    server = make_server()
    build_chain(server)
    check_chain(server, what="after building it")
    check_recursive_watch(server)
    server.check_healthy("after the deep-chain reads")

    t0 = time.monotonic()
    server.restart()
    print(f"restart replaying the log: {time.monotonic() - t0:.1f}s")
    check_chain(server, what="after SIGKILL and a restart from the log")

    # A snapshot that covers the chain: restart with a low snapCount, write until one starts.
    server.kill()
    snaps_before = set(server.snapshots())
    server.cfg[SNAP_COUNT_KEY] = str(SNAP_COUNT_LOW)
    server.start()
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=60000, io_timeout=60.0)
    for i in range(SNAP_COUNT_LOW + 1):
        assert c.set_data(ROOT, str(i).encode()).ok
    c.close_session()
    c.close()
    t0 = time.monotonic()
    wait_until(lambda: (not server.alive()) or "snapshot written" in server.log_text(), 120,
               interval=0.2, what="a snapshot of the chain to be written")
    server.check_alive("while writing a snapshot of the deep chain")
    new = set(server.snapshots()) - snaps_before
    assert new, "no new snapshot file"
    print(f"snapshot of the chain written in {time.monotonic() - t0:.1f}s: "
          f"{[p.name for p in new]} {sum(p.stat().st_size for p in new) >> 20} MiB")

    t0 = time.monotonic()
    server.restart()
    print(f"restart from the snapshot: {time.monotonic() - t0:.1f}s")
    check_chain(server, what="after SIGKILL and a restart from a snapshot")
    check_recursive_watch(server)
    check_chain(server, what="with a count", count=True)
    server.check_healthy("at the end")
