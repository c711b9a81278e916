"""Damage the on-disk state of a stopped server and check what recovery does.

The WAL record format (storage/DESIGN.md) is read by crashlib.read_segment, which
verifies every record's crc32c: damage is placed at exact record offsets.

  torn tail (truncated / zeroed last record)  -> starts, says it cut a torn tail,
                                                 everything before the tail is there
  a bad record with valid records after it    -> refuses to start, names file + offset,
                                                 leaves the files as they were
  newest snapshot corrupt                     -> previous snapshot + log, nothing lost
  a middle segment deleted                    -> refuses to start, names the gap
"""

from __future__ import annotations

import hashlib
import os
import re
import time

import pytest

from crashlib import (flip_byte, kazoo_client, read_segment, read_snapshot_header, stop_quietly,
                      SNAP_HEADER_LEN)


def populate(server, n: int, tag: str) -> dict:
    """Creates n znodes (one txn = one record each, sequential calls); returns
    {path: (data, czxid)}. The server is then SIGKILLed after a quiet period, so the
    last record of the newest segment is the last create."""
    c = kazoo_client(server)
    c.start(timeout=15)
    c.ensure_path("/d")
    out = {}
    for k in range(n):
        path = f"/d/{tag}-{k:03d}"
        data = f"{tag}:{k}:".encode() + os.urandom(8).hex().encode() * (1 + k % 5)
        _, stat = c.create(path, data, include_data=True)
        out[path] = (data, stat.czxid)
    time.sleep(0.3)
    # SIGKILL first: a clean client close would append a closeSession record.
    server.kill()
    stop_quietly(c)
    return out


def runs(server, count: int, per_run: int = 25) -> dict:
    nodes = {}
    for r in range(count):
        server.start()
        nodes.update(populate(server, per_run, f"r{r}"))
    return nodes


def check_nodes(server, expect: dict, absent=()) -> None:
    c = kazoo_client(server)
    c.start(timeout=15)
    try:
        missing, wrong = [], []
        for path, (data, _) in sorted(expect.items()):
            got = c.exists(path)
            if got is None:
                missing.append(path)
                continue
            val, _ = c.get(path)
            if val != data:
                wrong.append((path, data, val))
        present = [p for p in absent if c.exists(p) is not None]
    finally:
        stop_quietly(c)
    assert not missing, f"{len(missing)} acknowledged znodes missing after recovery: {missing[:10]}"
    assert not wrong, f"znodes with wrong data after recovery: {wrong[:5]}"
    assert not present, f"znodes of a removed/torn record are present: {present}"


def digest(paths) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def last_record_of(nodes: dict, zxid: int) -> str:
    [path] = [p for p, (_, z) in nodes.items() if z == zxid]
    return path


@pytest.fixture
def two_run_server(make_server):
    s = make_server(name="damage")
    nodes = runs(s, 2)
    segs = s.segments()
    assert len(segs) >= 2, f"expected a segment per run, got {segs}"
    return s, nodes


@pytest.mark.parametrize("damage", ["truncate-mid-record", "zero-payload-tail"])
def test_torn_tail_is_cut(two_run_server, damage):
    s, nodes = two_run_server
    seg = s.segments()[-1]
    recs = read_segment(seg)
    assert len(recs) >= 10, recs
    last = recs[-1]
    max_czxid = max(z for _, z in nodes.values())
    assert last.zxid == max_czxid, f"newest record {last} is not the last create ({max_czxid:#x})"
    torn_path = last_record_of(nodes, last.zxid)
    size_before = seg.stat().st_size
    if damage == "truncate-mid-record":
        os.truncate(seg, last.payload_offset + last.length // 2)
    else:
        # header intact, payload zeroed from its second byte to the end of the file
        start = last.payload_offset + 1
        with open(seg, "r+b") as f:
            f.seek(start)
            f.write(bytes(size_before - start))
    s.start()
    log = s.log_text()
    assert re.search(r"torn tail", log), f"no torn-tail message in the log:\n{log}"
    assert seg.name in log, f"the torn-tail message does not name {seg.name}:\n{log}"
    assert s.zxid() == last.zxid - 1, "srvr Zxid should be the last intact record"
    assert seg.stat().st_size == last.offset, (
        f"{seg.name} should have been cut to the end of the last valid record "
        f"({last.offset}), size is {seg.stat().st_size}")
    expect = {p: v for p, v in nodes.items() if p != torn_path}
    check_nodes(s, expect, absent=[torn_path])
    # and the cut log recovers again cleanly after another crash
    s.kill()
    s.start()
    assert "torn tail" not in s.log_text()
    check_nodes(s, expect, absent=[torn_path])


def test_zeroed_last_record_is_a_clean_end(two_run_server):
    s, nodes = two_run_server
    seg = s.segments()[-1]
    last = read_segment(seg)[-1]
    with open(seg, "r+b") as f:
        f.seek(last.offset)
        f.write(bytes(last.end - last.offset))
    s.start()
    assert s.zxid() == last.zxid - 1
    torn = last_record_of(nodes, last.zxid)
    check_nodes(s, {p: v for p, v in nodes.items() if p != torn}, absent=[torn])


@pytest.mark.parametrize("where", ["earlier-segment", "last-segment-before-valid-records"])
@pytest.mark.parametrize("part", ["payload", "header-zxid"])
def test_damage_in_the_middle_refuses_to_start(two_run_server, where, part):
    s, nodes = two_run_server
    segs = s.segments()
    seg = segs[0] if where == "earlier-segment" else segs[-1]
    recs = read_segment(seg)
    assert len(recs) >= 10
    victim = recs[len(recs) // 2]
    if part == "payload":
        flip_byte(seg, victim.payload_offset + victim.length // 2, 0x5A)
    else:
        flip_byte(seg, victim.offset + 8, 0x01)  # lowest byte of the zxid: crc mismatch
    before = digest(s.segments())
    rc, out = s.run_to_exit(timeout=60)
    assert rc is not None, f"server started on a log damaged in the middle ({seg.name}@{victim.offset}):\n{out}"
    assert rc != 0, f"server exited 0 on a damaged log:\n{out}"
    assert str(seg) in out or seg.name in out, f"error does not name {seg}:\n{out}"
    assert re.search(rf"offset {victim.offset}\b", out), \
        f"error does not name offset {victim.offset} of the damaged record:\n{out}"
    assert digest(s.segments()) == before, "a refused start must not change the log files"


def settle_snapshots(s, timeout=10.0):
    deadline = time.monotonic() + timeout
    while any(p.name.endswith(".tmp") for p in s.snap_dir.iterdir()):
        assert time.monotonic() < deadline, "snapshot .tmp file never finished"
        time.sleep(0.1)


@pytest.mark.parametrize("which", ["newest", "all"])
def test_corrupt_snapshot_falls_back(make_server, which):
    s = make_server(cfg={"snapCount": "20"}, name="snap")
    s.start()
    c = kazoo_client(s)
    c.start(timeout=15)
    c.ensure_path("/d")
    nodes = {}
    for k in range(150):
        path = f"/d/s-{k:03d}"
        data = f"snap:{k}".encode() * (1 + k % 7)
        _, st = c.create(path, data, include_data=True)
        nodes[path] = (data, st.czxid)
        if k % 10 == 0 and k:
            c.set(f"/d/s-{k - 5:03d}", b"updated")
            nodes[f"/d/s-{k - 5:03d}"] = (b"updated", None)
    time.sleep(0.5)
    settle_snapshots(s)
    last_zxid = s.zxid()
    s.kill()
    stop_quietly(c)
    snaps = s.snapshots()
    assert len(snaps) >= 2, f"snapCount=20 with 160 txns should leave several snapshots: {snaps}"
    victims = [snaps[-1]] if which == "newest" else snaps
    for v in victims:
        h = read_snapshot_header(v)
        assert h["magic"] == b"RKSN", h
        flip_byte(v, SNAP_HEADER_LEN + h["payload_len"] // 2, 0x20)
    s.start()
    log = s.log_text()
    m = re.search(r"recovered.*", log)
    assert m, log
    if which == "newest":
        prev = int(snaps[-2].name[9:], 16)
        assert f'snapshot_zxid="{prev:#x}"' in m.group(0) or f"snapshot_zxid={prev:#x}" in m.group(0), \
            f"expected recovery from the previous snapshot {snaps[-2].name}: {m.group(0)}"
    else:
        assert "snapshot_zxid" not in m.group(0) or "snapshot_zxid=None" in m.group(0), m.group(0)
    assert snaps[-1].name in log, f"no warning naming the skipped snapshot {snaps[-1].name}:\n{log}"
    assert s.zxid() == last_zxid
    check_nodes(s, nodes)


def test_deleted_middle_segment_refuses_to_start(make_server):
    s = make_server(name="gap")
    runs(s, 3, per_run=15)
    segs = s.segments()
    assert len(segs) >= 3, segs
    victim = segs[1]
    after = segs[2]
    victim.unlink()
    rc, out = s.run_to_exit(timeout=60)
    assert rc is not None, f"server started with {victim.name} deleted:\n{out}"
    assert rc != 0
    assert re.search(r"gap", out, re.I), f"error does not say there is a gap:\n{out}"
    assert after.name in out, f"error does not name the segment after the gap ({after.name}):\n{out}"
