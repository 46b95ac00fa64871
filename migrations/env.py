"""Alembic environment: runs migrations with the sync driver of DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text
from sqlmodel import SQLModel

import core.infra.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata
# Replicas started together (api and worker processes each migrate at start) must not run the
# same migrations at once: on PostgreSQL the first holds this transaction-scoped lock while the
# others wait, then find the schema at head. One lock per schema (deployments sharing a database
# in separate schemas, the test sessions, migrate side by side).
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('tideway-migrations:' || current_schema()))"


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text(MIGRATION_LOCK))
            context.run_migrations()
    engine.dispose()


run_migrations_online()
