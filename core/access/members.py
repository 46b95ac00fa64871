"""Workspace members: the role a user holds on a workspace (owner, editor, custom roles)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, delete, select

from core.infra.db import Database, insert_for
from core.infra.tables import WorkspaceMember


class MemberService:
    def __init__(self, db: Database):
        self.db = db

    async def set_role(self, workspace_id: str, user_id: str, role: str) -> None:
        insert = insert_for(self.db.engine.dialect.name)
        stmt = insert(WorkspaceMember).values(workspace_id=workspace_id, user_id=user_id, role=role,
                                              created_at=datetime.now(UTC))
        stmt = stmt.on_conflict_do_update(index_elements=["workspace_id", "user_id"], set_={"role": role})
        async with self.db.session() as session:
            await session.exec(stmt)  # type: ignore[call-overload]
            await session.commit()

    async def remove(self, workspace_id: str, user_id: str) -> None:
        async with self.db.session() as session:
            await session.exec(delete(WorkspaceMember).where(  # type: ignore[call-overload]
                col(WorkspaceMember.workspace_id) == workspace_id, col(WorkspaceMember.user_id) == user_id))
            await session.commit()

    async def role_of(self, workspace_id: str, user_id: str | None) -> str | None:
        if not user_id:
            return None
        async with self.db.session() as session:
            row = await session.get(WorkspaceMember, (workspace_id, user_id))
        return row.role if row is not None else None

    async def workspaces_of(self, user_id: str) -> set[str]:
        async with self.db.session() as session:
            rows = (await session.exec(select(WorkspaceMember.workspace_id).where(
                WorkspaceMember.user_id == user_id))).all()
        return set(rows)

    async def list(self, workspace_id: str) -> dict[str, str]:
        async with self.db.session() as session:
            rows = (await session.exec(select(WorkspaceMember).where(
                WorkspaceMember.workspace_id == workspace_id))).all()
        return {r.user_id: r.role for r in rows}
