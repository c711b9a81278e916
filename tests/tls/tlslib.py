"""Test PKI and TLS helpers shared by tests/tls and the differential suite's TLS mode.

The certificate authority, server and client certificates are made by the test itself with
the openssl CLI; PKCS12 and JKS stores are made from them with the JDK's keytool.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Optional

HOST = "127.0.0.1"
PASSWORD = "rk-test-pass"


def run(*args: str, cwd: Path, env_prefix: tuple = ()) -> None:
    p = subprocess.run([*env_prefix, *args], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")


class Pki:
    """A CA and certificates in directory `d`. Names: `server` (CN=localhost, SAN 127.0.0.1),
    clients `alice`, `bob`, `tricky` (a subject that exercises RFC 2253 escaping), and
    `mallory` signed by another CA that the server does not trust."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        d.mkdir(parents=True, exist_ok=True)
        self._ca("ca", "/CN=Ringkeeper Test CA")
        self._ca("rogue-ca", "/CN=Rogue CA")
        self.issue("server", "/O=Ringkeeper Test/CN=localhost", server=True)
        self.issue("alice", "/C=DE/O=Acme, Inc./CN=alice")
        self.issue("bob", "/CN=bob")
        self.issue("tricky", "/DC=org/OU= spaced #1 /CN=x+UID=42/emailAddress=t@example.org",
                   multivalue=True)
        self.issue("mallory", "/CN=alice", ca="rogue-ca")

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def _ca(self, name: str, subj: str) -> None:
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-days", "30", "-subj", subj, cwd=self.dir)

    def issue(self, name: str, subj: str, *, server: bool = False, ca: str = "ca",
              multivalue: bool = False, days: int = 10, faketime: Optional[str] = None) -> None:
        """`name.crt`, `name.key` (PKCS#8 PEM) and `name.pem` (both, as ZooKeeper's PEM key
        store reads them). With `faketime`, the certificate is issued at that date."""
        req = ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
               "-out", f"{name}.csr", "-subj", subj]
        if multivalue:
            req.append("-multivalue-rdn")
        run(*req, cwd=self.dir)
        ext = self.dir / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server
                       else "extendedKeyUsage=clientAuth\n")
        pre = ("faketime", faketime) if faketime else ()
        run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", str(days), "-extfile", ext.name,
            cwd=self.dir, env_prefix=pre)
        (self.dir / f"{name}.pem").write_text(
            (self.dir / f"{name}.crt").read_text() + (self.dir / f"{name}.key").read_text())

    def pkcs12(self, name: str, store_type: str, password: str = PASSWORD) -> str:
        """A key store of `store_type` (PKCS12 or JKS) made by keytool from the PEM files."""
        src = self.dir / f"{name}.openssl.p12"
        run("openssl", "pkcs12", "-export", "-in", f"{name}.crt", "-inkey", f"{name}.key",
            "-name", name, "-out", src.name, "-passout", f"pass:{password}", cwd=self.dir)
        ext = "jks" if store_type == "JKS" else "p12"
        dst = self.dir / f"{name}.keytool.{ext}"
        dst.unlink(missing_ok=True)
        run("keytool", "-importkeystore", "-noprompt", "-srckeystore", src.name,
            "-srcstoretype", "PKCS12", "-srcstorepass", password, "-destkeystore", dst.name,
            "-deststoretype", store_type, "-deststorepass", password, "-destkeypass", password,
            cwd=self.dir)
        return str(dst)

    def truststore(self, store_type: str, password: str = PASSWORD) -> str:
        """The CA certificate in a keytool trust store of `store_type`."""
        ext = "jks" if store_type == "JKS" else "p12"
        dst = self.dir / f"trust.keytool.{ext}"
        dst.unlink(missing_ok=True)
        run("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem",
            "-keystore", dst.name, "-storetype", store_type, "-storepass", password, cwd=self.dir)
        return str(dst)

    def client_context(self, name: Optional[str] = "alice") -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.path("ca.pem"))
        if name:
            ctx.load_cert_chain(self.path(f"{name}.crt"), self.path(f"{name}.key"))
        return ctx


def tls_cfg(pki: Pki, **extra: str) -> dict:
    """zoo.cfg keys for a PEM key store and trust store (ZooKeeper reads these too)."""
    cfg = {
        "ssl.keyStore.location": pki.path("server.pem"),
        "ssl.keyStore.type": "PEM",
        "ssl.trustStore.location": pki.path("ca.pem"),
        "ssl.trustStore.type": "PEM",
    }
    cfg.update(extra)
    return cfg


def tls_socket(port: int, ctx: ssl.SSLContext, timeout: float = 10.0) -> ssl.SSLSocket:
    raw = socket.create_connection((HOST, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def tls_four_letter(port: int, ctx: ssl.SSLContext, cmd: str = "ruok", timeout: float = 5.0) -> str:
    with tls_socket(port, ctx, timeout) as s:
        s.sendall(cmd.encode())
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ssl.SSLError, ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
    return out.decode("utf-8", "replace")


def peer_subject(port: int, ctx: ssl.SSLContext) -> dict:
    """The server certificate's subject as a flat dict, e.g. {'O': ..., 'CN': ...}."""
    with tls_socket(port, ctx) as s:
        cert = s.getpeercert()
    short = {"organizationName": "O", "commonName": "CN"}
    return {short.get(k, k): v for rdn in cert["subject"] for k, v in rdn}


def zookeeper_classpath() -> str:
    """ZooKeeper 3.8 with the Netty jars its NettyServerCnxnFactory (needed for TLS) uses."""
    j = "/usr/share/java"
    jars = ["zookeeper.jar"] + [f"netty-{n}.jar" for n in (
        "buffer", "codec", "common", "handler", "resolver", "transport",
        "transport-native-epoll", "transport-native-unix-common")] + ["slf4j-log4j12.jar", "log4j-1.2.jar"]
    return ":".join(["/etc/zookeeper/conf"] + [f"{j}/{x}" for x in jars])


def wait_tls_ready(port: int, ctx: ssl.SSLContext, proc: subprocess.Popen, timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if tls_four_letter(port, ctx, "ruok", timeout=1.0) == "imok":
                return True
        except (OSError, ssl.SSLError):
            pass
        time.sleep(0.05)
    return False


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def env_with(**kv: str) -> dict:
    e = dict(os.environ)
    e.update(kv)
    return e
