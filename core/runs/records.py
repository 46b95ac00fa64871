"""The ``runs`` table (docs/runs.md): one record per automation run, written by the run's flushes
in the event writer's batches (:func:`upsert_rows`), listed and read by the runs routes.

A record's JSON shape (``public``) is the one the API answers; ``input``, ``output`` and
``trace`` are only shown to callers with ``read`` on the workspace (``full=True``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlmodel.ext.asyncio.session import AsyncSession

from core.infra.db import insert_for
from core.infra.tables import RunRow, iso
from schemas.errors import TidewayError
from schemas.events import json_size
from schemas.runs import RUN_STATUSES, RunRecord

RUNS = RunRow.__table__  # type: ignore[attr-defined]
BLOB_KEY = "$blob"  # a large input or output is stored as a blob: {"$blob": id, "$chunks": n, "bytes": n}
MAX_LIMIT = 100


class InvalidRunQueryError(TidewayError):
    status = 400


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def record_row(record: RunRecord) -> dict[str, Any]:
    """The columns a report sets: every report sets the status and the trace; the first one the
    input; the last one the end, the output and the error."""
    row: dict[str, Any] = {
        "id": record.id, "workspace_id": record.workspace_id, "workflow_id": record.workflow_id,
        "temporal_run_id": record.temporal_run_id, "revision": record.revision, "automation": record.automation,
        "instance": record.instance, "trigger_type": record.trigger_type, "trigger_value": record.trigger_value,
        "correlation_id": record.correlation_id, "user_id": record.user_id, "status": record.status,
        "started_at": _moment(record.started_at), "rerun_of": record.rerun_of, "trace": record.trace,
    }
    if record.has_input:
        row["input"] = record.input
    if record.ended_at is not None:
        row.update(ended_at=_moment(record.ended_at), duration_ms=record.duration_ms, output=record.output,
                   error=record.error)
    return row


def is_large(value: Any, limit: int) -> bool:
    return value is not None and json_size(value) > limit


def upsert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update run records in the connection's transaction (the caller commits): one
    statement per set of columns (the first report of a run carries the input, later ones not)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for columns, values in groups.items():
        conn.execute(_upsert(conn.dialect.name, columns), values)


@functools.cache
def _upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """One statement per dialect and set of columns, built once: building ``excluded`` for each
    write cost more than the write itself (1.4 ms of CPU per run on the webhook hot path)."""
    stmt = insert_for(dialect)(RUNS)
    return stmt.on_conflict_do_update(index_elements=["id"], set_={
        name: stmt.excluded[name] for name in columns if name != "id"})


@dataclass
class RunQuery:
    automation: str | None = None
    status: str | None = None
    trigger_type: str | None = None
    correlation_id: str | None = None
    user_id: str | None = None
    workflow_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    page: int = 0
    limit: int = 20

    @classmethod
    def parse(cls, params: dict[str, str]) -> RunQuery:
        """The query of ``GET …/runs``; every problem at once, as a 400 naming the parameters."""
        problems: list[str] = []
        query = cls(automation=params.get("automation") or None, trigger_type=params.get("triggerType") or None,
                    correlation_id=params.get("correlationId") or None, user_id=params.get("userId") or None,
                    workflow_id=params.get("workflowId") or None)
        status = params.get("status") or None
        if status is not None and status not in RUN_STATUSES:
            problems.append(f"status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")
        query.status = status
        for name, attr in (("afterDate", "after"), ("beforeDate", "before")):
            raw = params.get(name)
            if raw:
                try:
                    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
                except ValueError:
                    problems.append(f"{name} must be an ISO 8601 date, got {raw!r}")
                    continue
                setattr(query, attr, moment if moment.tzinfo else moment.replace(tzinfo=None))
        for name, low, high in (("page", 0, 10_000), ("limit", 1, MAX_LIMIT)):
            raw = params.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name} must be an integer, got {raw!r}")
                continue
            if not low <= value <= high:
                problems.append(f"{name} must be between {low} and {high}, got {value}")
                continue
            setattr(query, name, value)
        if problems:
            raise InvalidRunQueryError("Invalid runs query: " + "; ".join(problems), {"problems": problems})
        return query


async def list_runs(session: AsyncSession, workspace_id: str, query: RunQuery) -> list[RunRow]:
    stmt = select(RunRow).where(RUNS.c.workspace_id == workspace_id)
    for column, value in (("automation", query.automation), ("status", query.status),
                          ("trigger_type", query.trigger_type), ("correlation_id", query.correlation_id),
                          ("user_id", query.user_id), ("workflow_id", query.workflow_id)):
        if value is not None:
            stmt = stmt.where(RUNS.c[column] == value)
    if query.after is not None:
        stmt = stmt.where(RUNS.c.started_at >= query.after)
    if query.before is not None:
        stmt = stmt.where(RUNS.c.started_at <= query.before)
    stmt = stmt.order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).offset(query.page * query.limit).limit(query.limit)
    return list((await session.execute(stmt)).scalars().all())


async def get_run(session: AsyncSession, workspace_id: str, run_id: str) -> RunRow | None:
    row = await session.get(RunRow, run_id)
    return row if row is not None and row.workspace_id == workspace_id else None


def summary(row: RunRow) -> dict[str, Any]:
    """A run as listed: who, what, when, how it ended (without input, output and trace)."""
    trigger: dict[str, Any] = {"type": row.trigger_type}
    if row.trigger_value is not None:
        trigger["value"] = row.trigger_value
    out: dict[str, Any] = {
        "id": row.id, "workflowId": row.workflow_id, "temporalRunId": row.temporal_run_id,
        "workspaceId": row.workspace_id, "automation": row.automation, "appInstance": row.instance,
        "trigger": trigger, "correlationId": row.correlation_id, "userId": row.user_id, "status": row.status,
        "startedAt": iso(row.started_at), "endedAt": iso(row.ended_at) if row.ended_at else None,
        "duration": row.duration_ms, "revision": row.revision, "rerunOf": row.rerun_of,
    }
    return out


def details(row: RunRow) -> dict[str, Any]:
    """The parts only readers of the workspace see: input, output or error, trace."""
    out: dict[str, Any] = {"input": row.input, "trace": row.trace or {"level": "off", "steps": [], "dropped": 0}}
    if row.error is not None:
        out["error"] = row.error
    elif row.status == "succeeded":
        out["output"] = row.output
    return out
