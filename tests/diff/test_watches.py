"""Watches: one-shot data/exist/child, persistent and recursive addWatch,
notification ordering, removeWatches/checkWatches, setWatches/setWatches2."""

from zkraw import (E, EPHEMERAL, NodeChildrenChanged, NodeCreated, NodeDataChanged,
                   NodeDeleted, Notification, PERSISTENT_RECURSIVE_WATCH, PERSISTENT_WATCH,
                   Reply, WT_ANY, WT_CHILDREN, WT_DATA)

from conftest import differential


def notifs(conn):
    return [(n.type, n.path) for n in conn.notifications()]


def stream(conn):
    """Ordered (kind, ...) view of a connection's frames."""
    out = []
    for f in conn.frames:
        if isinstance(f, Notification):
            out.append(("N", f.type, f.path))
        elif isinstance(f, Reply):
            out.append(("R", f.op))
    return out


def test_notification_frame_layout(pair, base):
    def sc(run):
        a = run.conn("a")
        a.create(base)
        assert a.get_data(base, watch=True).ok
        a.set_data(base, b"x")
        n = a.notifications()
        assert len(n) == 1
        assert (n[0].type, n[0].state, n[0].path, n[0].zxid, n[0].err) == \
            (NodeDataChanged, 3, base, -1, 0)
    differential(pair, sc)


def test_one_shot_data_exist_child(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        # getData watch is one-shot
        assert b.get_data(base, watch=True).ok
        a.set_data(base, b"1")
        a.set_data(base, b"2")
        b.ping()
        assert notifs(b) == [(NodeDataChanged, base)]
        # exists on a missing node arms a watch; getData/getChildren on missing do not
        assert b.exists(base + "/e", watch=True).err == E["NONODE"]
        assert b.get_data(base + "/g", watch=True).err == E["NONODE"]
        assert b.get_children(base + "/g", watch=True).err == E["NONODE"]
        a.create(base + "/e")
        a.create(base + "/g")
        b.ping()
        assert notifs(b)[1:] == [(NodeCreated, base + "/e")]
        # child watch: create + delete of children, one-shot
        assert b.get_children(base, watch=True).ok
        a.create(base + "/c1")
        a.create(base + "/c2")
        b.ping()
        assert notifs(b)[2:] == [(NodeChildrenChanged, base)]
        assert b.get_children2(base, watch=True).ok
        a.delete(base + "/c1")
        b.ping()
        assert notifs(b)[3:] == [(NodeChildrenChanged, base)]
        # setData does not trigger child watches; setACL / sync / reads trigger nothing
        b.get_children(base, watch=True)
        b.exists(base + "/c2", watch=True)
        a.set_data(base + "/c2", b"z")
        a.set_acl(base + "/c2", [(31, "world", "anyone")])
        a.sync(base + "/c2")
        b.ping()
        assert notifs(b)[4:] == [(NodeDataChanged, base + "/c2")]
        # the same path watched twice on one connection -> one notification
        b.get_data(base + "/c2", watch=True)
        b.exists(base + "/c2", watch=True)
        a.set_data(base + "/c2", b"zz")
        b.ping()
        assert notifs(b)[5:] == [(NodeDataChanged, base + "/c2")]
    differential(pair, sc)


def test_delete_with_data_and_child_watch_one_event(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        a.create(base + "/n")
        b.get_data(base + "/n", watch=True)
        b.get_children(base + "/n", watch=True)
        b.get_children(base, watch=True)
        a.delete(base + "/n")
        b.ping()
        assert notifs(b) == [(NodeDeleted, base + "/n"), (NodeChildrenChanged, base)]
    differential(pair, sc)


def test_notification_before_reply_own_and_other(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        a.get_data(base, watch=True)
        b.get_data(base, watch=True)
        a.set_data(base, b"x")  # a's own write: notification before the reply
        assert stream(a)[-2:] == [("N", NodeDataChanged, base), ("R", "setData")]
        r = b.get_data(base)   # other connection: notification before later read reply
        assert r["data"] == b"x"
        assert stream(b)[-2:] == [("N", NodeDataChanged, base), ("R", "getData")]
        # a watch-setting read's reply precedes any notification for that watch,
        # even when pipelined behind a write from the same session
        reps = a.pipeline([(4, _pw(base, True)), (5, _sd(base, b"y"))])
        assert [x.op for x in reps] == ["getData", "setData"]
        assert stream(a)[-3:] == [("R", "getData"), ("N", NodeDataChanged, base), ("R", "setData")]
    differential(pair, sc)


def _pw(path, watch):
    from zkraw import path_watch_body
    return path_watch_body(path, watch)


def _sd(path, data, version=-1):
    from zkraw import W
    return W().str(path).buf(data).int(version).bytes()


def test_persistent_and_recursive_watches(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        r = b.add_watch(base + "/p", PERSISTENT_WATCH)  # node need not exist
        assert r.ok and r.body == b"\0\0\0\0" and r["errbody"] == 0
        assert b.add_watch(base, PERSISTENT_RECURSIVE_WATCH).ok
        a.create(base + "/p")
        a.set_data(base + "/p", b"1")
        a.set_data(base + "/p", b"2")
        a.create(base + "/p/c")
        a.create(base + "/p/c/d")
        a.set_data(base + "/p/c/d", b"3")
        a.delete(base + "/p/c/d")
        a.delete(base + "/p/c")
        a.delete(base + "/p")
        a.create(base + "/p")
        b.ping()
        run.note(notifs(b))
        # b holds a persistent watch on /p and a recursive one on base.  The
        # recursive one never yields NodeChildrenChanged; the persistent one on /p
        # does (for /p's own children).  One notification per event per connection.
        got = notifs(b)
        want = [(NodeCreated, "/p"), (NodeDataChanged, "/p"), (NodeDataChanged, "/p"),
                (NodeCreated, "/p/c"), (NodeChildrenChanged, "/p"),
                (NodeCreated, "/p/c/d"), (NodeDataChanged, "/p/c/d"),
                (NodeDeleted, "/p/c/d"), (NodeDeleted, "/p/c"), (NodeChildrenChanged, "/p"),
                (NodeDeleted, "/p"), (NodeCreated, "/p")]
        assert got == [(t, base + p) for t, p in want]
        # persistent (non-recursive) on a node receives NodeChildrenChanged
        c = run.conn("c")
        c.add_watch(base + "/p", PERSISTENT_WATCH)
        a.create(base + "/p/x")
        a.create(base + "/p/x/y")  # grandchild: nothing for a non-recursive watch
        c.ping()
        assert notifs(c) == [(NodeChildrenChanged, base + "/p")]
        # removeWatches type ANY removes persistent ones
        assert c.remove_watches(base + "/p", WT_ANY).ok
        assert c.remove_watches(base + "/p", WT_ANY).err == E["NOWATCHER"]
        a.set_data(base + "/p", b"q")
        c.ping()
        assert len(notifs(c)) == 1
        # addWatch with a bad mode
        run.note("addWatch mode 7", b.add_watch(base, 7).errname)
    differential(pair, sc)


def test_remove_and_check_watches(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        assert b.check_watches(base, WT_DATA).err == E["NOWATCHER"]
        assert b.remove_watches(base, WT_ANY).err == E["NOWATCHER"]
        b.get_data(base, watch=True)
        assert b.check_watches(base, WT_DATA).ok
        assert b.check_watches(base, WT_CHILDREN).err == E["NOWATCHER"]
        assert b.check_watches(base, WT_ANY).ok
        assert b.check_watches(base, WT_DATA).ok  # check removes nothing
        assert b.remove_watches(base, WT_CHILDREN).err == E["NOWATCHER"]
        assert b.remove_watches(base, WT_DATA).ok
        assert b.remove_watches(base, WT_DATA).err == E["NOWATCHER"]
        # 3.8.0 quirk (probed; contradicts ZK-PROTOCOL §5 "this connection's"):
        # checkWatches answers OK when ANY connection watches the path with that
        # type, while removeWatches only looks at the caller's own watches.
        a.get_children(base, watch=True)
        assert b.check_watches(base, WT_CHILDREN).ok
        assert b.remove_watches(base, WT_CHILDREN).err == E["NOWATCHER"]
        assert a.check_watches(base, WT_CHILDREN).ok
        b.get_children(base, watch=True)
        b.exists(base + "/missing", watch=True)
        assert b.check_watches(base + "/missing", WT_DATA).ok
        assert b.remove_watches(base, WT_ANY).ok
        a.create(base + "/k")
        b.ping()
        a.ping()
        assert notifs(b) == []  # no *WatchRemoved events from the server
        assert notifs(a) == [(NodeChildrenChanged, base)]
        run.note("bad type", b.check_watches(base, 9).errname, b.remove_watches(base, 0).errname)
    differential(pair, sc)


def test_set_watches_after_reconnect(pair, base):
    def sc(run):
        a = run.conn("a")
        a.create(base)
        for n in ("d_same", "d_changed", "d_gone", "c_same", "c_changed", "c_gone"):
            a.create(f"{base}/{n}")
        a.create(f"{base}/c_same/k")
        rel = a.exists(base).zxid  # last zxid seen
        a.set_data(f"{base}/d_changed", b"x")
        a.delete(f"{base}/d_gone")
        a.create(f"{base}/c_changed/new")
        a.delete(f"{base}/c_gone")
        a.create(f"{base}/e_born")
        b = run.conn("b")
        r = b.set_watches(rel,
                          data=[f"{base}/d_same", f"{base}/d_changed", f"{base}/d_gone"],
                          exist=[f"{base}/e_born", f"{base}/e_never"],
                          child=[f"{base}/c_same", f"{base}/c_changed", f"{base}/c_gone"],
                          xid=-8)
        assert r.ok and r.xid == -8 and r.body == b""
        # immediate events precede the reply
        assert stream(b)[-1] == ("R", "setWatches")
        imm = sorted(notifs(b))
        assert imm == sorted([(NodeDataChanged, f"{base}/d_changed"), (NodeDeleted, f"{base}/d_gone"),
                              (NodeCreated, f"{base}/e_born"),
                              (NodeChildrenChanged, f"{base}/c_changed"),
                              (NodeDeleted, f"{base}/c_gone")])
        run.note("immediate order", notifs(b))
        # re-armed ones fire later
        a.set_data(f"{base}/d_same", b"1")
        a.create(f"{base}/e_never")
        a.create(f"{base}/c_same/k2")
        b.ping()
        assert notifs(b)[5:] == [(NodeDataChanged, f"{base}/d_same"), (NodeCreated, f"{base}/e_never"),
                                 (NodeChildrenChanged, f"{base}/c_same")]
        # setWatches2 with persistent + recursive, ordinary xid
        c = run.conn("c")
        r = c.set_watches2(rel, persistent=[f"{base}/pw"], recursive=[f"{base}/rw"])
        assert r.ok and r.xid > 0
        a.create(f"{base}/pw")
        a.create(f"{base}/rw")
        a.create(f"{base}/rw/x")
        a.create(f"{base}/pw/x")
        a.set_data(f"{base}/pw", b"1")
        c.ping()
        assert notifs(c) == [(NodeCreated, f"{base}/pw"), (NodeCreated, f"{base}/rw"),
                             (NodeCreated, f"{base}/rw/x"), (NodeChildrenChanged, f"{base}/pw"),
                             (NodeDataChanged, f"{base}/pw")]
    differential(pair, sc)


def test_watches_dropped_on_close(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        b.get_data(base, watch=True)
        b.add_watch(base, PERSISTENT_RECURSIVE_WATCH)
        b.close_session()
        assert b.wait_closed(5)
        a.set_data(base, b"x")
        a.create(base + "/y")
        c = run.conn("c")
        assert c.check_watches(base, WT_ANY).err == E["NOWATCHER"]
    differential(pair, sc)
