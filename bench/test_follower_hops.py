"""Tests of follower_hops' split of a write's segments into hops.
Run: python3 -m unittest discover -s bench -p 'test_*.py'"""

import unittest

from follower_hops import classify, split, summary

CLIENT, FQ, LQ, EPHEMERAL = 2181, 3001, 3003, 50000


def request_segments(t0, gaps, follower_to_leader=(EPHEMERAL, LQ), leader_to_follower=(EPHEMERAL, FQ)):
    """The six segments of one write through the follower, gaps[i] apart."""
    hops = [(EPHEMERAL, CLIENT), follower_to_leader, leader_to_follower, follower_to_leader,
            leader_to_follower, (CLIENT, EPHEMERAL)]
    out, t = [], t0
    for (sport, dport), gap in zip(hops, [0] + gaps):
        t += gap
        out.append((t, sport, dport))
    return out


class SplitTest(unittest.TestCase):
    def test_hops_of_one_request(self):
        segs = request_segments(1000, [10, 20, 300, 40, 500])
        hops = split(classify(segs, CLIENT, FQ, LQ))
        self.assertEqual([hops[h] for h in ("forward", "propose", "ack", "commit", "reply")],
                         [[10], [20], [300], [40], [500]])
        self.assertEqual(hops["total"], [870])

    def test_zookeeper_learner_link_both_ways(self):
        # The leader answers over the follower's connection to the leader's quorum port.
        segs = request_segments(0, [1, 2, 3, 4, 5], leader_to_follower=(LQ, EPHEMERAL))
        self.assertEqual(split(classify(segs, CLIENT, FQ, LQ))["total"], [15])

    def test_unrelated_segments_are_ignored(self):
        segs = request_segments(0, [1, 2, 3, 4, 5]) + [(2.5, 7000, 7001)]
        self.assertEqual(split(classify(sorted(segs), CLIENT, FQ, LQ))["total"], [15])

    def test_request_without_reply_is_not_counted(self):
        lost = request_segments(0, [1, 2, 3, 4, 5])[:-1]
        segs = lost + request_segments(100, [1, 1, 1, 1, 1])
        hops = split(classify(segs, CLIENT, FQ, LQ))
        self.assertEqual(hops["total"], [5])
        self.assertEqual(summary(hops)["requests"], 1)


if __name__ == "__main__":
    unittest.main()
