"""Built-in per-object sharing: ``subject.permissions[<target>] = {role?, policies?}``.

Targets are a user id, ``"*"`` (everyone, anonymous included) or ``"role:<name>"`` (holders of a
parent-subject role, see :meth:`Permissions.pull_role_from_subject`). These functions only
rewrite the subject; the permission check (``manage_permissions``) is done by
:meth:`Permissions.grant` / :meth:`Permissions.revoke`. They never mutate their input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import InvalidPermissionsError, UnknownRoleError

PUBLIC = "*"
ROLE_PREFIX = "role:"

Subject = Mapping[str, Any]


def target_to_id(target: Mapping[str, Any]) -> str:
    """``{public: true}`` -> ``*``; ``{role}`` -> ``role:<role>``; ``{id}`` -> the id."""
    if target.get("public"):
        return PUBLIC
    if isinstance(target.get("role"), str) and target["role"]:
        return ROLE_PREFIX + target["role"]
    if isinstance(target.get("id"), str) and target["id"]:
        return target["id"]
    raise InvalidPermissionsError("Invalid permission target", {"target": dict(target)})


def id_to_target(target_id: str) -> dict[str, Any]:
    if target_id == PUBLIC:
        return {"public": True, "id": PUBLIC}
    if target_id.startswith(ROLE_PREFIX):
        return {"role": target_id[len(ROLE_PREFIX):], "id": target_id}
    return {"id": target_id}


def entry(subject: Subject, target_id: str) -> dict[str, Any]:
    perms = subject.get("permissions")
    value = perms.get(target_id) if isinstance(perms, Mapping) else None
    return dict(value) if isinstance(value, Mapping) else {}


def _with_entry(subject: Subject, target_id: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    perms = subject.get("permissions")
    new_perms = dict(perms) if isinstance(perms, Mapping) else {}
    if value is None:
        new_perms.pop(target_id, None)
    else:
        new_perms[target_id] = dict(value)
    return {**subject, "permissions": new_perms}


def _actions(permission: str | Sequence[str]) -> list[str]:
    actions = [permission] if isinstance(permission, str) else list(permission)
    if not actions or not all(isinstance(a, str) and a for a in actions):
        raise InvalidPermissionsError("A permission is an action, a list of actions or a role")
    return actions


def grant_entry(subject: Subject, permission: Any, target_id: str,
                is_role: Callable[[str], bool]) -> dict[str, Any]:
    """Subject with ``permission`` granted to ``target_id``.

    ``permission``: a whole entry ``{role?, policies?}`` (replaces the target's entry), a role
    name (sets the role, keeps the policies) or action(s) (merged into the policies)."""
    if isinstance(permission, Mapping):
        extra = set(permission) - {"role", "policies"}
        if extra:
            raise InvalidPermissionsError(
                f"Only 'role' and 'policies' may be granted (found {', '.join(sorted(extra))})")
        role = permission.get("role")
        if role is not None and not (isinstance(role, str) and is_role(role)):
            raise UnknownRoleError(f"Unknown role '{role}'", {"role": role})
        policies = permission.get("policies")
        if policies is not None and not isinstance(policies, Mapping):
            raise InvalidPermissionsError("policies must be an object")
        return _with_entry(subject, target_id, {k: v for k, v in permission.items() if v is not None})
    current = entry(subject, target_id)
    if isinstance(permission, str) and is_role(permission):
        return _with_entry(subject, target_id, {**current, "role": permission})
    policies = dict(current.get("policies") or {})
    for action in _actions(permission):
        policies[action] = True
    return _with_entry(subject, target_id, {**current, "policies": policies})


def revoke_entry(subject: Subject, permission: Any, target_id: str,
                 is_role: Callable[[str], bool]) -> dict[str, Any]:
    """Subject with ``permission`` revoked from ``target_id``: ``all`` removes the entry; a role
    is removed only if it is the target's current role; action(s) are removed from the policies."""
    if permission == "all":
        return _with_entry(subject, target_id, None)
    current = entry(subject, target_id)
    if isinstance(permission, str) and is_role(permission):
        if current.get("role") != permission:
            return dict(subject)
        current.pop("role", None)
        return _with_entry(subject, target_id, current)
    revoked = set(_actions(permission))
    policies = {k: v for k, v in (current.get("policies") or {}).items() if k not in revoked}
    return _with_entry(subject, target_id, {**current, "policies": policies})
