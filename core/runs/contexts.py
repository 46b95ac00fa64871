"""Persisted contexts (spec §5): global, user, session and run, written as operations.

A write is an operation ``{id, kind, key, type, path, value}`` applied inside a transaction
to the stored object, so parallel branches and child runs never lose each other's updates,
and the operation id makes a retried flush apply a push/merge once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.infra.db import insert_for
from core.infra.tables import Context, ContextOp
from language.variables import assign_path, remove_path
from schemas.runs import ContextKeys, ContextWrite

PERSISTED_KINDS = ("global", "user", "session", "run")


# Synchronous units of work for core.infra.db.Database.run_sync (which may run one twice after meeting
# a locked SQLite file: both are safe to repeat; writes apply once by operation id).


def load_contexts(session: Session, keys: ContextKeys) -> dict[str, dict[str, Any]]:
    wanted = [("global", "")]
    if keys.user_id:
        wanted.append(("user", keys.user_id))
    if keys.session_key:
        wanted.append(("session", keys.session_key))
    if keys.correlation_id:
        wanted.append(("run", keys.correlation_id))
    now = datetime.now(UTC)
    out: dict[str, dict[str, Any]] = {kind: {} for kind, _ in wanted}
    stmt = select(Context).where(Context.workspace_id == keys.scope,
                                 col(Context.kind).in_([k for k, _ in wanted]),
                                 col(Context.key).in_([key for _, key in wanted]))
    for row in session.exec(stmt).all():
        expires = row.expires_at
        if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) < now:
            continue
        if (row.kind, row.key) in wanted:
            out[row.kind] = dict(row.value)
    return out


def apply_writes(session: Session, writes: list[ContextWrite]) -> int:
    """Apply each write once (by id), in order, each in the caller's transaction."""
    applied = 0
    dialect = session.get_bind().dialect.name
    insert = insert_for(dialect)
    now = datetime.now(UTC)
    for write in writes:
        fresh = session.exec(insert(ContextOp).values(id=write.id, created_at=now)  # type: ignore[call-overload]
                                   .on_conflict_do_nothing(index_elements=["id"]))
        if fresh.rowcount == 0:
            continue  # already applied by an earlier attempt
        stmt = select(Context).where(Context.workspace_id == write.scope, Context.kind == write.kind,
                                     Context.key == write.key)
        if dialect == "postgresql":
            stmt = stmt.with_for_update()
        row = session.exec(stmt).first()
        value: dict[str, Any] = dict(row.value) if row is not None else {}
        if row is not None and row.expires_at is not None:
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
            if expires < now:
                value = {}
        holder = {write.kind: value}
        if write.type == "delete":
            remove_path(holder, {}, [write.kind, *write.path])
        else:
            assign_path(holder, {}, [write.kind, *write.path], write.value, write.type)
        expires_at = now + timedelta(seconds=write.ttl_seconds) if write.ttl_seconds else None
        if row is None:
            session.add(Context(workspace_id=write.scope, kind=write.kind, key=write.key,
                                value=holder[write.kind], expires_at=expires_at, updated_at=now))
        else:
            row.value = holder[write.kind]
            row.expires_at = expires_at
            row.updated_at = now
            session.add(row)
        session.flush()
        applied += 1
    return applied
