"""Clients on every server of 3 voters + 1 observer write and read: every acknowledged write
is on every server after sync, and each session's writes take effect in the order it sent
them, which it reads back without sync (ZooKeeper's FIFO client order and read-your-writes).
"""

from __future__ import annotations

from kazoo.exceptions import KazooException

from workload import (all_acknowledge, check_replicated, read_children, start_writers,
                      stop_writers)

# Requests one session pipelines (sent before any reply is awaited).
PIPELINED = 200


def test_every_acknowledged_write_is_on_every_server(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    leader = ens.wait_formed()
    assert sorted(ens.modes().values()) == ["follower", "follower", "leader", "observer"]
    clients = {sid: ens.client(sid) for sid in ens.sids}
    for sid, c in clients.items():
        assert ens.connected_sid(c) == sid
    clients[leader].create("/repl/seq", makepath=True)
    clients[leader].create("/repl/pipe")
    for sid in ens.sids:
        clients[sid].create(f"/repl/reg-{sid}", b"0")

    # Per-session order: PIPELINED sequential creates and setData, interleaved, from each
    # session at once, all before any reply is read.
    pending = {}
    for sid, c in clients.items():
        pending[sid] = [(c.create_async("/repl/pipe/s-", f"s{sid}:{n}".encode(), sequence=True,
                                        include_data=True),
                         c.set_async(f"/repl/reg-{sid}", str(n + 1).encode()))
                        for n in range(PIPELINED)]
    acked = {}
    for sid, pairs in pending.items():
        try:
            results = [(cr.get(timeout=60), sr.get(timeout=60)) for cr, sr in pairs]
        except KazooException as e:
            raise AssertionError(
                f"s{sid}'s session lost pipelined writes ({type(e).__name__}) with every "
                f"server up and no fault injected; roles now {ens.modes()}") from e
        seqs = [int(path.rsplit("-", 1)[1]) for (path, _), _ in results]
        czxids = [stat.czxid for (_, stat), _ in results]
        versions = [stat.version for _, stat in results]
        mzxids = [stat.mzxid for _, stat in results]
        assert seqs == sorted(seqs) and len(set(seqs)) == PIPELINED, \
            f"s{sid}: sequence numbers out of the session's order: {seqs[:20]}"
        assert czxids == sorted(czxids), f"s{sid}: creates committed out of order"
        assert versions == list(range(1, PIPELINED + 1)), \
            f"s{sid}: setData versions out of order: {versions[:20]}"
        # a session's create n and set n commit in the order they were sent
        for n in range(PIPELINED):
            assert czxids[n] < mzxids[n], f"s{sid}: set {n} committed before create {n}"
            if n + 1 < PIPELINED:
                assert mzxids[n] < czxids[n + 1], f"s{sid}: create {n + 1} before set {n}"
        for n, ((path, _), _) in enumerate(results):
            acked[path] = f"s{sid}:{n}".encode()
        # read-your-writes on the session's own server, no sync
        data, stat = clients[sid].get(f"/repl/reg-{sid}")
        assert (data, stat.version) == (str(PIPELINED).encode(), PIPELINED), \
            f"s{sid} reads {data!r} v{stat.version} after its own {PIPELINED} acknowledged sets"
        own = {p.rsplit("/", 1)[1] for (p, _), _ in results}
        missing = own - set(clients[sid].get_children("/repl/pipe"))
        assert not missing, f"s{sid} does not list its own acknowledged creates {sorted(missing)[:5]}"

    # A write acknowledged on one server is seen by a session on any other after its sync.
    for src in ens.sids:
        for dst in ens.sids:
            path = clients[src].create(f"/repl/x-{src}-{dst}", f"{src}->{dst}".encode())
            clients[dst].sync(path)
            found = clients[dst].exists(path)
            assert found is not None, f"s{dst} does not have {path}, acknowledged on s{src}, after sync"

    # Then continuous load from every session at once, and every server compared after sync.
    writers = start_writers({f"w{sid}": c for sid, c in clients.items()}, "/repl/seq")
    all_acknowledge(writers, 100, since=0.0)
    stop_writers(writers)
    assert all(op.ok for w in writers for op in w.snapshot()), \
        "a write failed with all servers up: " + str(
            [(op.writer, op.error) for w in writers for op in w.snapshot() if not op.ok][:5])
    check_replicated(ens, "/repl/seq", writers)
    for sid in ens.sids:
        c = ens.client(sid)
        assert read_children(c, "/repl/pipe") == acked, \
            f"s{sid} after sync differs from the pipelined acknowledged creates"
        c.sync("/repl")
        for owner in ens.sids:
            data, stat = c.get(f"/repl/reg-{owner}")
            assert (data, stat.version) == (str(PIPELINED).encode(), PIPELINED), \
                f"s{sid} has /repl/reg-{owner} = {data!r} v{stat.version} after sync"
