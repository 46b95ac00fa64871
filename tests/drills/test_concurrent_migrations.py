"""Replicas started together each migrate the database at start (cli/commands/server.py): on a
fresh PostgreSQL schema they raced to create the same tables and all but one exited
(``duplicate key … pg_type_typname_nsp_index``, found by the many-process drill of issue 22).
migrations/env.py now serializes them with an advisory lock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.drills.helpers import ROOT
from tests.drills.multiprocess import PostgresSchema

REPLICAS = 4
# One process per replica (Alembic's context is process-global: threads would share it).
MIGRATE = "import sys; from core.infra.db import migrate; migrate(sys.argv[1])"


def test_replicas_migrating_a_fresh_schema_at_once_all_start() -> None:
    import psycopg

    schema = PostgresSchema()
    url = schema.create()
    if url is None:
        pytest.skip(f"PostgreSQL unreachable at {schema.base}")
    try:
        replicas = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT) for _ in range(REPLICAS)]
        outputs = [replica.communicate(timeout=120)[0].decode(errors="replace") for replica in replicas]
        assert [replica.returncode for replica in replicas] == [0] * REPLICAS, outputs
        with psycopg.connect(schema.base.replace("postgresql+psycopg://", "postgresql://")) as conn:
            rows = conn.execute(f'SELECT count(*) FROM "{schema.name}".alembic_version').fetchone()
        assert rows == (1,)
    finally:
        schema.drop()
