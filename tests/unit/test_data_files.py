"""The admin token and the data files (issue 14 item 7).

``tideway run`` prints the admin token only when it generated it (naming where it is kept),
never one it read from TIDEWAY_ADMIN_TOKEN or from the data dir; the data dir is 0700 and
everything in it (SQLite database, Temporal's database and log, keys, admin token) 0600 from
creation, and a data dir left readable by an older version is narrowed at start."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.launcher import admin_token, banner, jwt_secret, prepare_data_dir, secrets_key
from core.infra.db import Database, migrate_async
from core.infra.devserver import DevServer
from core.infra.settings import Settings
from tests.conformance.http_stub import free_port

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _tideway_run(data_dir: Path, address: str, **env: str) -> str:
    """``tideway run`` against an existing Temporal server until it is up, then Ctrl-C; its output."""
    environment = {**os.environ, "TIDEWAY_DATA_DIR": str(data_dir), "TIDEWAY_PORT": str(free_port()),
                   "TEMPORAL_ADDRESS": address, "TEMPORAL_TASK_QUEUE": f"run-{data_dir.name}",
                   "RETENTION_ENABLED": "false", **env}
    for name in ("TIDEWAY_ADMIN_TOKEN", "DATABASE_URL", "TIDEWAY_SECRETS_KEY", "TIDEWAY_JWT_SECRET"):
        if name not in env:
            environment.pop(name, None)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", "run", cwd=ROOT, env=environment,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    output = b""
    try:
        while b"Press Ctrl-C to stop." not in output:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if not line:
                raise AssertionError(f"tideway run exited early:\n{output.decode()}")
            output += line
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 60)
    return (output + rest).decode()


async def test_a_token_from_the_environment_is_never_printed(temporal_env: WorkflowEnvironment,
                                                            tmp_path: Path) -> None:
    token = "env-token-3f9c2d7e1b"
    address = temporal_env.client.service_client.config.target_host
    output = await _tideway_run(tmp_path / "data", address, TIDEWAY_ADMIN_TOKEN=token)
    assert "Tideway is running." in output
    assert token not in output
    assert "Admin token  from TIDEWAY_ADMIN_TOKEN (not printed)" in output


async def test_a_generated_token_is_printed_once_and_the_data_files_are_owner_only(
        temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    data = tmp_path / "data"
    address = temporal_env.client.service_client.config.target_host
    first = await _tideway_run(data, address)
    token = (data / "admin-token").read_text().strip()
    assert f"Admin token  {token}  (generated, stored in {data / 'admin-token'}" in first
    # A later start reads the file and does not print it (test_the_banner_names_where_the_token_is).

    assert mode(data) == 0o700
    files = {path.name: mode(path) for path in data.iterdir() if path.is_file()}
    assert {"tideway.db", "secrets.key", "jwt.key", "admin-token"} <= set(files), files
    assert all(value == 0o600 for value in files.values()), files


def test_the_banner_names_where_the_token_is(tmp_path: Path) -> None:
    settings = Settings(tideway_data_dir=tmp_path / "d")
    made = admin_token(settings)
    assert made.generated and made.value in banner(settings, made, None, None)
    again = admin_token(settings)  # the next start
    assert not again.generated and again.value == made.value
    assert again.value not in banner(settings, again, None, None)
    assert f"Admin token  stored in {tmp_path / 'd' / 'admin-token'} (not printed)" in banner(
        settings, again, None, None)
    from_env = admin_token(settings.model_copy(update={"tideway_admin_token": "from-env-token"}))
    assert "from-env-token" not in banner(settings, from_env, None, None)


def test_keys_and_token_are_created_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: files would be 0644 without care
    try:
        settings = Settings(tideway_data_dir=tmp_path / "data")
        secrets_key(settings), jwt_secret(settings), admin_token(settings)
    finally:
        os.umask(old)
    assert mode(tmp_path / "data") == 0o700
    for name in ("secrets.key", "jwt.key", "admin-token"):
        assert mode(tmp_path / "data" / name) == 0o600, name


async def test_the_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path / 'data' / 'tideway.db'}"
        await migrate_async(url)
        db = Database(url)
        async with db.session() as session:
            from sqlalchemy import text

            await session.exec(text("CREATE TABLE IF NOT EXISTS probe (x int)"))  # type: ignore[call-overload]
            await session.exec(text("INSERT INTO probe VALUES (1)"))  # type: ignore[call-overload]
            await session.commit()
        files = {p.name: mode(p) for p in (tmp_path / "data").glob("tideway.db*")}  # while open: -wal, -shm
        await db.dispose()
    finally:
        os.umask(old)
    assert {"tideway.db", "tideway.db-wal"} <= set(files), files
    assert all(value == 0o600 for value in files.values()), files


def test_the_dev_server_database_and_log_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    server = DevServer(tmp_path / "data", port=free_port(), ui_port=free_port())
    try:
        server.start()
    finally:
        os.umask(old)
    try:
        files = {p.name: mode(p) for p in (tmp_path / "data").iterdir()}
    finally:
        server.stop()
    assert {"temporal.db", "temporal.log"} <= set(files), files
    assert all(value == 0o600 for value in files.values()), files
    assert mode(tmp_path / "data") == 0o700


def test_a_data_dir_left_readable_is_narrowed_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    for name in ("tideway.db", "tideway.db-wal", "temporal.db", "temporal.log", "secrets.key", "jwt.key",
                 "admin-token", "notes.txt"):
        (data / name).write_text("x")
        (data / name).chmod(0o644)
    prepare_data_dir(Settings(tideway_data_dir=data))
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {
        "tideway.db": 0o600, "tideway.db-wal": 0o600, "temporal.db": 0o600, "temporal.log": 0o600,
        "secrets.key": 0o600, "jwt.key": 0o600, "admin-token": 0o600,
        "notes.txt": 0o644}  # not Tideway's: left alone
    assert "removed group/other permissions from 8 path(s)" in capsys.readouterr().out
