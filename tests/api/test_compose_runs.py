"""docker-compose.yml, running half (issue 22): every Tideway service's command runs here with its
environment (tests/api/compose_runner.py): the init steps succeed and leave the database migrated
and the search attributes registered, two api replicas answer /healthz, two workers run a
webhook called through each api. Mutated copies of the file (a broken command, a misspelled
variable, a removed init step) fail the same check. Needs the local PostgreSQL (skipped without)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.compose_runner import run_compose
from tests.api.compose_stand import Stand, postgres_database, temporal_dev_server
from tests.unit.compose_check import COMPOSE, load
from tests.unit.test_compose_file import MUTATIONS, TEST_ENV, mutated

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"  # as tests/conftest.py

# Caught when the services run, whether or not the static half catches them too.
RUNNING_MUTATIONS = {
    "api command misspelt": "no api service runs (long-running: api#0: tideway apii",
    "api runs the worker": "no api service runs",
    "worker option unknown": "worker#0: exited 2",
    "variable misspelt": "after the init steps the database is at migration None",
    "migration step removed": "after the init steps the database is at migration None",
    "search attributes step removed": "are not registered",
}


def _base_url() -> str:
    import psycopg

    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG).replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(base, connect_timeout=3):
            pass
    except Exception as exc:
        pytest.skip(f"no local PostgreSQL at {base}: {exc.__class__.__name__}")
    return base


@pytest.fixture
def stand(tmp_path: Path) -> Iterator[Stand]:
    """A fresh dev server (no search attributes) and a fresh database: what the images would be."""
    with temporal_dev_server(tmp_path) as address, postgres_database(_base_url()) as database:
        database.temporal_address = address
        yield database


def test_compose_services_run_here(stand: Stand, tmp_path: Path) -> None:
    problems = run_compose(load(COMPOSE.read_text(), TEST_ENV), stand, tmp_path / "run", max_replicas=2)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("name", sorted(RUNNING_MUTATIONS))
def test_running_a_broken_copy_fails(name: str, stand: Stand, tmp_path: Path) -> None:
    assert name in MUTATIONS
    problems = run_compose(mutated(name, tmp_path), stand, tmp_path / "run", max_replicas=1)
    assert any(RUNNING_MUTATIONS[name] in problem for problem in problems), "\n".join(problems)
