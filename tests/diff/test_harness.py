"""Self-tests of the harness: normalisation must keep real differences
visible (so the differential tests can fail) and hide only incidental ones."""

import struct

import pytest

import zkraw
from conftest import Normalizer, Run
from zkraw import Notification, Reply


class FakeServer:
    label, kind, port = "fake", "fake", 0


def stat(czxid, mzxid, ctime, mtime, owner=0, version=0):
    return dict(zip(zkraw.STAT_FIELDS, (czxid, mzxid, ctime, mtime, version, 0, 0, owner, 0, 0, czxid)))


def lines(entries):
    run = Run(FakeServer())
    run.log = entries
    return Normalizer(run).lines()


NOW = int(__import__("time").time() * 1000)


def test_zxids_by_rank_and_sessions_by_first_use():
    a = lines([("a", Reply(1, 100, 0, "create", b"", {"path": "/x"})),
               ("a", Reply(2, 105, 0, "exists", b"", {"stat": stat(100, 100, NOW, NOW, 77)}))])
    b = lines([("a", Reply(1, 7, 0, "create", b"", {"path": "/x"})),
               ("a", Reply(2, 9, 0, "exists", b"", {"stat": stat(7, 7, NOW + 5, NOW + 5, 1234)}))])
    assert a == b


def test_real_differences_stay_visible():
    base = [("a", Reply(1, 100, 0, "create", b"", {"path": "/x"}))]
    assert lines(base) != lines([("a", Reply(1, 100, -110, "create", b"", {}))])
    assert lines(base) != lines([("a", Reply(2, 100, 0, "create", b"", {"path": "/x"}))])
    assert lines(base) != lines([("a", Reply(1, 100, 0, "create", b"", {"path": "/y"}))])
    # equal vs different zxids are distinguished
    same = [("a", Reply(1, 5, 0, "create", b"", {})), ("a", Reply(2, 5, 0, "exists", b"", {}))]
    diff = [("a", Reply(1, 5, 0, "create", b"", {})), ("a", Reply(2, 6, 0, "exists", b"", {}))]
    assert lines(same) != lines(diff)
    # notification ordering relative to replies
    n = ("a", Notification(-1, 0, 3, 3, "/x"))
    r = ("a", Reply(1, 5, 0, "setData", b"", {}))
    assert lines([n, r]) != lines([r, n])
    # null vs empty data
    assert lines([("a", Reply(1, 5, 0, "getData", b"", {"data": None}))]) != \
        lines([("a", Reply(1, 5, 0, "getData", b"", {"data": b""}))])
    # owner zero vs a session
    assert lines([("a", Reply(1, 5, 0, "exists", b"", {"stat": stat(5, 5, NOW, NOW, 0)}))]) != \
        lines([("a", Reply(1, 5, 0, "exists", b"", {"stat": stat(5, 5, NOW, NOW, 9)}))])


def test_implausible_times_fail():
    with pytest.raises(AssertionError):
        lines([("a", Reply(1, 5, 0, "exists", b"", {"stat": stat(5, 6, NOW, NOW - 10)}))])
    with pytest.raises(AssertionError):
        lines([("a", Reply(1, 5, 0, "exists", b"", {"stat": stat(5, 5, NOW, NOW + 10)}))])
    with pytest.raises(AssertionError):
        lines([("a", Reply(1, 5, 0, "exists", b"", {"stat": stat(5, 5, 0, 0)}))])


def test_jute_roundtrip():
    body = zkraw.create_body("/a", b"xy", zkraw.OPEN_ACL, 3)
    r = zkraw.R(body)
    assert (r.str(), r.buf(), r.acls(), r.int()) == ("/a", b"xy", zkraw.OPEN_ACL, 3)
    m = zkraw.multi_body([])
    assert m == struct.pack(">i?i", -1, True, -1)
    st = struct.pack(">qqqqiiiqiiq", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
    assert zkraw.decode_body(3, st)["stat"]["pzxid"] == 11


def test_no_session_outlives_its_test(pair):
    """A session whose connection was dropped must be ended by the harness, not left
    to expire inside a later test's transcript (it would take a zxid there)."""
    for s in pair:
        kept = s.conn(timeout_ms=40000)  # a fixture's session, opened before the scenario
        run = Run(s)
        dropped = run.conn("a", timeout_ms=40000)
        dropped.close()
        run.close()
        assert kept.ping().ok, f"{s.kind}: a run ended a session it did not open"
        kept.close_session()
        kept.close()
        direct = s.conn(timeout_ms=40000)
        direct.close()
        zkraw.end_sessions()
        for c in (dropped, direct):
            probe = s.raw()
            r = probe.connect(timeout_ms=40000, session_id=c.session_id, passwd=c.passwd)
            probe.close()
            assert r["sessionId"] == 0, f"{s.kind}: session {c.session_id:#x} still alive"
