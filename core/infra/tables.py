"""Database tables (SQLModel). Schema changes go through Alembic (migrations/)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from schemas.events import MAX_EVENT_TYPE

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for a log.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """The public timestamp form: ISO 8601 in UTC with ``Z`` (SQLite returns naive UTC datetimes)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.isoformat().replace("+00:00", "Z")


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


def event_app_depth(context: Any) -> int | None:
    """The ``app_depth`` of an event row being inserted, from its ``source``."""
    return app_depth_of(context.get_current_parameters().get("source"))


def app_depth_of(source: Any) -> int | None:
    """``source.appInstanceDepth`` as the ``app_depth`` column holds it."""
    depth = source.get("appInstanceDepth") if isinstance(source, dict) else None
    if isinstance(depth, bool) or not isinstance(depth, int | float) or not math.isfinite(depth):
        return None
    return max(min(math.ceil(depth), 2**31 - 1), -(2**31))  # an INTEGER column on both databases


class Event(SQLModel, table=True):
    """Append-only event log. ``seq`` orders it; ``id`` makes inserts idempotent."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_ws_created", "workspace_id", "created_at"),
        Index("ix_events_ws_type", "workspace_id", "type"),  # a type's events in log order
        # Cover the search's count of a type (POST …/search: persisted, app depth; docs/search.md):
        # the first small (deduplicated) for a type's count, the second for a type within dates
        # (its count, its date histogram, and the rows a ranged page is sorted from).
        Index("ix_events_ws_type_visible", "workspace_id", "type", "ephemeral", "app_depth"),
        Index("ix_events_ws_type_date", "workspace_id", "type", "ephemeral", "created_at", "app_depth"),
        Index("ix_events_ws_correlation", "workspace_id", "correlation_id"),
        Index("ix_events_ws_seq", "workspace_id", "seq"),
    )

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    type: str = Field(sa_column=Column(String(MAX_EVENT_TYPE), nullable=False))
    correlation_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    created_at: datetime = _ts()
    size: int = 0
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    payload: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    target: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    options: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # `options.persist: false` events are kept only briefly, for live delivery (SSE, waits),
    # and never appear in searches.
    ephemeral: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    # `source.appInstanceDepth` when it is a number (rounded up), else NULL: the search's app-depth
    # rule reads it from the index (core/events/es_read.py). Filled by the column's default.
    app_depth: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, default=event_app_depth))


class RunRow(SQLModel, table=True):
    """One automation run (docs/runs.md): written by the run's first flush, updated when it waits
    and when it ends, in the event writer's batches; kept as long as the events."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_ws_started", "workspace_id", "started_at"),
        Index("ix_runs_ws_status", "workspace_id", "status"),
        Index("ix_runs_ws_automation", "workspace_id", "automation"),
        Index("ix_runs_ws_correlation", "workspace_id", "correlation_id"),
        Index("ix_runs_workflow", "workflow_id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    workflow_id: str = Field(sa_column=Column(String(400), nullable=False))
    temporal_run_id: str = Field(sa_column=Column(String(64), nullable=False))
    revision: int = 0
    automation: str = Field(sa_column=Column(String(300), nullable=False))
    instance: str = Field(default="", sa_column=Column(String(300), nullable=False, server_default=""))
    trigger_type: str = Field(sa_column=Column(String(32), nullable=False))
    trigger_value: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    correlation_id: str = Field(sa_column=Column(String(64), nullable=False))
    user_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    started_at: datetime = _ts()
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    duration_ms: int | None = None
    rerun_of: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    input: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    output: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    trace: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class WorkspaceLock(SQLModel, table=True):
    """The write lock of a workspace while an import runs (``DELETE …/writeLock`` releases it): a
    second import gets 409 ``WorkspaceLockedError``; an expired lock (a crashed importer) is taken over."""

    __tablename__ = "workspace_locks"

    workspace_id: str = Field(primary_key=True, max_length=32)
    holder: str = Field(sa_column=Column(String(64), nullable=False))
    acquired_at: datetime = _ts()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Wait(SQLModel, table=True):
    """A pending ``wait`` of a run: matched against events persisted after ``after_seq``."""

    __tablename__ = "waits"
    __table_args__ = (Index("ix_waits_ws_status", "workspace_id", "status"),
                      Index("ix_waits_event_id", "event_id"))

    id: str = Field(primary_key=True, max_length=64)
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    event_types: list[str] = Field(sa_column=Column(JSONType, nullable=False))
    filters: list[Any] = Field(sa_column=Column(JSONType, nullable=False))  # one filter map per oneOf entry
    cancel_triggers: list[bool] = Field(sa_column=Column(JSONType, nullable=False))
    workflow_id: str = Field(sa_column=Column(String(300), nullable=False))
    after_seq: int = Field(sa_column=Column(SeqType, nullable=False))
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    event_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    created_at: datetime = _ts()


class PendingWaitType(SQLModel, table=True):
    """The event types of a pending wait, one row each, for as long as the wait is pending.

    Persisting events reads only the pending waits of the events' types through this table, so a
    flush costs the same with 10 or 10,000 runs parked on other events (waits.match)."""

    __tablename__ = "pending_wait_types"

    workspace_id: str = Field(primary_key=True, max_length=32)
    event_type: str = Field(primary_key=True, max_length=MAX_EVENT_TYPE)  # as events.type
    wait_id: str = Field(primary_key=True, max_length=64)


class Context(SQLModel, table=True):
    """A persisted context object: global (key ''), user (user id), session (session id), run
    (correlation id)."""

    __tablename__ = "contexts"

    workspace_id: str = Field(primary_key=True, max_length=200)  # root id, or "<root>:<app instance>"
    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=200)
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    updated_at: datetime = _ts()


class ContextOp(SQLModel, table=True):
    """Applied context write operations: a retried activity applies a push/merge once."""

    __tablename__ = "context_ops"

    id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _ts()


class RateBucket(SQLModel, table=True):
    """Shared token buckets (DECISIONS 15): one row per (workspace, limit)."""

    __tablename__ = "rate_buckets"

    workspace_id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=32)
    tokens: float = Field(sa_column=Column(Float, nullable=False))
    updated: float = Field(sa_column=Column(Float, nullable=False))  # epoch seconds


class RateCounter(SQLModel, table=True):
    """A ``rateLimit`` instruction's fixed window (core/runs/rate_counters.py): one row per
    (workspace, scope, name, consumer), keyed by a digest of the four so that any consumer string
    (an email, an IP, a token hash) fits the index; the row is reset when a take falls in a later
    window."""

    __tablename__ = "rate_counters"
    __table_args__ = (Index("ix_rate_counters_window_end", "window_end"),)

    key: str = Field(sa_column=Column(String(64), primary_key=True))  # sha256 of the four parts
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    scope: str = Field(sa_column=Column(Text, nullable=False))  # root id or "<root>:<app instance>"
    name: str = Field(sa_column=Column(Text, nullable=False))
    consumer: str = Field(sa_column=Column(Text, nullable=False))
    window_start: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch milliseconds
    window_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))


class RateTake(SQLModel, table=True):
    """The answer given to one ``rateLimit`` execution (its ``take_id``), recorded in the take's
    transaction: a local activity retried after its commit answers the same and counts once."""

    __tablename__ = "rate_takes"
    __table_args__ = (Index("ix_rate_takes_expires", "expires_at"),)

    take_id: str = Field(sa_column=Column(String(64), primary_key=True))
    ok: bool = Field(sa_column=Column(Boolean, nullable=False))
    remaining: int = Field(sa_column=Column(Integer, nullable=False))
    window_end: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch milliseconds
    expires_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch milliseconds


class UserTopic(SQLModel, table=True):
    """A user topic of a workspace (``createUserTopic``): events with ``target.userTopic`` reach
    its members (core/events/user_topics.py)."""

    __tablename__ = "user_topics"

    workspace_id: str = Field(sa_column=Column(String(32), primary_key=True))
    topic: str = Field(sa_column=Column(String(200), primary_key=True))
    created_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_at: datetime = _ts()


class UserTopicMember(SQLModel, table=True):
    """A member of a user topic (``createUserTopic``, ``joinUserTopic``)."""

    __tablename__ = "user_topic_members"
    __table_args__ = (Index("ix_user_topic_members_user", "workspace_id", "user_id"),)

    workspace_id: str = Field(sa_column=Column(String(32), primary_key=True))
    topic: str = Field(sa_column=Column(String(200), primary_key=True))
    user_id: str = Field(sa_column=Column(String(200), primary_key=True))
    joined_at: datetime = _ts()


class App(SQLModel, table=True):
    """A published workspace. The slug is frozen after the first publish (DECISIONS 17)."""

    __tablename__ = "apps"
    __table_args__ = (
        Index("ux_apps_workspace_live", "workspace_id", unique=True,
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
    )

    slug: str = Field(primary_key=True, max_length=200)
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    description: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    photo: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class AppVersion(SQLModel, table=True):
    """An immutable copy of the source workspace's definition at publish time."""

    __tablename__ = "app_versions"
    __table_args__ = (Index("ux_app_versions_name", "app_slug", "name", unique=True),)

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    app_slug: str = Field(sa_column=Column(String(200), nullable=False))
    name: str = Field(sa_column=Column(String(64), nullable=False))
    description: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    workspace_revision: int = 0
    document: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    created_at: datetime = _ts()


class Blob(SQLModel, table=True):
    """Values too large for a Temporal payload, passed by reference."""

    __tablename__ = "blobs"

    id: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _ts()


class WorkspaceFile(SQLModel, table=True):
    """A workspace file (docs/files.md): its record here, its bytes in ``blobs`` as the chunks
    ``<blob_id>/0`` … ``<blob_id>/<chunks - 1>`` (so every api replica serves it). The share
    token is stored as its SHA-256 digest only."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_ws_created", "workspace_id", "created_at"),
                      Index("ix_files_expires", "expires_at"))

    id: str = Field(primary_key=True, max_length=32)
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    mimetype: str = Field(sa_column=Column(String(255), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    blob_id: str = Field(sa_column=Column(String(36), nullable=False))
    chunks: int = Field(sa_column=Column(Integer, nullable=False))
    public: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    share_token_digest: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # ``metadata`` is SQLModel's own attribute: the column keeps the name, the field does not.
    file_metadata: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSONType, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    created_at: datetime = _ts()
    created_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))


class ScheduleEntry(SQLModel, table=True):
    """A Temporal Schedule created for a cron of an automation (DECISIONS 4, 21): the registry
    reconciliation compares with the wanted set, so nothing is duplicated or left behind."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_workspace", "workspace_id"),)

    id: str = Field(sa_column=Column(String(400), primary_key=True))  # the Temporal schedule id
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    instance: str = Field(default="", sa_column=Column(String(300), nullable=False))  # '' = root
    automation: str = Field(sa_column=Column(String(200), nullable=False))
    cron: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = _ts()


class WorkspaceVersion(SQLModel, table=True):
    """A named snapshot of a workspace definition (spec §10 versions routes)."""

    __tablename__ = "workspace_versions"
    __table_args__ = (Index("ux_workspace_versions_name", "workspace_id", "name", unique=True),)

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(64), nullable=False))
    description: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    revision: int = 0  # the workspace revision it was taken from
    document: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    created_at: datetime = _ts()


class WorkspaceMember(SQLModel, table=True):
    """A user's role on a workspace (owner, editor or a custom role of its security.yml)."""

    __tablename__ = "workspace_members"

    workspace_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=200)
    role: str = Field(sa_column=Column(String(100), nullable=False))
    created_at: datetime = _ts()


class WorkspaceSecret(SQLModel, table=True):
    """A workspace secret, encrypted at rest (Fernet, key from settings)."""

    __tablename__ = "workspace_secrets"

    workspace_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(primary_key=True, max_length=200)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted JSON
    type: str = Field(default="string", max_length=16)
    description: str | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class User(SQLModel, table=True):
    """A registered user (issue 6, identity); passwords are argon2 hashes (core/access/identity.py)."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=32)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = _ts()
    is_superadmin: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))


class AccessToken(SQLModel, table=True):
    """A named personal access token: its id is the ``jti`` of the signed token, checked on each use."""

    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_user", "user_id"),)

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ApiKey(SQLModel, table=True):
    """A REST API key of a workspace (spec §8.5): rules added to any request sending it in
    ``x-prismeai-api-key``. Only the key's SHA-256 digest is stored; the key is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_workspace", "workspace_id"),
                      Index("ix_api_keys_digest", "digest", unique=True))

    id: str = Field(primary_key=True, max_length=32)
    workspace_id: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    rules: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    disabled: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
