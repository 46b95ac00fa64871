"""Per-workspace token buckets shared by every worker (spec §9, DECISIONS 15).

Nothing is rejected: a run that overdraws a bucket is told how long to wait, and waits
(in workflow time). Buckets live in the database so all workers of a deployment share them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import insert_for
from core.models import RateBucket


@dataclass(frozen=True)
class Bucket:
    rate: float  # tokens per second
    burst: float  # capacity (the bucket starts full)


def default_buckets(automations: tuple[float, float] = (100, 400), emits: tuple[float, float] = (30, 100),
                    fetchs: tuple[float, float] = (50, 200),
                    repeats: tuple[float, float] = (1000, 4000)) -> dict[str, Bucket]:
    return {"automations": Bucket(*automations), "emits": Bucket(*emits), "fetchs": Bucket(*fetchs),
            "repeats": Bucket(*repeats)}


async def take(session: AsyncSession, workspace_id: str, charges: dict[str, int],
               buckets: dict[str, Bucket], now: float | None = None) -> float:
    """Take tokens for each kind; returns the seconds the caller must wait (0 if none)."""
    now = time.time() if now is None else now
    wait = 0.0
    dialect = session.bind.dialect.name if session.bind is not None else ""
    postgres, insert = dialect == "postgresql", insert_for(dialect)
    for kind in sorted(k for k, n in charges.items() if n > 0 and k in buckets):
        bucket = buckets[kind]
        if bucket.rate <= 0:
            continue  # a rate of 0 turns that limit off
        # Create the bucket full if missing; concurrent creators do not collide.
        await session.exec(insert(RateBucket).values(  # type: ignore[call-overload]
            workspace_id=workspace_id, kind=kind, tokens=bucket.burst, updated=now).on_conflict_do_nothing(
            index_elements=["workspace_id", "kind"]))
        stmt = select(RateBucket).where(RateBucket.workspace_id == workspace_id, RateBucket.kind == kind)
        row = (await session.exec(stmt.with_for_update() if postgres else stmt)).one()
        tokens = min(bucket.burst, row.tokens + max(0.0, now - row.updated) * bucket.rate) - charges[kind]
        row.tokens, row.updated = tokens, now
        session.add(row)
        if tokens < 0:
            wait = max(wait, -tokens / bucket.rate)
    await session.commit()
    return wait
