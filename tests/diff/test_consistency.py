"""Cross-connection visibility.  On one Apache ZooKeeper server a write's reply
is sent only after the txn is applied to the single shared tree, so a read on
ANY connection issued after that reply sees the write (and a watch on that
other connection has already been queued).  Clients (and the differential
transcripts) rely on this, e.g. "create, then tell another process to read"."""

from zkraw import E, NodeDataChanged


def test_read_after_write_reply_other_connection(both, base):
    for s in both:
        a, b = s.conn(), s.conn()
        a.create(base)
        stale_create = stale_set = 0
        for i in range(150):
            p = f"{base}/n{i}"
            assert a.create(p, b"x").ok
            if not b.get_data(p).ok:
                stale_create += 1
        for i in range(150):
            assert a.set_data(base, str(i).encode()).ok
            if b.get_data(base)["data"] != str(i).encode():
                stale_set += 1
        a.close()
        b.close()
        assert (stale_create, stale_set) == (0, 0), \
            f"{s.label}: stale reads on another connection after the write's reply: " \
            f"{stale_create}/150 after create, {stale_set}/150 after setData"


def test_watch_queued_before_write_reply_other_connection(both, base):
    for s in both:
        a, b = s.conn(), s.conn()
        a.create(base + "_w")
        missed = 0
        for i in range(100):
            b.get_data(base + "_w", watch=True)
            a.set_data(base + "_w", str(i).encode())
            r = b.exists(base + "_w")  # any later request on b must come after the event
            last = b.frames[-2] if len(b.frames) >= 2 else None
            if not (getattr(last, "type", None) == NodeDataChanged):
                missed += 1
                b.drain(0.2)
            assert r.ok
        a.close()
        b.close()
        assert missed == 0, f"{s.label}: {missed}/100 notifications arrived after a later reply"
