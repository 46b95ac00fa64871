"""Duplicating a workspace (``POST …/duplicate``, ``…/versions/{v}/duplicate``)."""

from __future__ import annotations

import copy

from core.infra.tables import Workspace
from core.workspaces.service import WorkspaceService
from schemas.dsul import WorkspaceSource


# -- automations ------------------------------------------------------------------
# -- duplication ------------------------------------------------------------------
async def duplicate_workspace(workspaces: WorkspaceService, workspace_id: str, *, revision: int | None = None,
                              actor: str | None = None, owner: str | None = None) -> Workspace:
    """Copy a workspace definition (current or ``revision``) under a new name and slug, owned
    by ``owner`` like any new workspace (nobody's role on the original is copied); secrets,
    contexts and events stay behind. Emits ``workspaces.duplicated`` into the copy."""
    row = await workspaces.get_row(workspace_id)
    doc = copy.deepcopy(await workspaces.document(row.id, revision or row.revision))
    doc["name"] = f"{str(doc.get('name') or row.name)[:55].rstrip()} copy"
    for key in ("slug", "id", "customDomains"):
        doc.pop(key, None)
    new = await workspaces.create(WorkspaceSource.from_document(doc), actor=actor, owner=owner)
    new_doc = await workspaces.document(new.id, new.revision)
    await workspaces._record(new.id, "workspaces.duplicated", {
        "workspace": workspaces.dsul_root(new.id, new_doc),
        "fromWorkspace": {"name": row.name, "slug": row.slug, "id": row.id}}, actor)
    return new
