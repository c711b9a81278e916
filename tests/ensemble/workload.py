"""Write load with a full record of what every client was told, and the checks against it.

A Writer is one kazoo session that creates sequential znodes `<parent>/<name>-NNNNNNNNNN`
with data `<name>:<n>`, one request at a time, and records every request: when it was
submitted, when and how it ended (ok with the path and czxid, or the error), or that it never
ended. Outcomes are taken from kazoo's callback, so a reply that comes after the writer gave
up waiting is recorded too. `check_replicated` reads every server after `sync` and compares.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from kazoo.client import KazooClient

# The most requests one writer records; the suite's runs stay far below it.
MAX_OPS_PER_WRITER = 200_000
# Reads one check pipelines on a connection before it waits for their replies.
READ_WINDOW = 500


def epoch(zxid: int) -> int:
    """The leader epoch (ZooKeeper) or term (Ringkeeper) in the high 32 bits of a zxid."""
    return zxid >> 32


@dataclass
class Op:
    writer: str
    n: int
    data: bytes
    submitted: float                   # time.monotonic()
    done: Optional[float] = None       # when the reply (or the error) came
    ok: bool = False
    path: Optional[str] = None
    czxid: Optional[int] = None
    error: Optional[str] = None        # exception class name of a failed request


class Writer(threading.Thread):
    """Creates sequential znodes under `parent` through `client` until stopped."""

    def __init__(self, client: KazooClient, name: str, parent: str,
                 op_timeout: float = 2.0, pause: float = 0.005) -> None:
        super().__init__(name=f"writer-{name}", daemon=True)
        self.client, self.parent = client, parent
        self.label = name
        self.op_timeout, self.pause = op_timeout, pause
        self.ops: list = []
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        n = 0
        while not self._halt.is_set() and n < MAX_OPS_PER_WRITER:
            data = f"{self.label}:{n}".encode()
            op = Op(self.label, n, data, time.monotonic())
            with self._lock:
                self.ops.append(op)
            try:
                result = self.client.create_async(f"{self.parent}/{self.label}-", data,
                                                  sequence=True, include_data=True)
            except Exception as e:  # the client refused it outright (closed)
                self._finish(op, None, e)
            else:
                result.rawlink(lambda r, op=op: self._finish(op, r, None))
                # Waiting longer than op_timeout would hide a stall behind one request; the
                # reply, if it ever comes, is still recorded.
                result.wait(self.op_timeout)
            n += 1
            if not op.ok:
                time.sleep(0.01)  # do not spin while the client has no server
            elif self.pause:
                time.sleep(self.pause)

    def _finish(self, op: Op, result, exc: Optional[BaseException]) -> None:
        now = time.monotonic()
        with self._lock:
            op.done = now
            if result is not None and result.successful():
                path, stat = result.value
                op.ok, op.path, op.czxid = True, path, stat.czxid
            else:
                op.error = type(exc or result.exception).__name__

    def stop(self) -> None:
        self._halt.set()
        self.join(30)
        assert not self.is_alive(), f"{self.label} did not stop"

    # -- views of the record ------------------------------------------------------------
    def snapshot(self) -> list:
        with self._lock:
            return list(self.ops)

    def acked(self, since: float = 0.0) -> list:
        return [op for op in self.snapshot() if op.ok and op.done >= since]

    def last_outcomes(self, n: int = 5) -> list:
        """The error (or "ok", or "pending") of the last `n` requests."""
        return [op.error or ("ok" if op.ok else "pending") for op in self.snapshot()[-n:]]

    def wait_acks(self, count: int, since: float = 0.0, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked(since)) < count:
            session = self.client.client_id
            assert time.monotonic() < deadline, (
                f"{self.label} (session {session[0] if session else 0:#x}): "
                f"{len(self.acked(since))} of {count} writes acknowledged in {timeout}s; "
                f"last outcomes {self.last_outcomes()}")
            time.sleep(0.02)


def start_writers(clients: dict, parent: str, **kw) -> list:
    """One Writer per (name -> client), started."""
    writers = [Writer(c, name, parent, **kw) for name, c in clients.items()]
    for w in writers:
        w.start()
    return writers


def stop_writers(writers: Iterable) -> None:
    for w in writers:
        w.stop()


def all_acknowledge(writers: Iterable, count: int, since: Optional[float] = None) -> None:
    """Waits until every writer has `count` writes acknowledged after `since` (default: now)."""
    since = time.monotonic() if since is None else since
    for w in writers:
        w.wait_acks(count, since)


def rejoin_as_follower(ens, sid: int, leader: int, writers: Iterable, acks: int = 20) -> None:
    """Starts stopped member `sid` again under the writers' load: it must serve as a follower
    without changing the leader, and every writer must then get `acks` writes acknowledged."""
    ens.restart(sid)
    assert ens[sid].mode() == "follower", f"s{sid} came back as {ens[sid].mode()}"
    assert ens.leader() == leader, f"s{sid}'s return changed the leader from s{leader}"
    all_acknowledge(writers, acks)


def wipe_and_rejoin(ens, parent: str, before: int, away: int, rejoin_acks: int,
                    while_away: Optional[Callable[[int], None]] = None) -> tuple:
    """A follower loses its disk under load: a writer on every other server creates znodes
    under `parent` until each has `before` acknowledged; the follower is SIGKILLed and its
    dataDir and dataLogDir emptied (myid kept); each writer gets `away` more; `while_away`
    (given the leader) runs; the follower starts again and must rejoin as a follower
    (`rejoin_as_follower` with `rejoin_acks`). Every write must have succeeded (a quorum was
    up all along) and be on every server. Returns (leader, wiped sid, replicated view)."""
    leader = ens.wait_formed()
    wiped = min(s for s in ens.voters if s != leader)
    ens.client(leader).create(parent)
    writers = start_writers({f"w{s}": ens.client(s) for s in ens.sids if s != wiped}, parent)
    all_acknowledge(writers, before, since=0.0)
    ens.kill(wiped)
    ens.wipe(wiped)
    assert not list(ens[wiped].data_log_dir.iterdir()), "dataLogDir not empty after wipe"
    assert [p.name for p in ens[wiped].data_dir.iterdir()] == ["myid"]
    all_acknowledge(writers, away)
    if while_away is not None:
        while_away(leader)
    rejoin_as_follower(ens, wiped, leader, writers, acks=rejoin_acks)
    stop_writers(writers)
    failed = [(op.writer, op.error) for w in writers for op in w.snapshot() if not op.ok]
    assert not failed, f"a write failed while a quorum was up all along: {failed[:5]}"
    return leader, wiped, check_replicated(ens, parent, writers)


def read_children(client: KazooClient, parent: str) -> dict:
    """{child path: data} of `parent` as `client`'s server has it after `sync`."""
    client.sync(parent)
    names = client.get_children(parent)
    out = {}
    for i in range(0, len(names), READ_WINDOW):
        batch = names[i:i + READ_WINDOW]
        pending = [(name, client.get_async(f"{parent}/{name}")) for name in batch]
        for name, r in pending:
            out[f"{parent}/{name}"] = r.get(timeout=30)[0]
    return out


def check_replicated(ens, parent: str, writers: Iterable, sids: Optional[Iterable] = None) -> dict:
    """On every server of `sids` (default: all running), after `sync` through a session of its
    own: every acknowledged create is there with its data, every znode there is one some writer
    asked for, and all servers hold the same znodes. Returns the common {path: data}."""
    ops = [op for w in writers for op in w.snapshot()]
    acked = {op.path: op.data for op in ops if op.ok}
    asked = {op.data for op in ops}
    assert len(acked) == len([op for op in ops if op.ok]), "a sequential path was handed out twice"
    sids = [s for s in (sids or ens.sids) if ens[s].alive()]
    views = {}
    for sid in sids:
        c = ens.client(sid)
        try:
            views[sid] = read_children(c, parent)
        finally:
            c.stop()
            c.close()
    for sid, view in views.items():
        missing = sorted(p for p in acked if p not in view)
        assert not missing, (f"s{sid} lacks {len(missing)} of {len(acked)} acknowledged writes, "
                             f"first {missing[:5]}")
        wrong = sorted(p for p, d in acked.items() if view[p] != d)
        assert not wrong, f"s{sid} has other data in acknowledged znodes {wrong[:5]}"
        unasked = sorted(p for p, d in view.items() if d not in asked)
        assert not unasked, f"s{sid} has znodes no writer asked for: {unasked[:5]}"
    first = sids[0]
    for sid in sids[1:]:
        only_first = sorted(set(views[first]) - set(views[sid]))
        only_here = sorted(set(views[sid]) - set(views[first]))
        assert not only_first and not only_here, (
            f"s{first} and s{sid} differ after sync: only on s{first} {only_first[:5]}, "
            f"only on s{sid} {only_here[:5]}")
    return views[first]
