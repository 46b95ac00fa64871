"""Changing a workspace's root fields (``PATCH /v2/workspaces/{id}``): a new revision with
``workspaces.updated``, and ``workspaces.configured`` / ``workspaces.blocks.updated`` when the config
or the blocks change (their secret config fields hidden, issue 14)."""

from __future__ import annotations

from functools import partial
from typing import Any

from core.apps.tree import config_secret_paths
from core.workspaces.documents import hide_config_secrets
from core.workspaces.service import WorkspaceService
from schemas.dsul import INDEX_FIELDS
from schemas.errors import InvalidWorkspaceError

# The root fields a PATCH may change: those of index.yml but its bookkeeping.
PATCHABLE_FIELDS = INDEX_FIELDS - {"id", "createdAt", "updatedAt", "createdBy", "updatedBy"}


async def patch_root_fields(workspaces: WorkspaceService, workspace_id: str, patch: dict[str, Any], *,
                            actor: str | None = None) -> dict[str, Any]:
    """The workspace's detail after the change (serialized per workspace, retried on conflicts)."""
    return await workspaces.retrying(  # type: ignore[no-any-return]
        partial(_patch, workspaces), workspace_id, patch, actor=actor)


async def _patch(workspaces: WorkspaceService, workspace_id: str, patch: dict[str, Any], *,
                 actor: str | None = None) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise InvalidWorkspaceError("The body must be an object", [{"path": "body", "message": "must be an object"}])
    unknown = sorted(set(patch) - PATCHABLE_FIELDS - {"id"})
    if unknown:
        raise InvalidWorkspaceError(f"Unknown workspace field(s): {', '.join(unknown)}",
                                    [{"path": f"body.{k}", "message": "unknown field"} for k in unknown])
    src = await workspaces.source(workspace_id)
    old_config, old_slug, old_blocks = src.index.get("config"), src.index.get("slug"), src.index.get("blocks")
    old_paths = config_secret_paths(src.index)
    src.index.update({k: v for k, v in patch.items() if k != "id"})
    paths = sorted({*old_paths, *config_secret_paths(src.index)})
    root = workspaces.dsul_root(workspace_id, src.index)
    payload: dict[str, Any] = {"workspace": {**root, "config": hide_config_secrets(root.get("config"), paths)}
                               if "config" in root else root}
    if src.index.get("slug") != old_slug:
        payload["oldSlug"] = old_slug
    more: list[tuple[str, dict[str, Any]]] = []
    if "blocks" in patch and patch["blocks"] != old_blocks:
        slug = src.index.get("slug") or (await workspaces.get_row(workspace_id)).slug
        more.append(("workspaces.blocks.updated", {"blocks": patch["blocks"], "workspaceSlug": slug}))
    if "config" in patch and patch["config"] != old_config:
        more.append(("workspaces.configured", {"config": hide_config_secrets(patch["config"], paths),
                                               "oldConfig": hide_config_secrets(old_config, paths)}))
    await workspaces.replace(workspace_id, src, actor=actor, event="workspaces.updated", payload=payload,
                             more_events=more)
    return await workspaces.detail(workspace_id)
