"""The check of every management request (spec §8.4): who calls, and whether their rights on the
workspace allow what the route needs (each route declares it: ``api/permissions.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from core.access import forwarded
from core.access.apikeys import KeyGrant
from core.access.operations import WorkspacePermission
from core.access.permissions.checks import can, member_permissions
from core.access.permissions.permissions import Permissions
from core.services import Services
from core.workspaces.security_write import SecurityWrite
from schemas.errors import ForbiddenError


@dataclass(frozen=True)
class Actor:
    """Who calls: a user (or anonymous session) from a token, the admin token (a superadmin), or
    nobody but an API key (``id`` empty). ``api_key`` adds its rules on its own workspace.
    ``workspace_scope``: the caller used a forwarded workspace token (core/access/forwarded.py),
    which acts only on that workspace and never grants what ``forwarded.refusal`` names."""

    id: str
    session_id: str | None = None
    superadmin: bool = False
    anonymous: bool = False
    api_key: KeyGrant | None = None
    workspace_scope: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.id or None


def check_forwarded(actor: Actor, workspace_id: str, action: str, subject_type: str = "workspaces") -> None:
    """403 when a forwarded workspace token may not do ``action`` here (nothing for other callers)."""
    if actor.workspace_scope is None:
        return
    reason = forwarded.refusal(actor.workspace_scope, workspace_id, action, subject_type)
    if reason is not None:
        raise ForbiddenError(reason, {"action": action, "subject": subject_type, "workspaceId": workspace_id})


async def check_permission(services: Services, actor: Actor, workspace_id: str,
                           permission: WorkspacePermission) -> None:
    """Refuse (403) what the actor's rights on the workspace do not allow (404 for an unknown
    workspace). Routes declare the permission they need (``api/permissions.py``)."""
    check_forwarded(actor, workspace_id, permission.action, permission.subject_type)
    if actor.superadmin:
        return
    perms = await actor_permissions(services, actor, workspace_id)
    if not can(perms, permission.action, permission.subject_type, permission.subject(workspace_id)):
        raise ForbiddenError(f"Not allowed to {permission.action} {permission.subject_type} of workspace "
                             f"'{workspace_id}'", {"action": permission.action, "subject": permission.subject_type,
                                                   "workspaceId": workspace_id})


async def actor_permissions(services: Services, actor: Actor, workspace_id: str) -> Permissions:
    """The actor's permissions on one workspace: platform role, role held on the workspace, the
    rules of its ``security.yml`` and of the API key sent, when the key belongs to this workspace."""
    check_forwarded(actor, workspace_id, "read")
    role = await services.members.role_of(workspace_id, actor.user_id)
    source = await services.workspaces.source(workspace_id)  # 404 for an unknown workspace
    key_rules = [actor.api_key.rules] if actor.api_key and actor.api_key.workspace_id == workspace_id else []
    return member_permissions(workspace_id, source.security, user_id=actor.user_id, session_id=actor.session_id,
                              superadmin=actor.superadmin, role=role, api_keys=key_rules)


async def require_on_workspace(services: Services, actor: Actor, workspace_id: str, action: str) -> None:
    """``action`` on a workspace named in a body or found through another object (publishing)."""
    check_forwarded(actor, workspace_id, action)
    if actor.superadmin:
        return
    if not can(await actor_permissions(services, actor, workspace_id), action, "workspaces", {"id": workspace_id}):
        raise ForbiddenError(f"Not allowed to {action} workspace '{workspace_id}'",
                             {"action": action, "subject": "workspaces", "workspaceId": workspace_id})


def owner_of_new_workspace(actor: Actor) -> str | None:
    """The user who becomes the owner of the workspace ``actor`` creates (spec §8.2): the caller,
    unless a superadmin (who needs no role) or without a user (an API key alone). A forwarded
    workspace token creates none: it acts on its own workspace only."""
    if actor.workspace_scope is not None:
        raise ForbiddenError(f"A forwarded workspace token acts only on workspace '{actor.workspace_scope}'",
                             {"workspaceId": actor.workspace_scope})
    return actor.id if not actor.superadmin and actor.id else None


async def security_write(services: Services, actor: Actor, workspace_id: str, keep: bool) -> SecurityWrite:
    """How a definition write by ``actor`` may treat security.yml (issue 14): kept as it is when
    asked (``?keepSecurity=true``), changed only by a caller who may ``manage_security``."""
    if keep:
        return SecurityWrite.KEEP
    if actor.workspace_scope is not None:  # never manage_security (core/access/forwarded.py)
        return SecurityWrite.REFUSE
    if actor.superadmin or can(await actor_permissions(services, actor, workspace_id), "manage_security",
                               "workspaces", {"id": workspace_id}):
        return SecurityWrite.ALLOW
    return SecurityWrite.REFUSE
