"""Fault-injecting TCP proxies between the servers of an ensemble, one per directed link.

Link (i -> j) is every connection that server i dials to server j: i's zoo.cfg names j's
quorum (and election) port as a proxy port of this link, which forwards to j's real port. A
link can be cut (its open connections are reset, new ones are accepted and reset at once, as
a firewall that answers with RST) and healed; cutting every link to and from a server isolates
it.

Ringkeeper's peer connections are one-way (each server dials every peer's quorumPort and
names itself in a handshake), so link (i -> j) carries i's messages to j. ZooKeeper's are
two-way: a follower dials the leader's quorumPort and the leader answers on that connection,
so cutting either direction of a follower-leader pair ends it only if it is the follower's.

ZooKeeper's election connections need one rewrite. A server that receives an election
connection from a lower sid closes it and dials back, to the address the dialer announced in
its first message (QuorumCnxManager.InitialMessage: protocol version, sid, address length,
"host:port"), which is the dialer's real election port: the dial-back would bypass the
proxies and outlive a cut. So the election links rewrite that address to the proxy port of
the opposite link, where the receiver's own zoo.cfg would have sent it anyway.

One asyncio loop in one daemon thread serves every link of an ensemble.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

HOST = "127.0.0.1"
# Bytes one forwarding step reads before it writes them on and waits for the writer to drain:
# the most a proxied connection holds in this process per direction (plus asyncio's own
# transport buffer, drained before the next read).
CHUNK_BYTES = 64 * 1024
# QuorumCnxManager's protocol versions that carry an address (3.6+); a non-negative first
# long is an old-style message (the sid alone) and passes unchanged.
ZK_ELECTION_PROTOCOLS = (-65536, -65535)
# ZooKeeper refuses an announced address longer than this (InitialMessage.parse).
ZK_MAX_ADDRESS_BYTES = 4096
# A proxy accepts a connection before it knows whether the destination accepts it, so the
# dialer cannot be refused the way a closed port refuses it. Instead the proxy keeps dialing
# the destination for this long (a server elected leader opens its quorum port a few ms after
# its followers learn of it, and ZooKeeper's followers would take a reset of a connection
# that had succeeded for a lost leader and elect again), and resets the dialer's connection
# only when the destination stayed closed.
UPSTREAM_CONNECT_WINDOW_S = 1.0
UPSTREAM_RETRY_S = 0.01
# How long cut()/heal()/close() wait for the proxy loop to carry them out.
CONTROL_TIMEOUT_S = 10.0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Closes a connection with RST (SO_LINGER 0), so the peer sees it end at once."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


@dataclass
class Link:
    """One directed link (src -> dst): its listening ports and the connections it carries."""
    src: int
    dst: int
    cut: bool = False
    # (downstream writer, upstream writer) of every forwarded connection
    conns: set = field(default_factory=set)
    # local ports of the proxy's connections to the destination server (harness self-check)
    upstream_ports: set = field(default_factory=set)


class LinkProxies:
    """Every link proxy of one ensemble. Methods are called from any thread."""

    def __init__(self) -> None:
        self.links: dict = {}
        self._servers: list = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="link-proxies",
                                        daemon=True)
        self._thread.start()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CONTROL_TIMEOUT_S)

    def link(self, src: int, dst: int) -> Link:
        return self.links.setdefault((src, dst), Link(src, dst))

    def add(self, src: int, dst: int, target_port: int,
            first_message: Optional[Callable] = None) -> int:
        """Starts a proxy port of link (src -> dst) that forwards to target_port on loopback;
        returns the proxy port. `first_message(reader)`, if given, is awaited on each new
        connection before forwarding and returns the bytes to send upstream in place of the
        dialer's first message."""
        link = self.link(src, dst)

        async def start():
            server = await asyncio.start_server(
                lambda r, w: self._forward(link, target_port, first_message, r, w),
                HOST, 0, limit=CHUNK_BYTES)
            self._servers.append(server)
            return server.sockets[0].getsockname()[1]
        return self._run(start())

    async def _forward(self, link: Link, target_port: int, first_message, reader, writer):
        try:
            await self._forward_one(link, target_port, first_message, reader, writer)
        except asyncio.CancelledError:
            # close() gave up waiting for it; a cancelled connection task would make asyncio's
            # stream callback raise on the loop
            _reset(writer)

    async def _forward_one(self, link: Link, target_port: int, first_message, reader, writer):
        if link.cut:
            _reset(writer)
            return
        upstream = await self._dial(link, target_port)
        if upstream is None:  # the destination stayed closed, or the link was cut meanwhile
            _reset(writer)
            return
        up_reader, up_writer = upstream
        pair = (writer, up_writer)
        up_port = up_writer.get_extra_info("sockname")[1]
        link.conns.add(pair)
        link.upstream_ports.add(up_port)
        try:
            if first_message is not None:
                up_writer.write(await first_message(reader))
            pumps = [asyncio.ensure_future(self._pump(reader, up_writer)),
                     asyncio.ensure_future(self._pump(up_reader, writer))]
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for p in pending:
                p.cancel()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            link.conns.discard(pair)
            link.upstream_ports.discard(up_port)
            # One side ended: end the other too (neither server half-closes a peer link).
            _reset(writer)
            _reset(up_writer)

    @staticmethod
    async def _dial(link: Link, target_port: int):
        deadline = asyncio.get_running_loop().time() + UPSTREAM_CONNECT_WINDOW_S
        while not link.cut:
            try:
                up_reader, up_writer = await asyncio.open_connection(HOST, target_port,
                                                                     limit=CHUNK_BYTES)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    return None
                await asyncio.sleep(UPSTREAM_RETRY_S)
                continue
            if link.cut:
                _reset(up_writer)
                return None
            return up_reader, up_writer
        return None

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(CHUNK_BYTES)
                if not data:
                    return
                writer.write(data)
                await writer.drain()
        except OSError:
            return

    # -- faults ----------------------------------------------------------------------------
    def cut(self, src: int, dst: int) -> None:
        """Cuts link (src -> dst): when this returns, its connections are reset and new ones
        are reset on accept."""
        async def go():
            link = self.link(src, dst)
            link.cut = True
            for down, up in list(link.conns):
                _reset(down)
                _reset(up)
        self._run(go())

    def heal(self, src: int, dst: int) -> None:
        async def go():
            self.link(src, dst).cut = False
        self._run(go())

    def cut_links(self) -> list:
        return sorted(k for k, link in self.links.items() if link.cut)

    def upstream_ports(self) -> set:
        """Local ports of every live proxy-to-server connection (for the bypass check)."""
        async def go():
            return set().union(*(link.upstream_ports for link in self.links.values()))
        return self._run(go())

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def go():
            for s in self._servers:
                s.close()
            for link in self.links.values():
                link.cut = True
                for down, up in list(link.conns):
                    _reset(down)
                    _reset(up)
            # The forwarding tasks end here (their connections are reset, their dials see the
            # cut), not as pending tasks of a stopped loop.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=CONTROL_TIMEOUT_S / 2)
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        try:
            self._run(go())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CONTROL_TIMEOUT_S)
            if not self._thread.is_alive():
                self._loop.close()


def zk_election_rewriter(announce: Callable[[], str]) -> Callable:
    """A `first_message` for a ZooKeeper election link: passes the dialer's InitialMessage on
    with its announced address replaced by `announce()` ("host:port")."""
    async def rewrite(reader: asyncio.StreamReader) -> bytes:
        head = await reader.readexactly(8)
        (version,) = struct.unpack(">q", head)
        if version not in ZK_ELECTION_PROTOCOLS:
            return head  # old protocol: the first long is the sid, nothing to rewrite
        sid = await reader.readexactly(8)
        (length,) = struct.unpack(">i", await reader.readexactly(4))
        if not 0 <= length <= ZK_MAX_ADDRESS_BYTES:
            raise ValueError(f"election handshake announces a {length}-byte address")
        await reader.readexactly(length)
        address = announce().encode()
        return head + sid + struct.pack(">i", len(address)) + address
    return rewrite
