"""Database tables (SQLModel). Schema changes go through Alembic (migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for a log.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(DateTime(timezone=True), nullable=nullable),
    )


class Workspace(SQLModel, table=True):
    __tablename__ = "workspaces"
    __table_args__ = (
        # A slug is unique among live workspaces; a soft-deleted one frees it.
        Index(
            "ux_workspaces_slug_live",
            "slug",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    slug: str = Field(sa_column=Column(String(200), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    revision: int = Field(default=1)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class WorkspaceRevision(SQLModel, table=True):
    """Immutable snapshot of a workspace definition; runs pin one."""

    __tablename__ = "workspace_revisions"

    workspace_id: str = Field(primary_key=True, max_length=32, foreign_key="workspaces.id")
    revision: int = Field(primary_key=True)
    digest: str = Field(max_length=64)
    document: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    created_at: datetime = _ts()


class Event(SQLModel, table=True):
    """Append-only event log. ``seq`` orders it; ``id`` makes inserts idempotent."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_ws_created", "workspace_id", "created_at"),
        Index("ix_events_ws_type", "workspace_id", "type"),
        Index("ix_events_ws_correlation", "workspace_id", "correlation_id"),
    )

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    type: str = Field(sa_column=Column(String(300), nullable=False))
    correlation_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    created_at: datetime = _ts()
    size: int = 0
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    payload: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    target: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    options: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class Blob(SQLModel, table=True):
    """Values too large for a Temporal payload, passed by reference."""

    __tablename__ = "blobs"

    id: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _ts()
