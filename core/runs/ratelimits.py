"""Token buckets shared by every process through the database (spec §9, DECISIONS 15).

Per-workspace run limits (:func:`take`) reject nothing: a run that overdraws a bucket is told
how long to wait, and waits (in workflow time). Login attempts (``core.access.login_limits``) use
:func:`reserve`, which refuses instead. Buckets live in the database so all workers and api
processes of a deployment share them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.infra.db import insert_for
from core.infra.tables import RateBucket


@dataclass(frozen=True)
class Bucket:
    rate: float  # tokens per second
    burst: float  # capacity (the bucket starts full)


def default_buckets(automations: tuple[float, float] = (100, 400), emits: tuple[float, float] = (30, 100),
                    fetchs: tuple[float, float] = (50, 200),
                    repeats: tuple[float, float] = (1000, 4000)) -> dict[str, Bucket]:
    return {"automations": Bucket(*automations), "emits": Bucket(*emits), "fetchs": Bucket(*fetchs),
            "repeats": Bucket(*repeats)}


async def _refilled(session: AsyncSession, scope: str, kind: str, bucket: Bucket, now: float,
                    postgres: bool) -> RateBucket:
    """The bucket's row (created full if missing, locked on PostgreSQL), refilled up to ``now``."""
    insert = insert_for("postgresql" if postgres else "sqlite")
    # Create the bucket full if missing; concurrent creators do not collide.
    await session.exec(insert(RateBucket).values(  # type: ignore[call-overload]
        workspace_id=scope, kind=kind, tokens=bucket.burst, updated=now).on_conflict_do_nothing(
        index_elements=["workspace_id", "kind"]))
    stmt = select(RateBucket).where(RateBucket.workspace_id == scope, RateBucket.kind == kind)
    row = (await session.exec(stmt.with_for_update() if postgres else stmt)).one()
    row.tokens = min(bucket.burst, row.tokens + max(0.0, now - row.updated) * bucket.rate)
    row.updated = now
    session.add(row)
    return row


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def take(session: AsyncSession, workspace_id: str, charges: dict[str, int],
               buckets: dict[str, Bucket], now: float | None = None) -> float:
    """Take tokens for each kind; returns the seconds the caller must wait (0 if none)."""
    now = time.time() if now is None else now
    wait = 0.0
    postgres = _is_postgres(session)
    for kind in sorted(k for k, n in charges.items() if n > 0 and k in buckets):
        bucket = buckets[kind]
        if bucket.rate <= 0:
            continue  # a rate of 0 turns that limit off
        row = await _refilled(session, workspace_id, kind, bucket, now, postgres)
        row.tokens -= charges[kind]
        if row.tokens < 0:
            wait = max(wait, -row.tokens / bucket.rate)
    await session.commit()
    return wait


async def reserve(session: AsyncSession, buckets: dict[tuple[str, str], Bucket], now: float | None = None) -> float:
    """Take one token from every ``(scope, kind)`` bucket if each has one, else none: returns 0
    when taken, otherwise the seconds until every bucket holds a token again. Unlike
    :meth:`take` (runs wait), this refuses: for requests that are answered 429."""
    now = time.time() if now is None else now
    postgres = _is_postgres(session)
    rows = [(await _refilled(session, scope, kind, bucket, now, postgres), bucket)
            for (scope, kind), bucket in sorted(buckets.items())]  # one lock order: no deadlock
    wait = max((0.0, *((1 - row.tokens) / bucket.rate for row, bucket in rows if row.tokens < 1)))
    if wait == 0:
        for row, _ in rows:
            row.tokens -= 1
    await session.commit()
    return wait


async def give_back(session: AsyncSession, buckets: dict[tuple[str, str], Bucket], now: float | None = None) -> None:
    """Return the token :func:`reserve` took (the attempt turned out not to count)."""
    now = time.time() if now is None else now
    postgres = _is_postgres(session)
    for (scope, kind), bucket in sorted(buckets.items()):
        row = await _refilled(session, scope, kind, bucket, now, postgres)
        row.tokens = min(bucket.burst, row.tokens + 1)
    await session.commit()


async def forget_full(session: AsyncSession, scope_prefix: str, idle_seconds: float, now: float | None = None) -> int:
    """Delete the buckets of scopes starting with ``scope_prefix`` untouched for ``idle_seconds``
    (refilled by then: the same as missing). Returns the count."""
    now = time.time() if now is None else now
    result = await session.exec(delete(RateBucket).where(  # type: ignore[call-overload]
        col(RateBucket.workspace_id).startswith(scope_prefix), col(RateBucket.updated) < now - idle_seconds))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
