"""Connect handshake, timeout negotiation, reconnect, expiry, closeSession,
ephemerals, system nodes of a fresh server."""

import time

from zkraw import (Closed, E, EPHEMERAL, EPHEMERAL_SEQUENTIAL, NodeChildrenChanged,
                   NodeDeleted, ZkConn)

from conftest import ENSEMBLE, HOST, differential, wait_until


def test_connect_response_layout(pair):
    def sc(run):
        a = run.raw("a")
        r = a.connect(timeout_ms=10000)
        assert r["bodyLen"] == 37 and r["readOnly"] is False and r["protocolVersion"] == 0
        assert len(r["passwd"]) == 16 and r["passwd"] != bytes(16)
        assert r["timeOut"] == 10000 and r["sessionId"] != 0
        # old client: no readOnly byte -> 36-byte reply
        b = run.raw("b")
        r = b.connect(timeout_ms=10000, read_only=None)
        assert r["bodyLen"] == 36 and "readOnly" not in r
        assert b.ping().ok
        # a session id is a fresh one each time
        c = run.conn("c")
        assert c.session_id not in (a.session_id, b.session_id)
        # readOnly=true request to a read-write server is fine, reply readOnly=0
        d = run.raw("d")
        r = d.connect(timeout_ms=10000, read_only=True)
        assert r["readOnly"] is False
        # ping: xid -2, zxid = last processed, no body
        p = d.ping()
        assert p.xid == -2 and p.err == 0 and p.body == b"" and p.zxid > 0
    differential(pair, sc)


def test_session_id_shape(pair):
    for s in pair:
        c = s.conn()
        # the server id in the top byte: 1 standalone, the myid of the follower that
        # created it in an ensemble (ZooKeeper; Ringkeeper may differ but the top byte must
        # never be 0xff when TTL nodes are enabled)
        assert (c.session_id >> 56) & 0xFF != 0xFF
        if s.kind == "zookeeper":
            assert c.session_id >> 56 == (s.follower_sid if ENSEMBLE else 1)
        c.close()


def test_timeout_negotiation_defaults(pair):
    def sc(run):
        got = {}
        for req in (1, 1000, 3999, 4000, 10000, 40000, 40001, 100000, 0, -5):
            c = run.raw(f"t{req}")
            got[req] = c.connect(timeout_ms=req)["timeOut"]
            c.close()
        assert got[1000] == 4000 and got[100000] == 40000 and got[10000] == 10000
        assert got[0] == 4000 and got[-5] == 4000
    differential(pair, sc)


def test_timeout_negotiation_custom(make_pair):
    pair = make_pair(cfg={"minSessionTimeout": "5000", "maxSessionTimeout": "7000"})

    def sc(run):
        got = {}
        for req in (1000, 5000, 6000, 7000, 9000):
            c = run.raw(f"t{req}")
            got[req] = c.connect(timeout_ms=req)["timeOut"]
            c.close()
        assert got == {1000: 5000, 5000: 5000, 6000: 6000, 7000: 7000, 9000: 7000}
    differential(pair, sc)
    for s in pair:
        conf = s.four("conf")
        assert "minSessionTimeout=5000" in conf and "maxSessionTimeout=7000" in conf, conf


def test_reconnect_same_session(pair, base):
    def sc(run):
        a = run.conn("a", timeout_ms=20000)
        a.create(base)
        a.create(base + "/eph", flags=EPHEMERAL)
        a.get_data(base, watch=True)
        sid, pw = a.session_id, a.passwd
        b = run.raw("b")
        r = b.connect(timeout_ms=15000, session_id=sid, passwd=pw, last_zxid=a.last_zxid)
        assert r["sessionId"] == sid and r["passwd"] == pw and r["timeOut"] == 15000
        # the old connection is closed by the server
        assert a.wait_closed(5)
        assert b.exists(base + "/eph")["stat"]["ephemeralOwner"] == sid
        assert b.get_ephemerals("/")["paths"] == [base + "/eph"]
        # watches belonged to the old connection: gone
        b.set_data(base, b"x")
        b.ping()
        assert b.notifications() == []
        # wrong password -> all-zero response, then close
        c = run.raw("c")
        bad = bytes((x ^ 1) for x in pw)
        r = c.connect(timeout_ms=15000, session_id=sid, passwd=bad)
        assert (r["timeOut"], r["sessionId"], r["passwd"]) == (0, 0, bytes(16))
        assert r["bodyLen"] == 37
        assert c.wait_closed(5)
        # ZooKeeper closes the session's current connection *before* checking the
        # password (processConnectRequest), so b is kicked but the session lives
        assert b.wait_closed(5)
        e = run.raw("e")
        r = e.connect(timeout_ms=15000, session_id=sid, passwd=pw)
        assert r["sessionId"] == sid
        assert e.exists(base + "/eph").ok
        # unknown id -> same all-zero answer; e is unaffected
        d = run.raw("d")
        r = d.connect(timeout_ms=15000, session_id=sid ^ 0x5A5A, passwd=pw)
        assert (r["timeOut"], r["sessionId"], r["passwd"]) == (0, 0, bytes(16))
        assert d.wait_closed(5)
        assert e.ping().ok
    differential(pair, sc)


def test_last_zxid_ahead_refused(pair):
    def sc(run):
        a = run.conn("a")
        z = a.ping().zxid
        b = run.raw("b")
        r = b.connect(timeout_ms=10000, last_zxid=z + 1000)
        assert isinstance(r, Closed)
        c = run.raw("c")
        r = c.connect(timeout_ms=10000, last_zxid=z)
        assert not isinstance(r, Closed) and r["sessionId"] != 0
    differential(pair, sc)


def test_close_session(pair, base):
    def sc(run):
        a, w, w2 = run.conn("a"), run.conn("w"), run.conn("w2")
        a.create(base)
        a.create(base + "/e1", flags=EPHEMERAL)
        a.create(base + "/e-", flags=EPHEMERAL_SEQUENTIAL)
        # the order in which a session's ephemerals are deleted is unspecified,
        # so each watcher connection watches one thing
        w.exists(base + "/e1", watch=True)
        w2.get_children(base, watch=True)
        sid, pw = a.session_id, a.passwd
        r = a.close_session()
        assert r.ok and r.body == b"" and r.zxid > 0
        assert a.wait_closed(5)
        w.ping()
        w2.ping()
        assert [(n.type, n.path) for n in w.notifications()] == [(NodeDeleted, base + "/e1")]
        assert [(n.type, n.path) for n in w2.notifications()] == [(NodeChildrenChanged, base)]
        assert w.get_children(base)["children"] == []
        # resuming a closed session -> expired response
        b = run.raw("b")
        r = b.connect(timeout_ms=10000, session_id=sid, passwd=pw)
        assert r["sessionId"] == 0 and r["timeOut"] == 0
    differential(pair, sc)


def test_get_ephemerals(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        a.create(base + "/x", flags=EPHEMERAL)
        a.create(base + "/y", flags=EPHEMERAL)
        a.create(base + "/yy")
        b.create(base + "/z", flags=EPHEMERAL)
        assert sorted(a.get_ephemerals("/")["paths"]) == [base + "/x", base + "/y"]
        assert sorted(a.get_ephemerals("")["paths"]) == [base + "/x", base + "/y"]
        assert sorted(a.get_ephemerals(base + "/y")["paths"]) == [base + "/y"]
        assert sorted(a.get_ephemerals(base[:5])["paths"]) == [base + "/x", base + "/y"]
        assert a.get_ephemerals("/nomatch")["paths"] == []
        assert b.get_ephemerals("/")["paths"] == [base + "/z"]
        c = run.conn("c")
        assert c.get_ephemerals("/")["paths"] == []
    differential(pair, sc)


def test_fresh_server_system_nodes(fresh):
    def sc(run):
        a = run.conn("a")
        if ENSEMBLE:
            # It holds the membership, with the servers' ports: read unrecorded, compared
            # with the ports as names.
            r = run.side().get_data("/zookeeper/config")
            assert r.ok and run.server.symbolic(r["data"].decode()) == run.server.membership()
            run.note("/zookeeper/config", run.server.symbolic(r["data"].decode()), r["stat"])
        empty = ["/", "/zookeeper", "/zookeeper/quota"]
        for p in empty if ENSEMBLE else empty + ["/zookeeper/config"]:
            r = a.get_data(p)
            assert r.ok and r["data"] in (b"", None), p
            st = r["stat"]
            for k in ("czxid", "mzxid", "ctime", "mtime", "pzxid", "ephemeralOwner",
                      "version", "dataLength"):
                assert st[k] == 0, (p, k, st)
            run.note(p, st)
        assert a.exists("/")["stat"]["cversion"] == -1
        assert a.exists("/")["stat"]["numChildren"] == 1
        assert a.exists("/zookeeper")["stat"]["cversion"] == -2
        assert a.exists("/zookeeper")["stat"]["numChildren"] == 2
        assert a.exists("/zookeeper/config")["stat"]["aversion"] == -1
        assert a.get_children("/")["children"] == ["zookeeper"]
        assert sorted(a.get_children("/zookeeper")["children"]) == ["config", "quota"]
        assert a.get_all_children_number("/")["total"] == 3
        assert a.get_all_children_number("/zookeeper")["total"] == 2
        assert a.get_all_children_number("/missing").err == E["NONODE"]
        a.create("/a")
        a.create("/a/b")
        a.create("/a/b/c")
        assert a.get_all_children_number("/")["total"] == 6
        assert a.get_all_children_number("/a")["total"] == 2
        assert a.get_all_children_number("/a/b/c")["total"] == 0
        st = a.exists("/")["stat"]
        assert st["cversion"] == 0 and st["numChildren"] == 2  # 2*1 - 2
        a.delete("/a/b/c")
        assert a.get_children2("/a/b")["stat"]["cversion"] == 2
        # root sequential counter
        r = a.create("/s-", flags=2)
        run.note("root seq", r["path"])
        # reconfig is disabled by default
        assert a.reconfig(members="server.1=127.0.0.1:2888:3888").err == E["RECONFIGDISABLED"]
    differential(fresh, sc)
    for s in fresh:
        srvr = s.four("srvr")
        assert "Node count: 8" in srvr, srvr  # 5 system entries + /a /a/b /s-..


def test_whoami_and_sync_fresh(fresh):
    def sc(run):
        a = run.conn("a")
        r = a.who_am_i()
        assert r.ok and r["clientInfo"] == [("ip", "127.0.0.1")]
        r = a.sync("/")
        assert r.ok and r["path"] == "/"
    differential(fresh, sc)


def test_session_expiry(make_pair, base):
    # short ticks: min timeout = 2*tick = 400 ms
    pair = make_pair(cfg={"tickTime": "200"})

    def sc(run):
        w = run.conn("w", timeout_ms=30000)
        a = run.conn("a", timeout_ms=400)
        assert a.timeout == 400
        a.create(base)
        a.create(base + "/e", flags=EPHEMERAL)
        w.exists(base + "/e", watch=True)
        w.get_children(base, watch=True)
        sid, pw = a.session_id, a.passwd
        t0 = time.monotonic()
        # stay silent; the server must expire the session and close the socket
        assert a.wait_closed(10), "expired session's connection not closed"
        elapsed = time.monotonic() - t0
        assert elapsed < 5, elapsed
        # Polled unrecorded: how many polls still see the node is timing (a follower in an
        # ensemble may close the expired session's socket before it applies the
        # closeSession txn). The watches must have fired before any later reply on w.
        p = run.side()
        wait_until(lambda: p.exists(base + "/e").err == E["NONODE"], 5, what="ephemeral removal")
        assert w.exists(base + "/e").err == E["NONODE"]
        evs = [(n.type, n.path) for n in w.notifications()]
        assert evs == [(NodeDeleted, base + "/e"), (NodeChildrenChanged, base)]
        c = run.raw("c")
        r = c.connect(timeout_ms=400, session_id=sid, passwd=pw)
        assert r["sessionId"] == 0 and r["timeOut"] == 0
        # pings keep a session alive
        k = run.conn("k", timeout_ms=400)
        for _ in range(8):
            time.sleep(0.15)
            assert k.ping().ok
        assert k.exists("/").ok
    differential(pair, sc)


def test_pipelined_replies_in_order_and_read_after_write(pair, base):
    from zkraw import W, create_body, path_watch_body
    def sc(run):
        a = run.conn("a")
        a.create(base)
        reqs = []
        for i in range(30):
            p = f"{base}/n{i}"
            reqs.append((1, create_body(p, str(i).encode())))
            reqs.append((4, path_watch_body(p, False)))          # read waits behind the write
            reqs.append((5, W().str(p).buf(b"v").int(0).bytes()))
            reqs.append((3, path_watch_body(p, False)))
        reps = a.pipeline(reqs)
        assert [r.xid for r in reps] == list(range(2, 2 + len(reqs)))
        assert all(r.ok for r in reps), [r for r in reps if not r.ok]
        assert [r["data"] for r in reps[1::4]] == [str(i).encode() for i in range(30)]
        assert all(r["stat"]["version"] == 1 for r in reps[3::4])
        zx = [r.zxid for r in reps]
        assert zx == sorted(zx)
    differential(pair, sc)


def test_xid_echo(pair, base):
    from zkraw import path_watch_body
    def sc(run):
        a = run.conn("a")
        a.create(base)
        for xid in (0, 2147483647, -100, -8, 12345):
            r = a.request(3, path_watch_body(base, False), xid=xid)
            assert r.xid == xid and r.ok, (xid, r)
        assert a.ping().ok
    differential(pair, sc)
