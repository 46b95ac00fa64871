"""The hard delete of a workspace: its revisions, events, contexts, waits, members, API keys and
versions (the conformance runner's clean slate; retention deletes events itself)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col

from core.infra.tables import (
    ApiKey,
    Context,
    PendingWaitType,
    Wait,
    Workspace,
    WorkspaceMember,
    WorkspaceRevision,
    WorkspaceVersion,
)
from core.infra.tables import Event as EventRow
from core.workspaces.service import WorkspaceService


async def purge_workspace(workspaces: WorkspaceService, workspace_id: str) -> None:
    """Hard delete (tests, the conformance runner): the rows are gone, the caches forgotten."""
    scoped = (col(Context.workspace_id) == workspace_id) | col(Context.workspace_id).startswith(f"{workspace_id}:")
    async with workspaces.db.session() as session:
        for statement in (delete(EventRow).where(col(EventRow.workspace_id) == workspace_id),
                          delete(Wait).where(col(Wait.workspace_id) == workspace_id),
                          delete(PendingWaitType).where(col(PendingWaitType.workspace_id) == workspace_id),
                          delete(WorkspaceMember).where(col(WorkspaceMember.workspace_id) == workspace_id),
                          delete(ApiKey).where(col(ApiKey.workspace_id) == workspace_id),
                          delete(Context).where(scoped),
                          delete(WorkspaceRevision).where(col(WorkspaceRevision.workspace_id) == workspace_id),
                          delete(WorkspaceVersion).where(col(WorkspaceVersion.workspace_id) == workspace_id),
                          delete(Workspace).where(col(Workspace.id) == workspace_id)):
            await session.exec(statement)  # type: ignore[call-overload]
        await session.commit()
    workspaces.forget(workspace_id)
    await workspaces.changed(workspace_id)
