"""Last: every scenario of the suite, smaller, one after the other on ONE server, then SIGKILL
and a restart on the same data: it starts, ruok and mntr answer, the data is right.
A phase that fails is recorded and the next one still runs (while the server lives), so
the restart at the end always happens on a data directory that has seen everything.
(The file name sorts it after the others.)"""

import time

import pytest

import zkraw

from conftest import mib
import crashlib
import test_deep_tree as deep
import test_huge_ephemerals as eph
import test_huge_multiread as mr
import test_malformed as bad
import test_many_connections as many
import test_slow_reader as slow

GAUNTLET_DEPTH = 1_500
GAUNTLET_SLOW_REQUESTS = 4_000
GAUNTLET_CONNECTIONS = 2_000
GAUNTLET_BATTERY_EVERY = 2  # every 2nd case of the malformed-frame battery


def test_gauntlet_then_restart(make_server):
    server = make_server()
    done, failures = [], []

    def deep_chain():
        deep.build_chain(server, GAUNTLET_DEPTH)
        deep.check_recursive_watch(server, GAUNTLET_DEPTH)
        deep.check_chain(server, GAUNTLET_DEPTH, "in the gauntlet", count=True)

    def ephemerals():
        c = eph.create_ephemerals(server, timeout_ms=30000)
        c.close_session()
        c.close()
        server.check_survived("after closeSession of the huge ephemeral set")
        deadline = time.monotonic() + 30
        while not eph.all_gone(server, "after closeSession"):
            assert time.monotonic() < deadline, "ephemerals still there after 30 s"
            time.sleep(0.2)

    phases = [
        ("malformed-frame battery", lambda: bad.run_battery(server, restart=False,
                                                             every=GAUNTLET_BATTERY_EVERY)),
        ("slow reader", lambda: slow.slow_reader(server, n=GAUNTLET_SLOW_REQUESTS)),
        ("huge multiRead", lambda: mr.huge_multiread(server)),
        ("many connections", lambda: many.many_connections(
            server, GAUNTLET_CONNECTIONS,
            many.BASE_BOUND + GAUNTLET_CONNECTIONS * many.PER_CONNECTION_BOUND)),
        ("deep chain", deep_chain),
        ("huge ephemeral set", ephemerals),
    ]
    t0 = time.monotonic()
    for name, phase in phases:
        if not server.alive():
            failures.append(f"{name}: not run, the server had exited")
            continue
        try:
            phase()
            done.append(name)
        except (AssertionError, pytest.fail.Exception, OSError, zkraw.ConnectionClosed,
                TimeoutError) as e:
            failures.append(f"{name}: {str(e).splitlines()[0][:300]}")
        zkraw.LIVE_SESSIONS.clear()
    print(f"\ngauntlet phases in {time.monotonic() - t0:.1f}s; passed: {done}; "
          f"failed: {failures}")

    rc = server.kill()
    print(f"server status before the final SIGKILL-restart: "
          f"{'was running' if rc == -9 else f'had exited with {rc}'}")
    t0 = time.monotonic()
    server.start()
    m = server.check_healthy("after the gauntlet and a restart")
    print(f"restart after the gauntlet: {time.monotonic() - t0:.1f}s; RSS {mib(server.rss())}; "
          f"mntr zk_znode_count {m.get('zk_znode_count')}")
    if "deep chain" in done:
        deep.check_chain(server, GAUNTLET_DEPTH, "after the gauntlet's restart", count=True)
    if "huge ephemeral set" in done:
        assert eph.children_count(server) == 0, "ephemerals back after the restart"
    c = zkraw.connect(crashlib.HOST, server.port, timeout_ms=30000)
    r = c.get_data("/keep")
    assert r.ok and r["data"] == b"before the battery", f"/keep after the restart: {r!r}"
    c.close_session()
    c.close()
    assert not failures, "gauntlet phases failed:\n" + "\n".join(failures)
