"""The checks the API and the runtime call (spec §8.4).

Build one :class:`~core.access.permissions.Permissions` per request (or run) and workspace with
:func:`workspace_permissions`, then ask it:

* :func:`can` / :func:`require` for any action (``WORKSPACE_ACTIONS`` maps the workspace routes);
* :func:`automation_executable` / :func:`automation_testable` before every run and nested call;
* :func:`event_readable` / :func:`event_creatable` for event reads and user-sent events.

A *user* is ``{id, role?, sessionId?, topics?, authData?}``; ``role: superadmin`` is the platform
role. A *workspace* is ``{id, createdBy?, permissions?: {<userId>|"*": {role?, policies?}}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .defaults import (
    CONTEXTS_UPDATED,
    GLOBAL_RULES,
    OWNER,
    SUBJECT_TYPES,
    SUPERADMIN,
    initial_security,
)
from .dsul import api_key_rules, auth_roles, workspace_roles
from .permissions import Permissions, PermissionsConfig

WORKSPACE = "workspaces"

# Workspace route family -> action checked on the workspace subject.
WORKSPACE_ACTIONS: dict[str, str] = {
    "read": "read",                        # GET workspace, automations, app instances, versions, pages
    "update": "update",                    # PATCH workspace; automation / app-instance CRUD; versions
    "delete": "delete",                    # DELETE workspace (owner)
    "permissions": "manage_permissions",   # sharing, API keys, GET security/roles
    "security": "manage_security",         # GET/PUT security
    "repositories": "manage_repositories",
    "usage": "get_usage",
    "search": "aggregate_search",
}


def workspace_config(workspace_id: str, security: Mapping[str, Any] | None = None) -> PermissionsConfig:
    """Tideway's configuration for one workspace. ``security=None`` means the initial security
    of §8.2 (what a new workspace gets); pass ``{}`` for "no DSUL rules at all"."""
    sec = initial_security() if security is None else security
    return PermissionsConfig(
        subjects={t: ({"author": {"assignRole": OWNER}} if t == WORKSPACE else {}) for t in SUBJECT_TYPES},
        rbac=workspace_roles(workspace_id, sec),
        abac=list(GLOBAL_RULES),
    )


def workspace_subject(workspace: Mapping[str, Any]) -> dict[str, Any]:
    """The subject of a workspace check: its id, author and sharing entries (plus its fields)."""
    subject = dict(workspace)
    subject.setdefault("permissions", {})
    return subject


def workspace_permissions(user: Mapping[str, Any], workspace: Mapping[str, Any],
                          security: Mapping[str, Any] | None = None, *,
                          api_keys: Sequence[Sequence[Mapping[str, Any]]] = ()) -> Permissions:
    """``user``'s permissions on ``workspace``: its platform role, the roles the workspace gives
    (owner by ``createdBy`` or sharing, shared role, ``*`` role, ``default`` for everyone, roles
    bound to ``user.authData``) and the rules of each API key sent (lists of raw key rules)."""
    workspace_id = str(workspace["id"])
    config = workspace_config(workspace_id, security)
    perms = Permissions(user, config)
    subject = workspace_subject(workspace)
    perms.pull_role_from_subject(WORKSPACE, subject)
    for role in auth_roles(initial_security() if security is None else security, user.get("authData")):
        perms.load_role(role, WORKSPACE, subject, record=True)
    for rules in api_keys:
        perms.load_rules(api_key_rules(workspace_id, rules), subject)
    return perms


def member_permissions(workspace_id: str, security: Mapping[str, Any] | None, *, user_id: str | None,
                       session_id: str | None = None, superadmin: bool = False, role: str | None = None,
                       api_keys: Sequence[Sequence[Mapping[str, Any]]] = ()) -> Permissions:
    """:func:`workspace_permissions` for a caller known by ids: ``role`` is the role the user holds
    on the workspace (its member row), ``None`` for none; no user id is an anonymous caller."""
    user: dict[str, Any] = {"id": user_id or "anonymous", "sessionId": session_id}
    if superadmin:
        user["role"] = SUPERADMIN
    sharing = {user_id: {"role": role}} if role and user_id else {}
    return workspace_permissions(user, {"id": workspace_id, "permissions": sharing}, security, api_keys=api_keys)


def is_superadmin(perms: Permissions) -> bool:
    return perms.user.get("role") == SUPERADMIN


def can(perms: Permissions, action: str, subject_type: str, subject: Mapping[str, Any] | None = None) -> bool:
    """``action`` on ``subject`` (of ``subject_type``) allowed? Pass the object whenever there is one."""
    return perms.can(action, subject_type, subject)


def require(perms: Permissions, action: str, subject_type: str, subject: Mapping[str, Any] | None = None) -> None:
    """Raise ``schemas.errors.ForbiddenError`` (403) unless allowed."""
    perms.throw_unless_can(action, subject_type, subject)


def automation_subject(automation: Mapping[str, Any], workspace_id: str) -> dict[str, Any]:
    """The subject of ``execute``/``test``: the automation, ``authorizations`` defaulting to
    ``{}``, ``runningWorkspaceId`` = the workspace whose run it is (the root workspace for the
    automations of its app instances)."""
    return {**automation, "authorizations": automation.get("authorizations") or {},
            "runningWorkspaceId": workspace_id}


def automation_executable(perms: Permissions, automation: Mapping[str, Any], workspace_id: str) -> bool:
    """``execute`` (every trigger and every nested call): anyone when the automation has no
    ``authorizations.action``; otherwise owner, editor, superadmin, or a DSUL/API-key rule
    ``{action: execute, subject: automations, conditions: {authorizations.action: {$in: [X]}}}``."""
    return perms.can("execute", "automations", automation_subject(automation, workspace_id))


def automation_testable(perms: Permissions, automation: Mapping[str, Any], workspace_id: str) -> bool:
    """``test`` (the test route): owner, editor, superadmin."""
    return perms.can("test", "automations", automation_subject(automation, workspace_id))


def event_readable(perms: Permissions, event: Mapping[str, Any]) -> bool:
    """``read`` on a stored event: owner/editor (editor: not ``apikeys.*``), the sender of an
    emit-topic event, its target (user, session, user topic), the DSUL rules; nobody reads
    ``runtime.contexts.updated``."""
    if event.get("type") == CONTEXTS_UPDATED:
        return False
    return perms.can("read", "events", event)


def event_creatable(perms: Permissions, event: Mapping[str, Any], *, native: bool = False) -> bool:
    """``create`` of a user-sent event, given as it will be stored (``source.workspaceId`` and
    ``source.serviceTopic: topic:runtime:emit`` set). ``native`` (the type is a platform event,
    e.g. ``schemas.events.is_native``): refused to all but superadmins."""
    if native and not is_superadmin(perms):
        return False
    return perms.can("create", "events", event)


def filter_readable_events(perms: Permissions, events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events of a listing or a subscription the caller may read."""
    return [e for e in events if event_readable(perms, e)]
