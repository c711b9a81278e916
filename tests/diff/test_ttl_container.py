"""TTL and container nodes (reaped by the container manager, interval 1 s)."""

from zkraw import (CONTAINER, E, NodeChildrenChanged, NodeDeleted, OPEN_ACL, PERSISTENT_SEQUENTIAL_WITH_TTL,
                   PERSISTENT_WITH_TTL)

from conftest import differential, wait_until


def test_ttl_create_rules(pair, base):
    def sc(run):
        a = run.conn("a")
        a.create(base)
        r = a.create_ttl(base + "/t", b"d", ttl=60000)
        assert r.ok and r["stat"]["ephemeralOwner"] == 0  # stored 0xFF.. | ttl, reported 0
        r = a.create_ttl(base + "/ts-", flags=PERSISTENT_SEQUENTIAL_WITH_TTL, ttl=60000)
        assert r.ok and r["path"] == base + "/ts-0000000001"
        for ttl in (0, -1, 1 << 40, (1 << 40) + 5):
            assert a.create_ttl(base + f"/bad{ttl}", ttl=ttl).err == E["BADARGUMENTS"], ttl
        assert a.create_ttl(base + "/max", ttl=(1 << 40) - 1).ok
        # non-TTL flags through createTTL
        for fl in (0, 1, 2, 3, 4, 7):
            run.note("createTTL flag", fl, a.create_ttl(base + f"/f{fl}", flags=fl, ttl=1000).errname)
        # TTL flag through create/create2 -> BADARGUMENTS
        assert a.create(base + "/x", flags=PERSISTENT_WITH_TTL).err == E["BADARGUMENTS"]
        assert a.create2(base + "/x", flags=PERSISTENT_SEQUENTIAL_WITH_TTL).err == E["BADARGUMENTS"]
        assert a.create_ttl(base + "/nope/x", ttl=1000).err == E["NONODE"]
        assert a.create_ttl(base + "/t", ttl=1000).err == E["NODEEXISTS"]
        # last: the reaper (1 s interval) may delete it at once, and a reply after that
        # would carry the deletion's zxid on one server and not on the other
        assert a.create_ttl(base + "/one", ttl=1).errname in ("OK",)
    differential(pair, sc)


def test_ttl_disabled_unimplemented(make_pair, base):
    pair = make_pair(drop_keys=("extendedTypesEnabled",))

    def sc(run):
        a = run.conn("a")
        assert a.create_ttl(base, ttl=1000).err == E["UNIMPLEMENTED"]
        assert a.ping().ok
    differential(pair, sc)


def test_ttl_node_reaped(pair, base):
    def sc(run):
        a, w = run.conn("a"), run.conn("w")
        a.create(base)
        a.create_ttl(base + "/t", ttl=500)
        a.create_ttl(base + "/busy", ttl=500)
        a.create(base + "/busy/child")
        w.exists(base + "/t", watch=True)
        p = run.side()
        wait_until(lambda: p.exists(base + "/t").err == E["NONODE"], 15, 0.2, "TTL node reaped")
        assert a.exists(base + "/t").err == E["NONODE"]
        w.ping()
        assert [(n.type, n.path) for n in w.notifications()] == [(NodeDeleted, base + "/t")]
        assert a.exists(base + "/busy").ok  # has a child: kept
    differential(pair, sc)


def test_container_reaped_after_last_child(pair, base):
    def sc(run):
        a, w = run.conn("a"), run.conn("w")
        a.create(base)
        r = a.create_container(base + "/c")
        assert r.ok and r["stat"]["ephemeralOwner"] == 0
        a.create_container(base + "/never")  # never had a child: not reaped
        a.create(base + "/c/x")
        a.create(base + "/c/y")
        a.delete(base + "/c/x")
        w.exists(base + "/c", watch=True)
        w.get_children(base, watch=True)
        a.delete(base + "/c/y")
        p = run.side()
        wait_until(lambda: p.exists(base + "/c").err == E["NONODE"], 15, 0.2, "container reaped")
        w.ping()
        assert [(n.type, n.path) for n in w.notifications()] == [
            (NodeDeleted, base + "/c"), (NodeChildrenChanged, base)]
        assert a.exists(base + "/never").ok
        # a container can be deleted explicitly and holds any child type
        a.create_container(base + "/k")
        assert a.create(base + "/k/e", flags=1).ok
        assert a.delete(base + "/k").err == E["NOTEMPTY"]
        # multi with containers
        r = a.multi([("createContainer", base + "/mc", b"", OPEN_ACL, CONTAINER),
                     ("create", base + "/mc/ch", b"", OPEN_ACL, 0),
                     ("delete", base + "/mc/ch", -1)])
        assert r.ok and [x["type"] for x in r["results"]] == [15, 1, 2]
        wait_until(lambda: p.exists(base + "/mc").err == E["NONODE"], 15, 0.2, "multi container reaped")
        assert a.exists(base + "/mc").err == E["NONODE"]
    differential(pair, sc)
