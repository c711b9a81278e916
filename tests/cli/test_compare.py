"""The same steps through zkCli.sh against Apache ZooKeeper 3.8 and through `ringkeeper cli`
against Ringkeeper, compared line by line (clilib.compare). Steps are batched into scripts
on stdin (zkCli.sh without JLine reads them like a pipe), one JVM per script.
"""

from __future__ import annotations

import pytest

from clilib import compare, run
from conftest import addr


def both(servers, stdin=None, args=(), chroot=""):
    """Runs both; "{self}" in the script stands for the server's own address."""
    ref, cand = servers
    r = run("zookeeper", addr(ref) + chroot, args,
            stdin and stdin.replace("{self}", addr(ref)))
    c = run("ringkeeper", addr(cand) + chroot, args,
            stdin and stdin.replace("{self}", addr(cand)))
    return r, c


def script(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def test_nodes_and_their_errors(servers):
    r, c = both(servers, script(
        "create /n",
        "create /n/a hello",
        "create /n/a again",                 # NodeExists
        "create /n/q \"two words\"",
        "get /n/q",
        "create /n/nodata",
        "get /n/nodata",                     # null data prints "null"
        "ls /n",
        "ls -s /n",
        "get -s /n/a",
        "set /n/a world",
        "set -s /n/a world2",
        "set -v 7 /n/a x",                   # BadVersion
        "set -v 2 /n/a x",
        "stat /n/a",
        "stat /n/none",                      # NoNode
        "get /n/none",
        "ls /n/none",
        "set /n/none x",
        "delete /n/none",
        "create /n/none/child",              # NoNode on the parent
        "create -s /n/seq- a",
        "create -s /n/seq- b",
        "create -s /n/a/",                   # a sequential path may end in '/'
        "create -e /n/eph",
        "create /n/eph/child",               # NoChildrenForEphemerals
        "create -c /n/cont",
        "create -t 60000 /n/ttl",
        "create -s -t 60000 /n/ttls",
        "create -t abc /n/ttlx",
        "create -t 0 /n/ttlx",
        "create -e -t 1000 /n/ttlx",
        "create -c -t 1000 /n/ttlx",
        "create -c -e /n/ttlx",
        "getEphemerals /n",
        "getAllChildrenNumber /n",
        "getAllChildrenNumber /n/none",
        "ls -R /n",
        "ls -R /n/none",
        "delete /n/a",                       # NotEmpty
        "delete -v 9 /n/q",                  # BadVersion
        "delete -v 0 /n/q",
        "delete /n/nodata 0",                # deprecated form: warns, deletes any version
        "deleteall /n/a",
        "deleteall /n/none",
        "deleteall /n/cont -b x",
        "get bad",                           # client-side path checks
        "get /n/",
        "get /n//x",
        "get /n/./x",
        "create /n/x/",
        "ls",
        "get",
        "set /n/a",
        "create",
        "stat",
        "delete",
        "deleteall",
        "sync",
        "getAllChildrenNumber",
        "ls -x /n",                          # commons-cli errors
        "set /n/a x -v",
        "get -sw",
        "ls /n watch",                       # deprecated forms
        "get /n watch",
        "stat /n watch",
        "sync /n",
        "sync bad",
        "nosuchcommand arg",
        "ls -R /n",
    ))
    compare(r, c)


def test_acls_and_auth(servers):
    r, c = both(servers, script(
        "create /acl",
        "create /acl/open x",
        "getAcl /acl/open",
        "getAcl -s /acl/open",
        "create /acl/ro x world:anyone:r",
        "getAcl /acl/ro",
        "set /acl/ro y",                     # NoAuth
        "create /acl/ro/child",
        "delete /acl/ro",
        "create /acl/bad x bad",             # AclParser complaints, then InvalidACL
        "create /acl/badperm x world:anyone:rq",
        "getAcl /acl/badperm",
        "create /acl/needauth x auth::cdrwa",  # InvalidACL: no authenticated id
        "create /acl/dig x digest:u:RJrS3K5UvWCVG8TIDuSsT6zHEV8=:cdrwa",
        "get /acl/dig",                      # NoAuth
        "getAcl /acl/dig",
        "whoami",
        "addauth digest u:secret",
        "whoami",
        "create /acl/mine x auth::cdrwa",
        "getAcl /acl/mine",
        "setAcl /acl/open world:anyone:rw",
        "setAcl -s /acl/open world:anyone:cdrwa",
        "setAcl -v 9 /acl/open world:anyone:r",  # BadVersion
        "setAcl /acl/none world:anyone:r",       # NoNode
        "setAcl /acl/open bad",                  # empty ACL: InvalidACL
        "setAcl /acl/open",
        "setAcl -R /acl world:anyone:cdrwa",     # NoAuth on /acl/ro is printed inline
        "getAcl /acl/open",
        "getAcl /acl/none",
        "getAcl",
        "addauth",
        "ls -R /acl",
    ))
    compare(r, c)


def test_watches_and_session_commands(servers):
    r, c = both(servers, script(
        "create /w",
        "create /w/a x",
        "get -w /w/a",
        "set /w/a y",                        # NodeDataChanged
        "ls -w /w",
        "create /w/b",                       # NodeChildrenChanged
        "stat -w /w/c",
        "create /w/c",                       # NodeCreated
        "stat -w /w/c",
        "delete /w/c",                       # NodeDeleted
        "addWatch /w/r",
        "create /w/r",
        "create /w/r/x",
        "set /w/r/x 1",
        "addWatch -m persistent /w/p",
        "create /w/p",
        "set /w/p 2",
        "addWatch -m bogus /w/p",
        "addWatch",
        "get -w /w/a",
        "removewatches /w/a -d",             # DataWatchRemoved
        "removewatches /w/a",                # NoWatcher
        "ls -w /w",
        "removewatches /w -c",               # ChildWatchRemoved
        "removewatches /w/none",
        "removewatches",
        "printwatches",
        "printwatches off",
        "get -w /w/a",
        "set /w/a z",                        # not printed
        # zkCli's event thread prints; the sync's answer comes on that thread after the
        # event, so printwatches is still off when the event is handled (without it the
        # next line raced the event, and ZooKeeper's side sometimes printed it).
        "sync /w",
        "printwatches on",
        "printwatches",
        "config",
        "config -c",
        "history",
        "redo 2",
        "redo 99",
        "redo 0x1",
        "history",
        "close",
        "ls /w",                             # Not connected
        "history",
        "connect",
        "ls /w",
    ))
    compare(r, c)


def test_deleteall_in_batches_and_config(servers):
    r, c = both(servers, script(
        "create /d",
        "create /d/a",
        "create /d/a/1",
        "create /d/a/2",
        "create /d/b",
        "create /d/b/1",
        "getAllChildrenNumber /d",
        "deleteall /d -b 2",
        "stat /d",
        "create /d2",
        "create /d2/c",
        "setAcl /d2 world:anyone:r",
        "deleteall /d2",                     # NoAuth inside the multi: "Failed to delete ..."
        "ls -R /d2",
        "config -s",
        "config -w -c",
        "getAcl /zookeeper/config",
        "ls /zookeeper",
    ))
    # zkCli.sh (ZKUtil.deleteInBatch) releases its semaphore before its multi callback marks
    # the failure, so it omits this line in some runs (seen 1 in 5 here); Ringkeeper's CLI
    # always prints it. Only that omission is tolerated.
    failed = "Failed to delete some node(s) in the subtree!"
    if failed not in r.err and failed in c.err:
        lines = c.err.splitlines(keepends=True)
        lines.remove(next(line for line in lines if line.rstrip("\r\n") == failed))
        c.err = "".join(lines)
    compare(r, c)


def test_connect_to_another_address_and_chroot(servers):
    r, c = both(servers, script(
        "create /cc",
        "create /cc/in x",
        "connect {self}/cc",
        "ls /",
        "get /in",
        "connect {self}",
        "ls /cc",
        "close",
        "close",
        "get /cc/in",
        "connect",
        "get /cc/in",
    ))
    compare(r, c)


@pytest.mark.parametrize("addauth", ["addauth nosuchscheme secret", "addauth digest"])
def test_failed_authentication_ends_the_session(servers, addauth):
    r, c = both(servers, script(
        "ls /zookeeper",
        addauth,
        "whoami",
        "ls /zookeeper",
        "get /zookeeper",
    ))
    compare(r, c)


def test_chroot(servers):
    ref, cand = servers
    for kind, s in (("zookeeper", ref), ("ringkeeper", cand)):
        assert run(kind, addr(s), ["create", "/jail"]).rc == 0
    r, c = both(servers, script(
        "ls /",
        "create /a x",
        "create -s /a/s- y",
        "get -w /a",
        "set /a z",                          # event path seen through the chroot
        "ls -R /",
        "stat /none",
        "create /a x",
        "getAllChildrenNumber /",
        "delete /",
    ), chroot="/jail")
    compare(r, c)


def test_ttl_without_extended_types(make_pair):
    """TTL nodes need extendedTypesEnabled: without it the server answers Unimplemented,
    which zkCli prints as the bare KeeperException message."""
    pair = make_pair(cfg={"extendedTypesEnabled": "false"})
    r, c = both(pair, script(
        "create -t 5000 /ttl",
        "create -s -t 5000 /ttls",
        "create /plain",
    ))
    compare(r, c)


ONESHOT = [
    ["create", "/one"],
    ["create", "/one", "again"],
    ["ls", "/one"],
    ["get", "/none"],
    ["ls", "-x", "/"],
    ["set", "-v", "/one"],
    ["nosuchcommand"],
    ["delete", "/"],
    ["getEphemerals"],
    ["history"],
    ["printwatches"],
    ["redo", "0"],
]


@pytest.mark.parametrize("args", ONESHOT, ids=[" ".join(a) for a in ONESHOT])
def test_one_command_exit_status(servers, args):
    r, c = both(servers, args=args)
    compare(r, c, oneshot=True)


def test_script_exit_status_is_the_last_commands(servers):
    r, c = both(servers, script("ls /", "get /none"))
    compare(r, c)
    assert c.rc == 1
    r, c = both(servers, script("get /none", "ls /zookeeper", "quit", "get /none"))
    compare(r, c)
    assert c.rc == 0
