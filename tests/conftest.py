"""Session fixtures: one real Temporal dev server, SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from core.infra.devserver import temporal_binary
from core.infra.payload_codec import data_converter
from schemas.search_attributes import SEARCH_ATTRIBUTES
from tests.stack import TEMPORAL_HTTP_PORT, TEST_SECRETS_KEY, Stack, open_stack

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PG_STATUS: dict[str, str] = {}


def _pg_url() -> str | None:
    """A private schema in the test database, or None (with the reason) when unreachable."""
    import psycopg

    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    schema = f"tw_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3,
                             autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # unreachable server: report and skip that leg
        PG_STATUS["status"] = f"NOT RUN ({base}: {exc.__class__.__name__}: {str(exc).strip()[:120]})"
        return None
    PG_STATUS["status"] = f"ran against {base} (schema {schema})"
    PG_STATUS["schema"] = schema
    PG_STATUS["base"] = base
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    # The whole suite runs with Tideway's payload codec (every payload encrypted), as production.
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=data_converter(TEST_SECRETS_KEY),
        search_attributes=SEARCH_ATTRIBUTES, ui=False,
        dev_server_extra_args=["--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000",
                               "--http-port", str(TEMPORAL_HTTP_PORT)])
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def sqlite_stack(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("db")) / "tideway.db"
    async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite") as stack:
        yield stack


@pytest.fixture(scope="session")
async def postgres_stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    url = _pg_url()
    if url is None:
        pytest.skip(f"PostgreSQL leg skipped: {PG_STATUS['status']}")
    async with open_stack(temporal_env.client, url, "postgres") as stack:
        yield stack
    _drop_schema()


def _drop_schema() -> None:
    import psycopg

    if "schema" not in PG_STATUS:
        return
    with psycopg.connect(PG_STATUS["base"], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{PG_STATUS["schema"]}" CASCADE')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest) -> Stack:
    """The API/database tests run on both backends."""
    fixture = "sqlite_stack" if request.param == "sqlite" else "postgres_stack"
    result: Stack = request.getfixturevalue(fixture)
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.conformance.report import write_summary

    write_summary(terminalreporter)
    status = PG_STATUS.get("status", "not requested by the selected tests")
    terminalreporter.write_line(f"postgresql leg: {status}")


_exit_status = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status["code"] = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    # A temporalio client alive at interpreter exit can abort with code 134 (sdk-python #300).
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    from tests.conformance.report import record_report

    record_report(report)
