"""Kill -9 loop: concurrent kazoo writers, SIGKILL at a random moment, restart on the
same directories, check that nothing acknowledged was lost.

Per cycle:
  1. start the server on the same dataDir/dataLogDir (and port);
  2. check (fresh kazoo session + 4lw):
     - srvr Zxid >= every zxid any client saw acknowledged, and >= the Zxid the previous
       check saw; a client whose last seen zxid is the largest acknowledged one can connect;
     - every acknowledged znode exists with its last acknowledged data; every
       acknowledged delete stays deleted; an operation that was in flight at the kill may
       or may not have happened (a multi all-or-nothing); nothing else appears;
     - sequential names are unique and every new one is above every name of an earlier
       cycle (the parent's cversion never goes back);
     - ephemerals of sessions that died with the server are still there right after the
       restart (ZooKeeper restores sessions from snapshot + log and restarts their
       timeout at load); on some cycles the check waits and they must be gone once the
       session timeout (4 s) has passed;
     - a long-lived "keeper" session (15 s timeout) reconnects after every restart with
       its session (and ephemeral) intact and its last zxid accepted;
  3. start 5 writer sessions (creates, setData, deletes, ephemerals, sequentials, multi),
     SIGKILL the server 50-500 ms into the load.

CRASH_LOOP_CYCLES (default 8) and CRASH_LOOP_SEED replay; the seed is printed.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import pytest
from kazoo.exceptions import KazooException, NoNodeError
from kazoo.protocol.states import KazooState

from crashlib import kazoo_client, read_segment, stop_quietly

CYCLES = int(os.environ.get("CRASH_LOOP_CYCLES", "8"))
WRITERS = 5
SESSION_TIMEOUT_MS = 4000  # = minSessionTimeout at tickTime=1000 is 2000; 4000 is allowed
TICK_MS = 1000
KEEPER_TIMEOUT_MS = 15000
ABSENT = None


@dataclass
class Node:
    allowed: set  # acceptable states: bytes (present with this data) or ABSENT
    ephemeral_session: Optional[int] = None
    seq: bool = False


@dataclass
class Multi:
    effects: list  # [(path, old_state, new_state)]


@dataclass
class Model:
    nodes: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_acked_zxid: int = 0
    ambiguous_multis: list = field(default_factory=list)
    seq_acked: list = field(default_factory=list)  # names acknowledged, all cycles
    seq_floor: int = -1  # highest sequence number known to exist before this cycle
    dead_sessions: set = field(default_factory=set)  # sessions that died with a server
    stats: dict = field(default_factory=lambda: {"acked": 0, "inflight": 0, "snapshots": 0})

    def ack(self, client) -> None:
        with self.lock:
            self.max_acked_zxid = max(self.max_acked_zxid, client.last_zxid)
            self.stats["acked"] += 1

    def set_acked(self, path, state, **kw) -> None:
        with self.lock:
            n = self.nodes.get(path)
            if n is None:
                self.nodes[path] = Node({state}, **kw)
            else:
                n.allowed = {state}
                for k, v in kw.items():
                    setattr(n, k, v)

    def set_maybe(self, path, state, **kw) -> None:
        with self.lock:
            n = self.nodes.get(path)
            if n is None:
                self.nodes[path] = Node({ABSENT, state}, **kw)
            else:
                n.allowed.add(state)
            self.stats["inflight"] += 1

    def acked_value(self, path):
        with self.lock:
            n = self.nodes.get(path)
            if n is None or len(n.allowed) != 1:
                return ABSENT
            return next(iter(n.allowed))


class Writer(threading.Thread):
    def __init__(self, idx, cycle, server, model, rng, go) -> None:
        super().__init__(daemon=True, name=f"writer-{idx}")
        self.idx, self.cycle, self.model, self.rng, self.go = idx, cycle, model, rng, go
        self.client = kazoo_client(server, timeout_s=SESSION_TIMEOUT_MS / 1000)
        self.base = f"/crash/w{idx}"
        self.k = 0
        self.error = None
        self.session_id = None

    def connect(self) -> None:
        self.client.start(timeout=15)
        self.session_id = self.client.client_id[0]

    def own_persistent(self):
        # paths this writer slot owns whose acknowledged state is "present"
        with self.model.lock:
            return [p for p, n in self.model.nodes.items()
                    if p.startswith(self.base + "/") and n.ephemeral_session is None
                    and len(n.allowed) == 1 and next(iter(n.allowed)) is not ABSENT]

    def run(self) -> None:
        self.go.wait()
        try:
            while True:
                self.step()
        except KazooException as e:  # the server died (ConnectionLoss etc.): stop writing
            self.error = e
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
            self.unexpected = e

    def data(self) -> bytes:
        self.k += 1
        return (f"c{self.cycle}w{self.idx}k{self.k}:".encode()
                + self.rng.randbytes(self.rng.randint(0, 64)).hex().encode())

    def step(self) -> None:
        m, c, r = self.model, self.client, self.rng
        op = r.choices(["create", "set", "delete", "eph", "seq", "multi"],
                       [40, 25, 5, 10, 15, 5])[0]
        own = self.own_persistent() if op in ("set", "delete", "multi") else []
        if op in ("set", "delete") and not own:
            op = "create"
        if op == "create":
            path, d = f"{self.base}/c{self.cycle}-n{self.k}", self.data()
            try:
                c.create(path, d)
            except BaseException:
                m.set_maybe(path, d)
                raise
            m.set_acked(path, d)
        elif op == "set":
            path, d = r.choice(own), self.data()
            try:
                c.set(path, d)
            except BaseException:
                m.set_maybe(path, d)
                raise
            m.set_acked(path, d)
        elif op == "delete":
            path = r.choice(own)
            try:
                c.delete(path)
            except BaseException:
                m.set_maybe(path, ABSENT)
                raise
            m.set_acked(path, ABSENT)
        elif op == "eph":
            path, d = f"/crash/eph/c{self.cycle}-w{self.idx}-{self.k}", self.data()
            try:
                c.create(path, d, ephemeral=True)
            except BaseException:
                m.set_maybe(path, d, ephemeral_session=self.session_id)
                raise
            m.set_acked(path, d, ephemeral_session=self.session_id)
        elif op == "seq":
            d = self.data()
            name = c.create("/crash/seq/s-", d, sequence=True)  # in flight: unknown name
            m.set_acked(name, d, seq=True)
            with m.lock:
                m.seq_acked.append(name)
        elif op == "multi":
            a, b = (f"{self.base}/c{self.cycle}-m{self.k}a", f"{self.base}/c{self.cycle}-m{self.k}b")
            da, db, ds = self.data(), self.data(), self.data()
            t = c.transaction()
            t.create(a, da)
            t.create(b, db)
            effects = [(a, ABSENT, da), (b, ABSENT, db)]
            if own:
                s = r.choice(own)
                t.set_data(s, ds)
                effects.append((s, m.acked_value(s), ds))
            try:
                res = t.commit()
            except BaseException:
                for p, _, new in effects:
                    m.set_maybe(p, new)
                with m.lock:
                    m.ambiguous_multis.append(Multi(effects))
                raise
            bad = [x for x in res if isinstance(x, Exception)]
            assert not bad, f"multi failed: {res}"
            for p, _, new in effects:
                m.set_acked(p, new)
        m.ack(c)


class Keeper:
    """One session that lives across all restarts (like a real client would)."""

    def __init__(self, server, model) -> None:
        self.states = []
        self.client = kazoo_client(server, timeout_s=KEEPER_TIMEOUT_MS / 1000)
        self.client.add_listener(lambda st: self.states.append(st))
        self.client.start(timeout=15)
        self.session_id = self.client.client_id[0]
        self.client.create("/crash/keeper", b"k", ephemeral=True)
        model.ack(self.client)

    def check(self, model, cycle) -> None:
        deadline = time.monotonic() + 10
        while not self.client.connected:
            assert KazooState.LOST not in self.states, \
                "the keeper session was expired/lost across a restart (its session must be restored)"
            assert time.monotonic() < deadline, (
                f"keeper did not reconnect within 10 s after restart (states {self.states[-5:]}); "
                "was its last zxid refused?")
            time.sleep(0.02)
        assert self.client.client_id[0] == self.session_id, "keeper got a new session"
        # its ephemeral and session survive every restart
        d, st = self.client.get("/crash/keeper")
        assert st.ephemeralOwner == self.session_id, (st, self.session_id)
        self.client.set("/crash/keeper", f"cycle {cycle}".encode())
        model.ack(self.client)


def check_state(server, model: Model, cycle: int, restarted_at: float, rng, expect_expiry: bool,
                log) -> None:
    srvr_zxid = server.zxid()
    assert srvr_zxid >= model.max_acked_zxid, (
        f"cycle {cycle}: zxid went backwards: srvr Zxid {srvr_zxid:#x} < acknowledged "
        f"{model.max_acked_zxid:#x}")
    model.max_acked_zxid = max(model.max_acked_zxid, srvr_zxid)

    # A client that saw the largest acknowledged zxid must be accepted.
    c = kazoo_client(server, timeout_s=SESSION_TIMEOUT_MS / 1000)
    c.last_zxid = model.max_acked_zxid
    try:
        c.start(timeout=10)
    except Exception as e:
        stop_quietly(c)
        raise AssertionError(f"cycle {cycle}: a client with last zxid {model.max_acked_zxid:#x} "
                             f"could not connect: {e!r}")
    try:
        # 1. ephemerals first (time-sensitive): sessions restored, timeouts restarted at
        #    load, so no restored session can expire before spawn + timeout.
        with model.lock:
            ephs = {p: n for p, n in model.nodes.items() if n.ephemeral_session is not None}
        eph_children = set(c.get_children("/crash/eph"))
        eph_observed = {}
        for p in ephs:
            try:
                eph_observed[p] = c.get(p)[0]
            except NoNodeError:
                eph_observed[p] = ABSENT
        took = time.monotonic() - restarted_at
        fresh = took * 1000 < SESSION_TIMEOUT_MS - TICK_MS
        if fresh:
            bad = [(p, eph_observed[p], n.allowed) for p, n in ephs.items()
                   if eph_observed[p] not in n.allowed]
            assert not bad, (f"cycle {cycle}: ephemerals of sessions that died with the server "
                             f"are not in an acknowledged state {took:.1f}s after restart "
                             f"(session timeout {SESSION_TIMEOUT_MS} ms) (path, observed, "
                             f"allowed): {bad[:8]}")
            for p, n in ephs.items():
                n.allowed = {eph_observed[p]}
        else:
            log(f"cycle {cycle}: ephemeral presence not checked (restart + check took {took:.1f}s)")
            for n in ephs.values():
                n.allowed.add(ABSENT)  # their sessions may expire during this server's life
        unknown = [x for x in eph_children if f"/crash/eph/{x}" not in ephs]
        assert not unknown, f"cycle {cycle}: unknown ephemerals {unknown}"

        # 2. every path of the model
        observed = {}
        for path in [p for p, n in model.nodes.items() if n.ephemeral_session is None]:
            try:
                val, st = c.get(path)
                observed[path] = val
            except NoNodeError:
                observed[path] = ABSENT
        bad = []
        for path, n in model.nodes.items():
            if n.ephemeral_session is not None:
                continue  # checked above
            if observed[path] not in n.allowed:
                bad.append((path, observed[path], n.allowed))
        assert not bad, (f"cycle {cycle}: {len(bad)} znodes not in an acknowledged state "
                         f"(path, observed, allowed): {bad[:8]}")
        for mu in model.ambiguous_multis:
            got = [observed[p] == new for p, _, new in mu.effects]
            olds = [observed[p] == old for p, old, _ in mu.effects]
            assert all(got) or all(olds), (f"cycle {cycle}: multi applied partially: "
                                           f"{[(p, observed[p]) for p, _, _ in mu.effects]}")
        model.ambiguous_multis.clear()
        # nothing appears that nobody wrote
        for w in range(WRITERS):
            base = f"/crash/w{w}"
            for ch in c.get_children(base):
                p = f"{base}/{ch}"
                assert p in model.nodes, f"cycle {cycle}: znode {p} was never written"

        # 3. sequential names
        seq_children = sorted(c.get_children("/crash/seq"))
        assert len(model.seq_acked) == len(set(model.seq_acked)), "a sequential name was acknowledged twice"
        missing = [n for n in model.seq_acked if n.rsplit("/", 1)[1] not in seq_children]
        assert not missing, f"cycle {cycle}: acknowledged sequential znodes missing: {missing[:10]}"
        for ch in seq_children:  # adopt in-flight creates that made it
            p = f"/crash/seq/{ch}"
            if p not in model.nodes:
                val, _ = c.get(p)
                model.nodes[p] = Node({val}, seq=True)
                observed[p] = val
        nums = [int(ch[2:]) for ch in seq_children]
        if nums:
            model.seq_floor = max(model.seq_floor, max(nums))

        # resolve: what recovery shows is now the durable state
        for path, n in model.nodes.items():
            if n.ephemeral_session is None:
                n.allowed = {observed[path]}

        # 4. expiry of the sessions that died with the server
        if expect_expiry:
            deadline = restarted_at + (SESSION_TIMEOUT_MS + 2 * TICK_MS) / 1000 + 3.0
            while True:
                left = set(c.get_children("/crash/eph"))
                if not left:
                    break
                assert time.monotonic() < deadline, (
                    f"cycle {cycle}: ephemerals of dead sessions still present "
                    f"{time.monotonic() - restarted_at:.1f}s after restart "
                    f"(session timeout {SESSION_TIMEOUT_MS} ms): {sorted(left)[:10]}")
                time.sleep(0.2)
            for p, n in ephs.items():
                n.allowed = {ABSENT}
            log(f"cycle {cycle}: dead sessions' ephemerals expired after "
                f"{time.monotonic() - restarted_at:.1f}s")
        model.max_acked_zxid = max(model.max_acked_zxid, c.last_zxid)
    finally:
        stop_quietly(c)


def run_loop(make_server, cfg: dict, cycles: int, seed: int, label: str, tamper=None) -> None:
    rng = random.Random(seed)
    print(f"\n[{label}] CRASH_LOOP_SEED={seed} CRASH_LOOP_CYCLES={cycles} cfg={cfg}")
    s = make_server(cfg=cfg, name=f"loop-{label}")
    model = Model()

    def log(msg):
        print(f"[{label}] {msg}")

    s.start()
    setup = kazoo_client(s)
    setup.start(timeout=15)
    for p in ["/crash/seq", "/crash/eph"] + [f"/crash/w{w}" for w in range(WRITERS)]:
        setup.ensure_path(p)
    model.ack(setup)
    stop_quietly(setup)
    keeper = Keeper(s, model)
    restarted_at = s.spawned_at
    expiry_every = max(4, cycles // 3)
    t_start = time.monotonic()
    try:
        for cycle in range(cycles):
            last = cycle == cycles - 1
            # writers
            go = threading.Event()
            writers = [Writer(i, cycle, s, model, random.Random(rng.random()), go)
                       for i in range(WRITERS)]
            for w in writers:
                w.connect()
                model.ack(w.client)
            with model.lock:
                model.dead_sessions.update(w.session_id for w in writers)
            seq_floor = model.seq_floor
            seq_start = len(model.seq_acked)
            for w in writers:
                w.start()
            delay = rng.uniform(0.05, 0.5)
            go.set()
            time.sleep(delay)
            rc = s.kill()
            lifetime = time.monotonic() - s.spawned_at
            if lifetime * 1000 >= SESSION_TIMEOUT_MS - TICK_MS:
                # This server ran long enough (slow check, fsync stalls on a loaded machine)
                # for the restored sessions to expire legitimately during its life.
                with model.lock:
                    for n in model.nodes.values():
                        if n.ephemeral_session is not None:
                            n.allowed.add(ABSENT)
                log(f"cycle {cycle}: server lived {lifetime:.1f}s >= session timeout - 1 tick: "
                    "its restored sessions may have expired")
            # Stop the writer clients now (the server is dead, so no closeSession reaches
            # it): a call issued after kazoo noticed the loss is queued until a reconnect
            # and would otherwise wait for the restart.
            stoppers = [threading.Thread(target=stop_quietly, args=(w.client,), daemon=True)
                        for w in writers]
            for t in stoppers:
                t.start()
            for w in writers:
                w.join(timeout=30)
                assert not w.is_alive(), "writer thread hung after the kill"
                assert not getattr(w, "unexpected", None), f"writer {w.idx}: {w.unexpected!r}"
            for t in stoppers:
                t.join(timeout=30)
            new_seq = [n for n in model.seq_acked[seq_start:] if int(n.rsplit("-", 1)[1]) <= seq_floor]
            assert not new_seq, (f"cycle {cycle}: sequential names at or below {seq_floor} (the highest "
                                 f"one of earlier cycles) were handed out again: {new_seq[:5]}")
            if tamper is not None:
                tamper(s, cycle)
            # restart and check
            s.start()
            restarted_at = s.spawned_at
            keeper.check(model, cycle)
            expect_expiry = last or (cycle + 1) % expiry_every == 0
            check_state(s, model, cycle, restarted_at, rng, expect_expiry, log)
            n_snap = len(s.snapshots())
            log(f"cycle {cycle}: killed {delay * 1000:.0f} ms into the load (rc {rc}), "
                f"acked {model.stats['acked']} ops, {model.stats['inflight']} in flight so far, "
                f"zxid {model.max_acked_zxid:#x}, {len(s.segments())} log segments, "
                f"{n_snap} snapshots")
    except BaseException:
        print(f"[{label}] FAILED with CRASH_LOOP_SEED={seed}; server dir {s.root}")
        print(s.log_text()[-4000:])
        raise
    finally:
        stop_quietly(keeper.client)
    log(f"{cycles} cycles in {time.monotonic() - t_start:.1f}s")


def _seed() -> int:
    env = os.environ.get("CRASH_LOOP_SEED")
    return int(env) if env else random.SystemRandom().randrange(1 << 32)


@pytest.mark.slow
@pytest.mark.parametrize("label,cfg", [
    ("snapcount200", {"snapCount": "200"}),
    ("default-snapcount", {}),
])
def test_crash_loop(make_server, label, cfg):
    run_loop(make_server, cfg, CYCLES, _seed(), label)


def test_checker_catches_lost_acknowledged_writes(make_server):
    """The checker itself: drop the newest 10 records of the log after a kill (what a
    server that acknowledged before its fsync could lose) and the next check must fail."""

    def tamper(server, cycle):
        seg = server.segments()[-1]
        recs = read_segment(seg)
        assert len(recs) > 10, recs
        os.truncate(seg, recs[-10].offset)

    with pytest.raises(AssertionError, match=r"zxid went backwards|not in an acknowledged state"):
        run_loop(make_server, {}, 1, 12345, "selftest", tamper=tamper)
