"""Sessions move: two sessions with ephemerals and watches, connected to a follower, lose that
follower (SIGKILL) and reconnect to other servers with the same session; nothing expires,
the ephemerals stay, and the watches fire on the new server.

kazoo (2.10) reconnects by itself but does not carry watches over: on a lost connection it
fires every watcher with a NONE event and drops it, and it sends no SetWatches. So the
watches are on a second session driven by the differential suite's raw client, which
resumes its session on another server and sends SetWatches with the last zxid it saw, as
ZooKeeper's Java and C clients do.
"""

from __future__ import annotations

import queue

from kazoo.exceptions import KazooException
from kazoo.protocol.states import EventType, KazooState

import zkraw
from ensemble import HOST, wait_until
from zkraw import EPHEMERAL, NodeChildrenChanged, NodeCreated, NodeDataChanged

SESSION_TIMEOUT_MS = 20000


def test_sessions_survive_their_server(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    leader = ens.wait_formed()
    # Both sessions start on a follower; kazoo moves to the other follower (its next host),
    # the raw session to the observer: a session resumed on a learner that is not the leader.
    home, next_follower = sorted(s for s in ens.voters if s != leader)
    observer = next(s for s in ens.sids if ens[s].observer)

    k = ens.client([home, next_follower, leader, observer])
    assert ens.connected_sid(k) == home
    states = []
    k.add_listener(states.append)
    k_session = k.client_id[0]
    k.create("/move")
    k.create("/move/watched", b"0")
    k_eph = k.create("/move/k-eph", b"kazoo", ephemeral=True)
    kazoo_events = queue.Queue()
    k.get("/move/watched", watch=kazoo_events.put)

    raw = zkraw.connect(HOST, ens[home].port, timeout_ms=SESSION_TIMEOUT_MS)
    assert raw.create("/move/raw-eph", b"raw", flags=EPHEMERAL).ok
    assert raw.get_data("/move/watched", watch=True).ok
    assert raw.exists("/move/born", watch=True).errname == "NONODE"
    assert raw.get_children("/move", watch=True).ok
    raw_session, raw_passwd, raw_seen = raw.session_id, raw.passwd, raw.last_zxid

    ens.kill(home)
    raw.close()
    def moved():
        sid = ens.connected_sid(k)
        return sid if k.connected and sid not in (None, home) else None
    moved_to = wait_until(moved, 30, interval=0.02, what="kazoo to reconnect to another server")
    assert moved_to == next_follower, f"kazoo reconnected to s{moved_to}, not its next host"
    assert k.client_id[0] == k_session, "kazoo got a new session"
    assert KazooState.LOST not in states, f"kazoo's session was lost: {states}"
    ev = kazoo_events.get(timeout=5)
    assert ev.type == EventType.NONE, f"kazoo's watch fired with {ev} on reconnecting"

    # Changed while the raw session is away: its resumed watch fires (before the SetWatches
    # reply if the new server has applied the change already, else when it does).
    try:
        k.set("/move/watched", b"1")
    except KazooException as e:
        raise AssertionError(f"the first write of kazoo's session after it moved to follower "
                             f"s{moved_to} failed: {type(e).__name__}") from e
    raw = zkraw.connect(HOST, ens[observer].port, timeout_ms=SESSION_TIMEOUT_MS,
                        session_id=raw_session, passwd=raw_passwd, last_zxid=raw_seen)
    assert raw.session_id == raw_session, "the raw session was not resumed"
    r = raw.set_watches(raw_seen, data=["/move/watched"], exist=["/move/born"], child=["/move"],
                        xid=-8)
    assert r.ok, r

    def events():
        raw.drain(0.05)
        return [(n.type, n.path) for n in raw.notifications()]
    wait_until(events, 10, interval=0, what="the change made while away to fire the watch")
    assert events() == [(NodeDataChanged, "/move/watched")]

    # Seen from an independent session after sync: both ephemerals, owned by the moved sessions.
    other = ens.client(moved_to)
    other.sync("/move")
    for path, owner in ((k_eph, k_session), ("/move/raw-eph", raw_session)):
        stat = other.exists(path)
        assert stat is not None, f"{path} is gone after its session moved"
        assert stat.ephemeralOwner == owner, f"{path} has owner {stat.ephemeralOwner:#x}"

    # The re-armed watches fire for changes made after the move.
    other.create("/move/born")
    wait_until(lambda: len(events()) >= 3, 10, interval=0, what="the resumed watches to fire")
    assert sorted(events()) == sorted(
        [(NodeDataChanged, "/move/watched"), (NodeCreated, "/move/born"),
         (NodeChildrenChanged, "/move")])

    # kazoo's session works on its new server, and a watch set there fires.
    k.get("/move/watched", watch=kazoo_events.put)
    other.set("/move/watched", b"2")
    ev = kazoo_events.get(timeout=10)
    assert (ev.type, ev.path) == (EventType.CHANGED, "/move/watched")
    assert k.client_id[0] == k_session and ens.connected_sid(k) == moved_to
    assert raw.ping().ok and raw.session_id == raw_session
    raw.close()
