"""`ringkeeper purge` (zkCleanup.sh) and autopurge keep what recovery needs.

Method: a server with a tiny snapCount writes enough to leave many snapshots and log
segments; `ringkeeper purge --config zoo.cfg -n 3` must leave exactly the newest 3
snapshots and the segments needed to replay from the oldest of them, and the server must
restart with every acknowledged znode. A bad invocation answers with a readable error.
"""

from __future__ import annotations

import subprocess

import crashlib


def test_purge_keeps_newest_snapshots_and_needed_logs(make_server):
    s = make_server(cfg={"snapCount": "40", "preAllocSize": "64"}, name="purge")
    s.start()
    zk = crashlib.kazoo_client(s)
    zk.start(timeout=15)
    try:
        zk.ensure_path("/p")
        for i in range(600):
            zk.create(f"/p/n{i}", b"v%d" % i)
    finally:
        crashlib.stop_quietly(zk)
    s.kill()
    snaps_before = s.snapshots()
    assert len(snaps_before) > 5, snaps_before
    out = subprocess.run([s.binary, "purge", "--config", str(s.root / "zoo.cfg"), "-n", "3"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "removed" in out.stdout
    snaps = s.snapshots()
    assert [p.name for p in snaps] == [p.name for p in snaps_before[-3:]]
    oldest_kept = int(snaps[0].name[9:], 16)
    firsts = [int(p.name[4:], 16) for p in s.segments()]
    # The newest segment starting at or before the oldest kept snapshot is still there.
    assert min(firsts) <= oldest_kept + 1, (firsts, oldest_kept)
    s.start()
    zk = crashlib.kazoo_client(s)
    zk.start(timeout=15)
    try:
        assert len(zk.get_children("/p")) == 600
        assert zk.get("/p/n599")[0] == b"v599"
    finally:
        crashlib.stop_quietly(zk)


def test_purge_without_a_directory_is_a_clear_error(rk_bin):
    out = subprocess.run([rk_bin, "purge"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "--config or --data-dir" in out.stderr
