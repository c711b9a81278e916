"""Real clients against each server: kazoo (recipes, chroot, watches),
zkCli.sh and the C client cli_mt from Debian.  Each test runs against the
reference too, which validates the expectations."""

import os
import shutil
import subprocess
import threading
import time

import pytest

from conftest import HOST, start_pair, wait_until

kazoo = pytest.importorskip("kazoo")
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import NoAuthError, NodeExistsError, NoNodeError, NotEmptyError  # noqa: E402
from kazoo.security import make_digest_acl  # noqa: E402

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"


@pytest.fixture(scope="module")
def clients_pair():
    """A pair of their own: zkCli.sh's one-shot mode exits without closeSession, so its
    sessions live on until they expire, and on the shared pair each expiry would log a
    closeSession txn inside some later differential test."""
    ref, cand = start_pair()
    yield ref, cand
    ref.cleanup()
    cand.cleanup()


@pytest.fixture(params=["ref", "cand"])
def server(request, clients_pair):
    return clients_pair[0] if request.param == "ref" else clients_pair[1]


@pytest.fixture
def kz_factory(server):
    clients = []

    def make(chroot="", **kw):
        c = KazooClient(hosts=f"{HOST}:{server.port}{chroot}", timeout=10, **kw)
        c.start(timeout=15)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:  # best-effort teardown only; failures were already reported
            pass


def uniq(request):
    return f"/kz_{request.node.name.replace('[', '_').replace(']', '')}_{os.getpid()}"


def test_kazoo_basic_and_chroot(kz_factory, request):
    root = uniq(request)
    zk = kz_factory()
    zk.create(root, b"r", makepath=True)
    zk.create(root + "/a/b", b"ab", makepath=True)
    assert zk.get(root + "/a/b")[0] == b"ab"
    with pytest.raises(NodeExistsError):
        zk.create(root + "/a")
    with pytest.raises(NotEmptyError):
        zk.delete(root + "/a")
    # chroot: the client prefixes paths; server-side this is the same tree
    cz = kz_factory(chroot=root)
    assert sorted(cz.get_children("/")) == ["a"]
    assert cz.get("/a/b")[0] == b"ab"
    p = cz.create("/seq-", b"", sequence=True, ephemeral=True)
    assert p.startswith("/seq-") and not p.startswith(root)
    assert zk.exists(root + p) is not None
    events = []
    got = threading.Event()

    def watcher(ev):
        events.append((ev.type, ev.path))
        got.set()

    cz.get("/a/b", watch=watcher)
    zk.set(root + "/a/b", b"new")
    assert got.wait(10)
    assert events == [("CHANGED", "/a/b")]  # chroot stripped from the event path
    # transactions
    t = cz.transaction()
    t.create("/t1", b"1")
    t.check("/a/b", 1)
    t.set_data("/a/b", b"x", 1)
    res = t.commit()
    assert res[0] == "/t1" and res[1] is True and res[2].version == 2
    assert cz.get("/a/b")[0] == b"x"
    t = cz.transaction()
    t.create("/t2")
    t.delete("/nope")
    res = t.commit()
    assert isinstance(res[1], NoNodeError) and cz.exists("/t2") is None
    # digest auth + ACL
    acl = make_digest_acl("alice", "secret", all=True)
    zk.create(root + "/sec", b"s", acl=[acl])
    other = kz_factory()
    with pytest.raises(NoAuthError):
        other.get(root + "/sec")
    other.add_auth("digest", "alice:secret")
    assert other.get(root + "/sec")[0] == b"s"
    other.delete(root, recursive=True)


def test_kazoo_recipes(kz_factory, request):
    root = uniq(request)
    z1, z2 = kz_factory(), kz_factory()
    # Lock
    l1, l2 = z1.Lock(root + "/lock", "one"), z2.Lock(root + "/lock", "two")
    assert l1.acquire(timeout=5)
    from kazoo.exceptions import LockTimeout
    with pytest.raises(LockTimeout):
        l2.acquire(timeout=0.5)
    assert l2.contenders() == ["one"]
    l1.release()
    assert l2.acquire(timeout=5)
    l2.release()
    # Counter
    c1, c2 = z1.Counter(root + "/counter"), z2.Counter(root + "/counter")
    for _ in range(5):
        c1 += 1
        c2 += 2
    assert c1.value == 15 and c2.value == 15
    # Queue (sequential nodes, FIFO by priority then order)
    q = z1.Queue(root + "/queue")
    for i in range(5):
        q.put(f"item{i}".encode())
    q2 = z2.Queue(root + "/queue")
    assert [q2.get() for _ in range(5)] == [f"item{i}".encode() for i in range(5)]
    assert q2.get() is None
    lq = z1.LockingQueue(root + "/lqueue")
    lq.put(b"a")
    lq.put(b"b", priority=10)
    lq.put(b"c", priority=1)
    got = []
    for _ in range(3):
        got.append(lq.get(timeout=5))
        assert lq.consume()
    assert got == [b"c", b"b", b"a"]  # lower priority value first
    assert len(lq) == 0
    # Election
    won = []
    e1 = z1.Election(root + "/election", "z1")
    t = threading.Thread(target=lambda: e1.run(lambda: won.append("z1")), daemon=True)
    t.start()
    t.join(10)
    assert won == ["z1"] and not t.is_alive()
    # Barrier
    b = z1.Barrier(root + "/barrier")
    b.create()
    released = threading.Event()
    t = threading.Thread(target=lambda: (z2.Barrier(root + "/barrier").wait(10), released.set()),
                         daemon=True)
    t.start()
    time.sleep(0.3)
    assert not released.is_set()
    b.remove()
    assert released.wait(10)
    # Party
    p1, p2 = z1.Party(root + "/party", "p1"), z2.Party(root + "/party", "p2")
    p1.join()
    p2.join()
    assert sorted(p1) == ["p1", "p2"] and len(p2) == 2
    p2.leave()
    assert list(p1) == ["p1"]
    # DataWatch / ChildrenWatch
    seen = []
    z1.ensure_path(root + "/dw")
    z1.DataWatch(root + "/dw", lambda data, stat: seen.append(data))
    z2.set(root + "/dw", b"v1")
    wait_until(lambda: b"v1" in seen, 10, what="DataWatch")
    kids = []
    z1.ChildrenWatch(root + "/dw", lambda ch: kids.append(sorted(ch)))
    z2.create(root + "/dw/k1")
    wait_until(lambda: ["k1"] in kids, 10, what="ChildrenWatch")
    z1.delete(root, recursive=True)


def test_kazoo_reconnect_keeps_session_and_watches(server, kz_factory, request):
    """Kick kazoo's connection by resuming its session from a raw socket (the
    server closes the old connection); kazoo reconnects with the same id and
    password and re-registers its watches with setWatches."""
    import zkraw
    root = uniq(request)
    zk = kz_factory()
    states = []
    zk.add_listener(lambda st: states.append(str(st)))
    zk.create(root, b"0")
    zk.create(root + "/eph", ephemeral=True)
    fired = threading.Event()
    zk.get(root, watch=lambda ev: fired.set())
    sid, pw = zk.client_id
    hijack = zkraw.ZkConn(HOST, server.port)
    r = hijack.connect(timeout_ms=10000, session_id=sid, passwd=pw, last_zxid=0)
    assert r["sessionId"] == sid
    hijack.close()
    wait_until(lambda: "SUSPENDED" in states, 10, what="kazoo noticed the kick")
    wait_until(lambda: zk.connected and states[-1] == "CONNECTED", 15, what="kazoo reconnected")
    assert zk.client_id[0] == sid and "LOST" not in states
    assert zk.exists(root + "/eph").owner_session_id == sid
    other = kz_factory()
    other.set(root, b"1")
    assert fired.wait(10), "watch not re-registered after reconnect (setWatches)"
    other.delete(root, recursive=True)


def run_zkcli(server, *args, timeout=60):
    env = dict(os.environ, ZOO_LOG4J_PROP="ERROR,CONSOLE", CLIENT_JVMFLAGS="-XX:TieredStopAtLevel=1")
    p = subprocess.run([ZKCLI, "-server", f"{HOST}:{server.port}", *args], capture_output=True,
                       text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.skipif(not os.path.exists(ZKCLI), reason="zkCli.sh (Debian zookeeper) not installed")
def test_zkcli(server, request):
    node = uniq(request)
    rc, out = run_zkcli(server, "create", node, "hello")
    assert rc == 0 and f"Created {node}" in out, out
    rc, out = run_zkcli(server, "get", node)
    assert rc == 0 and "\nhello\n" in out, out
    rc, out = run_zkcli(server, "set", node, "world")
    assert rc == 0, out
    rc, out = run_zkcli(server, "get", "-s", node)
    assert "\nworld\n" in out and "dataVersion = 1" in out and "numChildren = 0" in out, out
    assert "cZxid = 0x" in out and "ephemeralOwner = 0x0" in out
    rc, out = run_zkcli(server, "ls", "/")
    assert rc == 0 and node.lstrip("/") in out and "zookeeper" in out, out
    rc, out = run_zkcli(server, "getAcl", node)
    assert "'world,'anyone\n: cdrwa" in out, out
    rc, out = run_zkcli(server, "create", node, "again")
    assert "Node already exists" in out, out
    rc, out = run_zkcli(server, "delete", node)
    assert rc == 0, out
    rc, out = run_zkcli(server, "get", node)
    assert rc != 0 and f"Node does not exist: {node}" in out, out


@pytest.mark.skipif(not os.path.exists(CLI_MT), reason="cli_mt (Debian zookeeper-bin) not installed")
def test_cli_mt(server, request):
    node = uniq(request).replace("kz_", "c_")
    p = subprocess.Popen([CLI_MT, f"{HOST}:{server.port}"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out = []
        reader = threading.Thread(target=lambda: out.extend(iter(p.stdout.readline, "")), daemon=True)
        reader.start()
        wait_until(lambda: any("CONNECTED_STATE" in x for x in out), 15, what="cli_mt connect")

        def cmd(line, expect, timeout=10):
            n = len(out)
            p.stdin.write(line + "\n")
            p.stdin.flush()
            wait_until(lambda: any(expect in x for x in out[n:]), timeout,
                       what=f"cli_mt {line!r} -> {expect!r}; got {out[n:]}")

        cmd(f"create {node}", f"[{node}]: rc = 0")
        cmd(f"set {node} hello", f"{node}: rc = 0")
        cmd(f"get {node}", f"{node}: rc = 0")
        cmd("ls /", "/: rc = 0")
        cmd(f"create +e {node}/eph", f"[{node}/eph]: rc = 0")
        cmd(f"delete {node}", f"{node}: rc = -111")
        cmd(f"delete {node}/eph", f"{node}/eph: rc = 0")
        cmd(f"delete {node}", f"{node}: rc = 0")
        cmd(f"get {node}", f"{node}: rc = -101")
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait(10)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait(5)
