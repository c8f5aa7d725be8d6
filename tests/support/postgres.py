"""A real PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temporary folder, on a free
port of 127.0.0.1, stopped at the end of the session. No mocks.

Finds the server binaries on PATH or in Debian's /usr/lib/postgresql/<version>/bin (``.ci/run``
installs the ``postgresql`` package when they are missing). PostgreSQL refuses to run as root:
as root, the server runs as the ``postgres`` user that Debian's package creates.

Fixtures (tests/conftest.py): ``postgres_server`` (session) and ``postgres_url`` (a fresh,
empty database per test).
"""

from __future__ import annotations

import datetime
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import free_port

_BINARIES = ("initdb", "pg_ctl")


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all((Path(candidate) / b).exists() for b in _BINARIES):
            return Path(candidate)
    return None


class PostgresServer:
    """``durable=False`` (tests) turns fsync off; benchmarks keep PostgreSQL's defaults.
    ``tls=True``: the server also takes TLS connections (a self-signed certificate), as
    hosted PostgreSQL requires (``?sslmode=require``)."""

    def __init__(self, *, durable: bool = False, tls: bool = False) -> None:
        self.durable = durable
        self.tls = tls
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
        self._bin = bin_dir
        self.port = free_port()
        self._root = Path(tempfile.mkdtemp(prefix="bridge-pg-"))
        self.data = self._root / "data"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            pw = pwd.getpwnam(self._user)
            os.chown(self._root, pw.pw_uid, pw.pw_gid)
        self.superuser = "bridge"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust",
            "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        if self.tls:
            self._write_certificate()

    def _write_certificate(self) -> None:
        """server.key and server.crt in the data folder, owned by the server's user."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        files = {
            "server.key": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "server.crt": cert.public_bytes(serialization.Encoding.PEM),
        }  # fmt: skip
        for filename, data in files.items():
            path = self.data / filename
            path.write_bytes(data)
            path.chmod(0o600)
            if self._user:
                pw = pwd.getpwnam(self._user)
                os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories="
            f"{self._root} -c max_connections=200 -c log_min_messages=warning"
        )
        if not self.durable:
            options += " -c fsync=off"
        if self.tls:
            options += " -c ssl=on"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self._root / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop("fast")
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self._root, ignore_errors=True)
