"""Partitions: one server is cut off from every other (the link proxies reset its peer
connections and refuse new ones) while a writer on every server keeps writing. The cut-off
side acknowledges nothing sent after the cut: its writes time out or fail with connection
loss. The rest keeps a leader (a new one when the leader was cut off, the same one when a
follower was) and keeps acknowledging. After healing, the cut-off server serves in its role
again, every acknowledged write is on every server, and nothing is there that no writer
asked for.
"""

from __future__ import annotations

import time

from ensemble import FIGURES, wait_until
from workload import all_acknowledge, check_replicated, epoch, start_writers, stop_writers

# How long the server stays cut off once the other side writes again: long enough for its
# writer to try many times, shorter than the kazoo session timeout (10 s).
ISOLATED_FOR_S = 3.0
# A writer gives up waiting for a reply after this long and sends the next write (the late
# reply, if any, is still recorded), so the cut-off side makes several attempts.
OP_TIMEOUT_S = 0.5


def isolate_under_load(ens, victim: int, parent: str) -> tuple:
    """Cuts `victim` off under load from a writer on every server and heals it. Returns
    (writers by sid, the leader of the other side, when the other side first acknowledged a
    write after the cut, seconds)."""
    before = ens.wait_formed()
    rest = [s for s in ens.sids if s != victim]
    ens.client(before).create(parent)
    writers = dict(zip(ens.sids, start_writers({f"w{s}": ens.client(s) for s in ens.sids},
                                               parent, op_timeout=OP_TIMEOUT_S)))
    all_acknowledge(writers.values(), 30, since=0.0)
    old_epoch = max(epoch(op.czxid) for w in writers.values() for op in w.acked())

    ens.isolate(victim)
    t_cut = time.monotonic()
    if victim == before:
        # the other side must elect a new leader: its first write of a new epoch
        def first_ack():
            done = [op.done for s in rest for op in writers[s].acked(t_cut)
                    if epoch(op.czxid) > old_epoch]
            return min(done) if done else None
    else:
        def first_ack():
            done = [op.done for s in rest for op in writers[s].acked(t_cut)
                    if op.submitted >= t_cut]
            return min(done) if done else None
    t_ack = wait_until(first_ack, 30, interval=0.01,
                       what="the other side to acknowledge a write after the cut")
    leader = ens.leader(among=rest)
    time.sleep(ISOLATED_FOR_S)  # the load runs on both sides meanwhile
    for s in rest:
        assert writers[s].acked(since=t_ack), (
            f"the writer on s{s} got nothing acknowledged in the {ISOLATED_FOR_S} s after the "
            f"other side's first write; last outcomes {writers[s].last_outcomes()}")

    ens.heal()
    t_heal = time.monotonic()
    cut_off_ops = [op for op in writers[victim].snapshot() if op.submitted >= t_cut]
    acked_while_cut = [op for op in cut_off_ops if op.ok and op.done < t_heal]
    assert len(cut_off_ops) >= 3, f"the writer on s{victim} tried only {len(cut_off_ops)} times"
    assert not acked_while_cut, (
        f"s{victim}, cut off, acknowledged {len(acked_while_cut)} writes sent after the cut, "
        f"first {acked_while_cut[0]}")

    ens.wait_formed()
    # A new session on the healed server writes: so a writer that does not is one whose
    # session cannot go on there, not a server that does not serve.
    fresh = ens.client(victim)
    fresh.create_async(f"{parent}-after-heal").get(timeout=10)
    all_acknowledge(writers.values(), 20, since=t_heal)
    stop_writers(writers.values())
    check_replicated(ens, parent, writers.values())
    late = [op for op in cut_off_ops if op.ok]
    print(f"cut-off writer on s{victim}: {len(cut_off_ops)} writes sent while cut off, "
          f"{len(late)} acknowledged after the heal, errors "
          f"{sorted({op.error for op in cut_off_ops if op.error})}")
    return writers, leader, t_ack - t_cut


def test_isolated_leader_acknowledges_nothing(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    old = ens.wait_formed()
    _, new, took = isolate_under_load(ens, old, "/partition-leader")
    line = f"partition: leader cut off -> next acknowledged write {took * 1000:.0f} ms"
    print(line)
    FIGURES.append(line)
    assert new != old and not ens[new].observer
    # the old leader rejoins as a follower: the others have moved to a newer epoch
    assert ens.leader() == new, "the healed old leader took the leadership back"
    assert ens[old].mode() == "follower"


def test_isolated_follower_acknowledges_nothing(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    leader = ens.wait_formed()
    follower = min(s for s in ens.voters if s != leader)
    _, during, _ = isolate_under_load(ens, follower, "/partition-follower")
    # a cut-off follower that comes back must not depose a leader that kept its quorum
    assert during == leader, "cutting off a follower changed the leader"
    assert ens.leader() == leader, "the healed follower changed the leader"
    assert ens[follower].mode() == "follower"
