"""Where a write through a follower spends its time, seen on the wire.

Captures the TCP segments on the loopback interface (AF_PACKET, kernel timestamps; needs root)
while a single-session, one-in-flight setData load runs against a follower of a three-server
ensemble, and splits each request's round trip into the gaps between the segments that carry
it, in the order ZooKeeper and Ringkeeper both send them:

  request   client -> follower            (t0)
  forward   follower -> leader            the follower's handling, and its hand-over to the link
  propose   leader -> a follower          the leader's prep; its own log write runs alongside
  ack       a follower -> leader          a follower's log write + fdatasync
  commit    leader -> a follower          the leader's commit (and, if slower, its own sync)
  reply     follower -> client            the follower's apply and release of the reply

Ringkeeper's quorum links are one-way (the leader reaches a follower at the follower's quorum
port); ZooKeeper's learner connection runs both ways over the leader's quorum port: a segment
from the leader is one to the follower's quorum port or from the leader's. Pings and
heartbeats between the hops land in a gap now and then: read medians.

  follower_hops.py --seconds S --client-port P --follower-quorum Q --leader-quorum Q [--json F]
"""

import argparse
import json
import socket
import statistics
import struct
import sys
import time

HOPS = ["forward", "propose", "ack", "commit", "reply"]
# The kind of segment that ends each hop.
HOP_ENDS = ["to-leader", "from-leader", "to-leader", "from-leader", "reply"]
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4


def capture(seconds):
    """(time us, source port, destination port) of every TCP segment with a payload on lo."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
    s.bind(("lo", 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.settimeout(0.2)
    segments, end = [], time.time() + seconds
    while time.time() < end:
        try:
            data, anc, _, addr = s.recvmsg(65536, 64)
        except socket.timeout:
            continue
        # lo shows each segment twice, as sent and as received: keep one.
        if addr[2] != PACKET_OUTGOING or not anc:
            continue
        sec, ns = struct.unpack("qq", anc[0][2][:16])
        ip = data[14:]
        if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:]
        if total - ihl - (tcp[12] >> 4) * 4 > 0:
            sport, dport = struct.unpack("!HH", tcp[:4])
            segments.append((sec * 1e6 + ns / 1e3, sport, dport))
    return segments


def classify(segments, client_port, follower_quorum, leader_quorum):
    """(time, kind) for the segments of the write path; others are dropped."""
    out = []
    for t, sport, dport in segments:
        if dport == client_port:
            kind = "request"
        elif sport == client_port:
            kind = "reply"
        elif dport == leader_quorum:
            kind = "to-leader"
        elif dport == follower_quorum or sport == leader_quorum:
            kind = "from-leader"
        else:
            continue
        out.append((t, kind))
    return out


def split(events):
    """The hop gaps (us) of every request whose segments all show up before the next request."""
    hops = {h: [] for h in HOPS + ["total"]}
    i = 0
    while i < len(events):
        if events[i][1] != "request":
            i += 1
            continue
        start = prev = events[i][0]
        j, gaps = i + 1, []
        for want in HOP_ENDS:
            while j < len(events) and events[j][1] not in (want, "request"):
                j += 1
            if j == len(events) or events[j][1] == "request":
                break
            gaps.append(events[j][0] - prev)
            prev = events[j][0]
            j += 1
        if len(gaps) == len(HOP_ENDS):
            for h, g in zip(HOPS, gaps):
                hops[h].append(g)
            hops["total"].append(prev - start)
        i = j if len(gaps) == len(HOP_ENDS) else i + 1
    return hops


def summary(hops):
    def pct(v, q):
        return sorted(v)[int(len(v) * q)] if v else None
    return {"requests": len(hops["total"]),
            "hops": {h: {"p50_us": statistics.median(v) if v else None, "p90_us": pct(v, 0.9)}
                     for h, v in hops.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--client-port", type=int, required=True)
    ap.add_argument("--follower-quorum", type=int, required=True)
    ap.add_argument("--leader-quorum", type=int, required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    events = classify(capture(a.seconds), a.client_port, a.follower_quorum, a.leader_quorum)
    result = summary(split(events))
    text = json.dumps(result)
    if a.json:
        open(a.json, "w").write(text)
    print(text, file=sys.stderr)


if __name__ == "__main__":
    main()
