"""ACLs, auth schemes, whoAmI, super digest."""

import base64
import hashlib

from zkraw import (E, OPEN_ACL, PERM_ADMIN, PERM_ALL, PERM_CREATE, PERM_DELETE, PERM_READ,
                   PERM_WRITE, READ_ACL)

from conftest import differential

ALICE = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="


def digest(user_pw: str) -> str:
    user = user_pw.split(":")[0]
    return user + ":" + base64.b64encode(hashlib.sha1(user_pw.encode()).digest()).decode()


def test_digest_value():
    assert digest("alice:secret") == ALICE
    assert digest("super:test") == SUPER_DIGEST


def test_digest_auth_and_auth_scheme(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.create(base)
        assert a.who_am_i()["clientInfo"] == [("ip", "127.0.0.1")]
        # "auth" scheme without an authenticated id -> INVALIDACL
        assert a.create(base + "/p", acl=[(PERM_ALL, "auth", "")]).err == E["INVALIDACL"]
        r = a.auth("digest", b"alice:secret")
        assert r.ok and r.xid == -4 and r.zxid == 0 and r.body == b""
        assert sorted(a.who_am_i()["clientInfo"]) == [("digest", "alice"), ("ip", "127.0.0.1")]
        assert a.create(base + "/p", b"secret", acl=[(PERM_ALL, "auth", "")]).ok
        r = a.get_acl(base + "/p")
        assert r["acl"] == [(PERM_ALL, "digest", ALICE)]
        assert r["stat"]["aversion"] == 0
        # b has no access
        assert b.get_data(base + "/p").err == E["NOAUTH"]
        assert b.get_children(base + "/p").err == E["NOAUTH"]
        assert b.get_children2(base + "/p").err == E["NOAUTH"]
        assert b.get_all_children_number(base + "/p").err == E["NOAUTH"]
        assert b.set_data(base + "/p", b"x").err == E["NOAUTH"]
        assert b.get_acl(base + "/p").err == E["NOAUTH"]
        assert b.set_acl(base + "/p", OPEN_ACL).err == E["NOAUTH"]
        assert b.create(base + "/p/c").err == E["NOAUTH"]
        assert b.exists(base + "/p").ok  # no ACL check on exists
        assert b.sync(base + "/p").ok
        r = b.multi([("check", base + "/p", 0)])
        assert [x["errbody"] for x in r["results"]] == [E["NOAUTH"]]
        # two auths: both ids, auth ACL expands to both digests
        assert b.auth("digest", b"bob:pw").ok
        assert b.auth("digest", b"alice:secret").ok
        assert sorted(b.who_am_i()["clientInfo"]) == [("digest", "alice"), ("digest", "bob"),
                                                      ("ip", "127.0.0.1")]
        assert b.get_data(base + "/p")["data"] == b"secret"
        assert b.create(base + "/q", acl=[(PERM_READ, "auth", "x")]).ok
        # b holds READ but not ADMIN on /q: digest ids come back masked as user:x
        assert sorted(b.get_acl(base + "/q")["acl"]) == [(PERM_READ, "digest", "alice:x"),
                                                        (PERM_READ, "digest", "bob:x")]
        # a wrong password is simply a different identity
        c = run.conn("c")
        assert c.auth("digest", b"alice:wrong").ok
        assert c.get_data(base + "/p").err == E["NOAUTH"]
        # digest ACL given explicitly: id must have exactly one ':'
        assert a.create(base + "/d1", acl=[(PERM_ALL, "digest", "a:b:c")]).err == E["INVALIDACL"]
        assert a.create(base + "/d2", acl=[(PERM_ALL, "digest", ALICE)]).ok
    differential(pair, sc)


def test_auth_failed_closes(pair, base):
    def sc(run):
        a = run.conn("a")
        r = a.auth("nosuchscheme", b"x")
        assert r.err == E["AUTHFAILED"] and r.xid == -4
        assert a.wait_closed(5)
        b = run.conn("b")
        run.note("ip auth", b.auth("ip", b"127.0.0.1").errname)
    differential(pair, sc)


def test_acl_permissions_and_aversion(pair, base):
    def sc(run):
        a, b = run.conn("a"), run.conn("b")
        a.auth("digest", b"alice:secret")
        a.create(base)
        # per-permission checks for b (world) on nodes granting exactly one bit
        for bit, name in [(PERM_READ, "r"), (PERM_WRITE, "w"), (PERM_CREATE, "c"),
                          (PERM_DELETE, "d"), (PERM_ADMIN, "a")]:
            p = f"{base}/{name}"
            assert a.create(p, b"v", acl=[(bit, "world", "anyone"), (PERM_ALL, "digest", ALICE)]).ok
            a.create(p + "/child", acl=OPEN_ACL)
            res = [b.get_data(p).errname, b.set_data(p, b"x").errname,
                   b.create(p + "/new").errname, b.delete(p + "/child").errname,
                   b.get_acl(p).errname, b.set_acl(p, [(bit, "world", "anyone"),
                                                      (PERM_ALL, "digest", ALICE)]).errname]
            run.note(name, res)
        # getACL needs READ or ADMIN; digest ids are masked without ADMIN
        r = b.get_acl(f"{base}/r")
        run.note("getACL with READ only", r.f.get("acl"))
        r = b.get_acl(f"{base}/a")
        run.note("getACL with ADMIN", r.f.get("acl"))
        # setACL version = aversion
        p = f"{base}/v"
        a.create(p, acl=OPEN_ACL)
        assert a.set_acl(p, READ_ACL + [(PERM_ALL, "digest", ALICE)], 3).err == E["BADVERSION"]
        r = a.set_acl(p, READ_ACL + [(PERM_ALL, "digest", ALICE)], 0)
        assert r.ok and r["stat"]["aversion"] == 1
        st = r["stat"]
        assert st["mzxid"] == st["czxid"] and st["version"] == 0  # setACL doesn't touch mzxid
        assert a.set_acl(p, [], 1).err == E["INVALIDACL"]
        assert a.set_acl(p, [(PERM_ALL, "world", "nobody")], 1).err == E["INVALIDACL"]
        assert a.set_acl(base + "/none", OPEN_ACL).err == E["NONODE"]
        assert a.set_acl(base + "//bad", OPEN_ACL).err == E["BADARGUMENTS"]
        assert a.get_acl(base + "/none").err == E["NONODE"]
        assert a.get_acl("/zookeeper/config")["acl"] == READ_ACL
        assert a.get_acl("/")["acl"] == OPEN_ACL
        # empty-ACL node? not creatable: INVALIDACL.  No CREATE on parent:
        q = f"{base}/ro"
        a.create(q, acl=READ_ACL)
        assert b.create(q + "/x").err == E["NOAUTH"]
        assert b.create(q + "/x/y").err == E["NONODE"]  # parent lookup precedes ACL
    differential(pair, sc)


def test_ip_acl_cidr(pair, base):
    def sc(run):
        a = run.conn("a")
        a.create(base)
        cases = {"lo32": "127.0.0.1", "lo8": "127.0.0.0/8", "lo24": "127.0.0.0/24",
                 "other8": "10.0.0.0/8", "other32": "10.1.2.3", "zero0": "0.0.0.0/0"}
        for name, ident in cases.items():
            assert a.create(f"{base}/{name}", b"d", acl=[(PERM_READ, "ip", ident)]).ok, ident
        res = {name: a.get_data(f"{base}/{name}").errname for name in cases}
        assert res["lo32"] == res["lo8"] == res["lo24"] == "OK"
        assert res["other8"] == res["other32"] == "NOAUTH"
        run.note(res)
        for bad in ["127.0.0.1/33", "not-an-ip", "::1", "127.0.0.1/x", "300.1.1.1"]:
            run.note("ip acl", bad, a.create(f"{base}/bad", acl=[(PERM_READ, "ip", bad)]).errname)
    differential(pair, sc)


def test_super_digest(make_pair, base):
    # the same zoo.cfg line works for both servers: ZooKeeper exports unknown
    # keys as system property "zookeeper.<key>" (ZK-PROTOCOL §9)
    pair = make_pair(cfg={"DigestAuthenticationProvider.superDigest": SUPER_DIGEST})

    def sc(run):
        a, s = run.conn("a"), run.conn("s")
        a.auth("digest", b"alice:secret")
        a.create(base, b"x", acl=[(PERM_ALL, "digest", ALICE)])
        assert s.get_data(base).err == E["NOAUTH"]
        assert s.auth("digest", b"super:test").ok
        info = sorted(s.who_am_i()["clientInfo"])
        assert ("super", "") in info and ("digest", "super") in info, info
        assert s.get_data(base)["data"] == b"x"
        assert s.set_acl(base, OPEN_ACL).ok
        assert s.set_data("/zookeeper/config", b"").errname in ("OK", "NOAUTH")
        run.note("super setData /zookeeper/config", s.set_data("/zookeeper/config", b"").errname)
        run.note("super whoami", info)
        t = run.conn("t")
        assert t.auth("digest", b"super:wrong").ok
        assert ("super", "") not in t.who_am_i()["clientInfo"]
    differential(pair, sc)
