"""TLS on the secure client port: kazoo and raw TLS clients against Ringkeeper, and the same
checks against Apache ZooKeeper 3.8 where the behaviour is ZooKeeper's to define."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import ACL, Id, make_acl

import tlslib
from conftest import RINGKEEPER_BIN
from zkraw import wait_until

ALICE = "CN=alice,O=Acme\\, Inc.,C=DE"


def refused(port: int, ctx: ssl.SSLContext) -> bool:
    """True if the server ends the connection during or right after the handshake (with TLS
    1.3 a client learns of a refused certificate only on its first read)."""
    try:
        with tlslib.tls_socket(port, ctx, timeout=5) as s:
            s.sendall(b"ruok")
            return s.recv(100) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


def test_kazoo_over_tls_and_x509_acl(pki, nodes, kazoos):
    n = nodes("ringkeeper", pki, tlslib.tls_cfg(pki)).start()
    alice = n.kazoo("alice")
    kazoos.append(alice)
    # An `auth` ACL expands to the connection's x509 identity: the subject in RFC 2253 form.
    alice.create("/secret", b"s3", acl=[ACL(31, Id("auth", ""))])
    acl, _ = alice.get_acls("/secret")
    assert [(a.id.scheme, a.id.id) for a in acl] == [("x509", ALICE)]
    assert alice.get("/secret")[0] == b"s3"
    alice.create("/only-alice", b"a", acl=[make_acl("x509", ALICE, all=True)])
    assert alice.get("/only-alice")[0] == b"a"

    bob = n.kazoo("bob")
    kazoos.append(bob)
    with pytest.raises(NoAuthError):
        bob.get("/only-alice")
    with pytest.raises(NoAuthError):
        bob.get("/secret")

    # The plain port is still plain, and its clients have no x509 identity.
    from kazoo.client import KazooClient
    plain = KazooClient(hosts=f"{tlslib.HOST}:{n.port}", timeout=10)
    kazoos.append(plain)
    plain.start(timeout=10)
    with pytest.raises(NoAuthError):
        plain.get("/only-alice")
    # ...but x509 ACLs are valid there too (the provider is registered with the secure port).
    plain.create("/for-bob", b"b", acl=[make_acl("x509", "CN=bob", read=True)])
    assert bob.get("/for-bob")[0] == b"b"


def test_need_refuses_clients_without_a_trusted_certificate(pki, nodes):
    n = nodes("ringkeeper", pki, tlslib.tls_cfg(pki)).start()  # ssl.clientAuth unset = need
    assert not refused(n.secure_port, pki.client_context("alice"))
    assert refused(n.secure_port, pki.client_context(None))
    assert refused(n.secure_port, pki.client_context("mallory"))  # signed by an untrusted CA
    with pytest.raises(Exception):
        k = n.kazoo(None, start=False, timeout=3)
        try:
            k.start(timeout=3)
        finally:
            k.stop()
            k.close()


def test_want_admits_clients_without_certificate(pki, nodes, kazoos):
    n = nodes("ringkeeper", pki, tlslib.tls_cfg(pki, **{"ssl.clientAuth": "want"})).start()
    anon = n.kazoo(None)
    kazoos.append(anon)
    anon.create("/open", b"o")
    # No certificate, no x509 identity: an `auth` ACL has nothing to expand to.
    with pytest.raises(InvalidACLError):
        anon.create("/mine", b"", acl=[ACL(31, Id("auth", ""))])
    assert refused(n.secure_port, pki.client_context("mallory"))


def test_super_user_by_certificate(pki, nodes, kazoos):
    cfg = tlslib.tls_cfg(pki, **{"X509AuthenticationProvider.superUser": "CN=bob"})
    n = nodes("ringkeeper", pki, cfg).start()
    alice, bob = n.kazoo("alice"), n.kazoo("bob")
    kazoos.extend([alice, bob])
    alice.create("/private", b"p", acl=[make_acl("x509", ALICE, all=True)])
    assert bob.get("/private")[0] == b"p"


@pytest.mark.parametrize("store_type", ["PKCS12", "JKS"])
def test_keytool_stores_load(pki, nodes, kazoos, store_type):
    cfg = {
        "ssl.keyStore.location": pki.pkcs12("server", store_type),
        "ssl.keyStore.password": tlslib.PASSWORD,
        "ssl.trustStore.location": pki.truststore(store_type),
    }  # no .type: taken from the file name, as ZooKeeper does
    # The trust store's password from a file (ZooKeeper 3.8's .passwordPath).
    secret = pki.dir / f"trust-{store_type}.pass"
    secret.write_text(tlslib.PASSWORD + "\n")
    cfg["ssl.trustStore.passwordPath"] = str(secret)
    n = nodes("ringkeeper", pki, cfg).start()
    assert tlslib.peer_subject(n.secure_port, pki.client_context("alice"))["CN"] == "localhost"
    k = n.kazoo("alice")
    kazoos.append(k)
    k.create("/k", b"v")
    assert refused(n.secure_port, pki.client_context("mallory"))


def test_encrypted_pem_key_store(pki, nodes, kazoos, tmp_path):
    """A PEM key store whose PKCS#8 key is encrypted with ssl.keyStore.password (ZooKeeper's
    PemReader reads these too); the wrong password stops start-up."""
    key = tmp_path / "enc.key"
    tlslib.run("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pki.path("server.key"),
               "-out", str(key), "-passout", f"pass:{tlslib.PASSWORD}", cwd=tmp_path)
    store = tmp_path / "server-enc.pem"
    store.write_text(open(pki.path("server.crt")).read() + key.read_text())
    assert "ENCRYPTED PRIVATE KEY" in store.read_text()
    cfg = tlslib.tls_cfg(pki, **{"ssl.keyStore.location": str(store),
                                 "ssl.keyStore.password": tlslib.PASSWORD})
    n = nodes("ringkeeper", pki, cfg).start()
    k = n.kazoo("alice")
    kazoos.append(k)
    k.create("/enc", b"")
    out = start_fails(pki, nodes, dict(cfg, **{"ssl.keyStore.password": "wrong"}))
    assert str(store) in out and "wrong ssl.keyStore.password" in out, out


def test_renewed_certificate_is_used_without_restart(pki, nodes, kazoos, tmp_path):
    store = tmp_path / "server.pem"
    shutil.copy(pki.path("server.pem"), store)
    n = nodes("ringkeeper", pki, tlslib.tls_cfg(pki, **{"ssl.keyStore.location": str(store)})).start()
    ctx = pki.client_context("alice")
    assert tlslib.peer_subject(n.secure_port, ctx)["O"] == "Ringkeeper Test"
    k = n.kazoo("alice")
    kazoos.append(k)
    k.create("/before", b"")

    pki.issue("renewed", "/O=Renewed/CN=localhost", server=True)
    tmp = tmp_path / "server.pem.new"
    tmp.write_text(open(pki.path("renewed.pem")).read())
    tmp.replace(store)
    wait_until(lambda: tlslib.peer_subject(n.secure_port, ctx).get("O") == "Renewed", 15,
               what="the renewed certificate on new connections")
    k.create("/after", b"")  # the open session went on over its connection

    # A broken file is logged and the renewed certificate stays.
    store.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    wait_until(lambda: "TLS reload failed" in n.log(), 15, what="the failed reload in the log")
    assert str(store) in n.log()
    assert tlslib.peer_subject(n.secure_port, ctx)["O"] == "Renewed"


def test_changed_trust_store_is_used_without_restart(pki, nodes, tmp_path):
    trust = tmp_path / "trust.pem"
    shutil.copy(pki.path("ca.pem"), trust)
    n = nodes("ringkeeper", pki, tlslib.tls_cfg(pki, **{"ssl.trustStore.location": str(trust)})).start()
    assert refused(n.secure_port, pki.client_context("mallory"))
    new = tmp_path / "trust.pem.new"
    new.write_text(open(pki.path("ca.pem")).read() + open(pki.path("rogue-ca.pem")).read())
    new.replace(trust)
    wait_until(lambda: not refused(n.secure_port, pki.client_context("mallory")), 15,
               what="a client of the newly trusted CA admitted")
    assert not refused(n.secure_port, pki.client_context("alice"))


def start_fails(pki, nodes, cfg: dict, plain: bool = True) -> str:
    """Starts a server that must refuse to start; returns its output."""
    n = nodes("ringkeeper", pki, cfg, plain)
    p = n.launch()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server started:\n{n.log()[-2000:]}")
    assert p.returncode != 0
    return n.log()


def test_startup_errors_name_the_file_and_problem(pki, nodes, tmp_path):
    p12 = pki.pkcs12("server", "PKCS12")
    out = start_fails(pki, nodes, tlslib.tls_cfg(pki, **{
        "ssl.keyStore.location": p12, "ssl.keyStore.type": "PKCS12",
        "ssl.keyStore.password": "wrong"}))
    assert p12 in out and "password" in out, out

    jks = pki.pkcs12("server", "JKS")
    out = start_fails(pki, nodes, tlslib.tls_cfg(pki, **{
        "ssl.keyStore.location": jks, "ssl.keyStore.type": "JKS",
        "ssl.keyStore.password": "wrong"}))
    assert jks in out and "wrong ssl.keyStore.password" in out, out

    missing = str(tmp_path / "nope.pem")
    out = start_fails(pki, nodes, tlslib.tls_cfg(pki, **{"ssl.trustStore.location": missing}))
    assert missing in out and "No such file" in out, out

    pki.issue("expired", "/CN=localhost", server=True, days=1, faketime="30 days ago")
    out = start_fails(pki, nodes, tlslib.tls_cfg(pki, **{"ssl.keyStore.location": pki.path("expired.pem")}))
    assert pki.path("expired.pem") in out and "expired on" in out, out

    out = start_fails(pki, nodes, tlslib.tls_cfg(pki, **{"ssl.enabledProtocols": "TLSv1,TLSv1.1"}))
    assert "TLSv1.2" in out, out


def test_secure_port_alone(pki, nodes, kazoos):
    n = nodes("ringkeeper", pki, tlslib.tls_cfg(pki), plain=False).start()
    k = n.kazoo("alice")
    kazoos.append(k)
    k.create("/alone", b"x")
    with pytest.raises(OSError):
        socket.create_connection((tlslib.HOST, n.port), timeout=2).close()


def test_cipher_suites_and_versions(pki, nodes):
    cfg = tlslib.tls_cfg(pki, **{
        "ssl.enabledProtocols": "TLSv1.2",
        "ssl.ciphersuites": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"})
    n = nodes("ringkeeper", pki, cfg).start()
    with tlslib.tls_socket(n.secure_port, pki.client_context("alice")) as s:
        assert s.version() == "TLSv1.2"
        assert s.cipher()[0] == "ECDHE-RSA-CHACHA20-POLY1305"
    assert "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" in n.log()  # warned: rustls has no CBC
    out = start_fails(pki, nodes, tlslib.tls_cfg(pki, **{"ssl.ciphersuites": "TLS_RSA_WITH_AES_128_CBC_SHA"}))
    assert "none of TLS_RSA_WITH_AES_128_CBC_SHA" in out, out


# ---- against Apache ZooKeeper 3.8 ------------------------------------------------------------

def both(pki, nodes, cfg: dict):
    return [nodes(kind, pki, cfg).start() for kind in ("zookeeper", "ringkeeper")]


def only_version(version: ssl.TLSVersion, pki) -> ssl.SSLContext:
    ctx = pki.client_context("alice")
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def test_versions_and_four_letter_words_as_zookeeper(pki, nodes):
    for n in both(pki, nodes, tlslib.tls_cfg(pki)):
        # ZooKeeper 3.8 offers only ssl.protocol's default, TLSv1.2.
        assert not refused(n.secure_port, only_version(ssl.TLSVersion.TLSv1_2, pki)), n.kind
        assert refused(n.secure_port, only_version(ssl.TLSVersion.TLSv1_3, pki)), n.kind
        # Four-letter words are answered over TLS on the secure port...
        assert tlslib.tls_four_letter(n.secure_port, pki.client_context("alice")) == "imok", n.kind
        assert "Zookeeper version" in tlslib.tls_four_letter(n.secure_port, pki.client_context("alice"), "srvr")
        # ...and not in plain text there.
        with socket.create_connection((tlslib.HOST, n.secure_port), timeout=3) as s:
            s.sendall(b"ruok")
            try:
                got = s.recv(100)
            except (socket.timeout, ConnectionResetError):
                got = b""
            assert b"imok" not in got, n.kind


def test_x509_identity_as_zookeeper(pki, nodes, kazoos):
    """The x509 id of a certificate is the same string on both servers (what `auth` ACLs
    expand to), for a plain subject and one that needs RFC 2253 escaping and hex values."""
    ids = {}
    for n in both(pki, nodes, tlslib.tls_cfg(pki)):
        for who in ("alice", "tricky"):
            k = n.kazoo(who)
            kazoos.append(k)
            k.create(f"/{who}", b"", acl=[ACL(31, Id("auth", ""))])
            ids[(n.kind, who)] = [(a.id.scheme, a.id.id) for a in k.get_acls(f"/{who}")[0]]
        bob = n.kazoo("bob")
        kazoos.append(bob)
        with pytest.raises(NoAuthError):
            bob.get("/alice")
    for who in ("alice", "tricky"):
        assert ids[("ringkeeper", who)] == ids[("zookeeper", who)], ids
    assert ids[("ringkeeper", "alice")] == [("x509", ALICE)]
    assert re.search(r"1\.2\.840\.113549\.1\.9\.1=#16", ids[("ringkeeper", "tricky")][0][1])


def test_cli_mt_over_tls():
    """Debian's cli_mt is built without OpenSSL: its library has no zookeeper_init_ssl and
    its usage has no --ssl option, so it cannot connect to any secure port."""
    lib = subprocess.run(["sh", "-c", "nm -D $(ldconfig -p | awk '/libzookeeper_mt.so/{print $NF; exit}')"],
                         capture_output=True, text=True).stdout
    usage = subprocess.run(["/usr/lib/zookeeper/bin/cli_mt"], capture_output=True, text=True)
    if "zookeeper_init_ssl" not in lib and "--ssl" not in usage.stdout + usage.stderr:
        pytest.skip("Debian's libzookeeper_mt/cli_mt are built without SSL (no zookeeper_init_ssl, no --ssl)")
    pytest.fail("cli_mt has SSL support now: write the test that uses it")
