"""The harness itself: every member's zoo.cfg names its peers at proxy ports (so the servers
accept per-server zoo.cfg files whose peer addresses differ), and no peer connection bypasses
the proxies, or cutting a link would leave it up (ZooKeeper's election dial-back is the case
that needs linkproxy.py's rewrite)."""

from __future__ import annotations

from pathlib import Path

from ensemble import wait_until

TCP_ESTABLISHED = "01"


def established_to(ports: set) -> list:
    """(local port, remote port) of every established TCP connection whose local port is one
    of `ports` (the accepting side of connections to those ports), from /proc/net/tcp{,6}."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            lport, rport = int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)
            if state == TCP_ESTABLISHED and lport in ports:
                out.append((lport, rport))
    return out


def test_peer_connections_go_only_through_the_proxies(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    leader = ens.wait_formed()
    for sid in ens.sids:
        cfg = (ens[sid].dir / "zoo.cfg").read_text()
        for peer in ens.sids:
            want = ens.server_line(sid, peer)
            assert f"server.{peer}={want}\n" in cfg
            assert (peer == sid) == (f":{ens[peer].quorum_port}:" in want), \
                f"s{sid}'s zoo.cfg names s{peer} at {want}"
    # a write goes through every learner's link to the leader
    c = ens.client(leader)
    c.create("/harness", b"x")
    for sid in ens.sids:
        ens.client(sid).sync("/harness")

    real_ports = {m.quorum_port for m in ens.members.values()} | \
                 {m.election_port for m in ens.members.values()}

    seen = {}

    def only_proxied():
        seen["conns"] = conns = established_to(real_ports)
        seen["upstream"] = upstream = ens.proxies.upstream_ports()
        seen["bypass"] = bypass = [c for c in conns if c[1] not in upstream]
        # every learner is connected to the leader's quorum port
        to_leader = [c for c in conns if c[0] == ens[leader].quorum_port]
        return not bypass and len(to_leader) >= len(ens.sids) - 1
    try:
        wait_until(only_proxied, 10, what="peer connections only through the proxies")
    except AssertionError as e:
        raise AssertionError(f"{e}: (accepting port, dialing port) of connections bypassing "
                             f"the proxies {seen['bypass']}; all {seen['conns']}; proxy "
                             f"upstream ports {sorted(seen['upstream'])}") from None
