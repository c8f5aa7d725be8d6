"""Opening a store from DATABASE_URL: what is refused, and why, before anything is stored;
on a real PostgreSQL server and on SQLite files. A refused open leaves nothing open."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from bridge.errors import ConfigError
from bridge.store import open_store
from bridge.store.postgres import PostgresStore
from bridge.store.sqlite import SQLiteStore
from tests.support.app import bridge_environ
from tests.support.postgres import PostgresServer


def test_a_postgres_store_needs_a_postgres_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a postgres:// or postgresql:// URL"):
        PostgresStore(f"sqlite:///{tmp_path}/bridge.db")


def test_a_malformed_postgres_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="not a valid PostgreSQL connection URL") as refused:
        open_store("postgresql://bridge:hunter2@127.0.0.1:5432/bridge?no_such_option=1")
    assert "hunter2" not in str(refused.value)
    assert "no_such_option" not in str(refused.value)


def test_a_database_that_refuses_the_schema_fails_the_open(
    postgres_server: PostgresServer,
) -> None:
    """A role without the right to create tables: the migration fails, the open fails with
    PostgreSQL's reason, and the connection pool opened for it is closed again."""
    role = f"r_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    limited = url.replace(f"{postgres_server.superuser}@", f"{role}@", 1)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        open_store(limited, pool_size=2)
    assert connections_of(role, postgres_server) == 0


def connections_of(role: str, server: PostgresServer, wait: float = 5.0) -> int:
    """Sessions of ``role`` still open, once those closing have had ``wait`` s to go."""
    deadline = time.monotonic() + wait
    with psycopg.connect(server.url(), autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)
            ).fetchone()
            count = int(row[0]) if row else 0
            if count == 0 or time.monotonic() > deadline:
                return count
            time.sleep(0.05)


def test_a_sqlite_file_whose_folder_cannot_be_made_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    path = tmp_path / "taken" / "data" / "bridge.db"
    with pytest.raises(ConfigError, match="cannot create the folder for"):
        SQLiteStore(str(path))
    with pytest.raises(ConfigError, match="cannot create the folder for"):
        open_store(f"sqlite:///{path}")


def test_a_sqlite_store_creates_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "bridge.db"
    store = open_store(f"sqlite:///{path}")
    try:
        store.ping()
    finally:
        store.close()
    assert path.exists()


def test_a_sqlite_process_never_imports_the_postgresql_driver(tmp_path: Path) -> None:
    """A web process on SQLite (the app built, its store open, what the gunicorn master and
    the commands import) leaves psycopg out: 13 MiB per process and 60 ms of start it does
    not need. A postgres:// URL is still recognized without it."""
    script = (
        "import sys, bridge.cli, bridge.logs, bridge.routes_keeper, bridge.gunicorn_worker\n"
        "from bridge.app import create_app\n"
        "from bridge.store import check_database_url\n"
        "app = create_app()\n"
        "check_database_url('postgres://bridge@127.0.0.1/bridge')\n"
        "app.extensions['bridge'].close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(bridge_environ(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "bridge.db").is_file()  # the store was opened
