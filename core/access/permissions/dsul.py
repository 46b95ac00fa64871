"""DSUL security (``security.yml``, spec §8.3): validation, workspace scoping, roles.

``security = {authorizations: {roles: {<name>: {description?, auth?}}, rules: [<rule>]}}`` with
``rule = {role?: str | [str], action, subject, conditions?, inverted?, reason?}``.

* :func:`validate_security` lists the problems (``{"path", "message"}``, the message naming the
  rule index) — empty when valid.
* :func:`scope_rules` ties rules to one workspace (a condition per subject type; ``create`` on
  events is limited to the emit topic, so native events can never be forged through a rule).
* :func:`workspace_roles` turns a workspace's security into role templates: DSUL rules get
  priority ``100 + index`` (capped at 999), rules without ``role`` go to the role ``default``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from language import ExpressionError, jsonmatch

from .conditions import condition_problems
from .defaults import (
    EDITOR,
    EDITOR_RULES,
    EMIT_TOPIC,
    EVERYONE_RULES,
    FIRST_DSUL_PRIORITY,
    LAST_DSUL_PRIORITY,
    OWNER,
    OWNER_PRIORITY,
    OWNER_RULES,
    SUPERADMIN,
    SUPERADMIN_RULES,
)
from .permissions import DEFAULT_ROLE
from .rules import ACTIONS, ALL, MANAGE, RoleTemplate

DSUL_SUBJECTS = ("workspaces", "pages", "files", "apps", "events", "automations")
SCOPE_FIELDS = {
    "workspaces": "id", "pages": "workspaceId", "files": "workspaceId", "apps": "workspaceId",
    "automations": "runningWorkspaceId", "events": "source.workspaceId",
}
RESERVED_ROLES = frozenset({OWNER, SUPERADMIN, DEFAULT_ROLE})
_RULE_KEYS = frozenset({"role", "action", "subject", "conditions", "inverted", "reason"})
_ROLE_KEYS = frozenset({"description", "auth"})
WORKSPACE = "workspaces"

Problem = dict[str, str]


def _names(value: Any) -> list[str] | None:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and items and all(isinstance(i, str) and i for i in items):
        return list(items)
    return None


def rule_problems(rule: Any, index: int, path: str, roles: Iterable[str] | None) -> list[Problem]:
    """Problems of one rule. ``roles``: the declared role names, or None when ``role`` is not
    allowed (API-key rules)."""
    out: list[Problem] = []

    def bad(field: str, message: str) -> None:
        out.append({"path": f"{path}.{index}" + (f".{field}" if field else ""), "message": f"rule {index}: {message}"})

    if not isinstance(rule, Mapping):
        bad("", "a rule must be an object")
        return out
    for key in sorted(set(rule) - _RULE_KEYS - ({"role"} if roles is None else set())):
        bad(key, f"unknown field '{key}'")
    actions = _names(rule.get("action"))
    if actions is None:
        bad("action", "action must be a string or a non-empty list of strings")
    else:
        for action in actions:
            if action not in ACTIONS:
                bad("action", f"unknown action '{action}'")
    subjects = _names(rule.get("subject"))
    if subjects is None:
        bad("subject", "subject must be a string or a non-empty list of strings")
    else:
        for subject in subjects:
            if subject not in DSUL_SUBJECTS:
                bad("subject", f"subject '{subject}' is not allowed (allowed: {', '.join(DSUL_SUBJECTS)})")
    if "conditions" in rule and rule["conditions"] is not None:
        for message in condition_problems(rule["conditions"]):
            bad("conditions", f"invalid conditions: {message}")
    if "inverted" in rule and not isinstance(rule["inverted"], bool):
        bad("inverted", "inverted must be a boolean")
    if "reason" in rule and not isinstance(rule["reason"], str):
        bad("reason", "reason must be a string")
    if roles is not None and rule.get("role") is not None:
        names = _names(rule["role"])
        declared = set(roles)
        if names is None:
            bad("role", "role must be a string or a non-empty list of strings")
        for name in names or []:
            if name == OWNER:
                bad("role", "the owner role cannot be configured")
            elif name in RESERVED_ROLES:
                bad("role", f"the role '{name}' is reserved")
            elif name not in declared:
                bad("role", f"role '{name}' is not declared in authorizations.roles")
    elif roles is None and "role" in rule:
        bad("role", "an API key rule cannot name a role")
    return out


def _role_problems(name: Any, role: Any) -> list[Problem]:
    path = f"authorizations.roles.{name}"
    out: list[Problem] = []
    if not isinstance(name, str) or not name:
        return [{"path": "authorizations.roles", "message": "role names must be non-empty strings"}]
    if name in RESERVED_ROLES:
        out.append({"path": path, "message": f"the role '{name}' is reserved and cannot be declared"})
    if role is None:
        return out
    if not isinstance(role, Mapping):
        return [*out, {"path": path, "message": "a role must be an object"}]
    for key in sorted(set(role) - _ROLE_KEYS):
        out.append({"path": f"{path}.{key}", "message": f"unknown field '{key}'"})
    auth = role.get("auth")
    if auth is not None and not isinstance(auth, Mapping):
        out.append({"path": f"{path}.auth", "message": "auth must be an object"})
    for provider, options in (auth or {}).items() if isinstance(auth, Mapping) else []:
        if options is not None and not isinstance(options, Mapping):
            out.append({"path": f"{path}.auth.{provider}", "message": "must be an object"})
        elif options and options.get("conditions") is not None:
            for message in condition_problems(options["conditions"]):
                out.append({"path": f"{path}.auth.{provider}.conditions", "message": message})
    return out


def validate_security(security: Any) -> list[Problem]:
    """All the problems of a ``security.yml`` document (empty list: valid)."""
    if security is None:
        return []
    if not isinstance(security, Mapping):
        return [{"path": "security", "message": "security must be an object"}]
    auth = security.get("authorizations")
    if auth is None:
        return []
    if not isinstance(auth, Mapping):
        return [{"path": "authorizations", "message": "authorizations must be an object"}]
    out: list[Problem] = []
    roles = {} if auth.get("roles") is None else auth["roles"]
    if not isinstance(roles, Mapping):
        out.append({"path": "authorizations.roles", "message": "roles must be an object"})
        roles = {}
    for name, role in roles.items():
        out.extend(_role_problems(name, role))
    rules = [] if auth.get("rules") is None else auth["rules"]
    if not isinstance(rules, list):
        return [*out, {"path": "authorizations.rules", "message": "rules must be a list"}]
    for index, rule in enumerate(rules):
        out.extend(rule_problems(rule, index, "authorizations.rules", list(roles)))
    return out


def validate_api_key_rules(rules: Any) -> list[Problem]:
    """Problems of the rules of a REST API key (DSUL rules without ``role``)."""
    if not isinstance(rules, list):
        return [{"path": "rules", "message": "rules must be a list"}]
    out: list[Problem] = []
    for index, rule in enumerate(rules):
        out.extend(rule_problems(rule, index, "rules", None))
    return out


def scope_rules(workspace_id: str, rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One rule per subject type, with that type's workspace condition forced.

    ``all`` expands to every DSUL subject type. On events, a ``create`` (allow) rule also gets
    ``source.serviceTopic: topic:runtime:emit``: ``create`` is split from the other actions of its
    rule, and an events ``manage`` rule is limited to emit-topic events as a whole."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        subjects = _names(rule.get("subject")) or []
        if ALL in subjects:
            subjects = list(DSUL_SUBJECTS)
        actions = _names(rule.get("action")) or []
        for subject in subjects:
            if subject not in SCOPE_FIELDS:
                continue
            base = {**rule, "subject": subject,
                    "conditions": {**(rule.get("conditions") or {}), SCOPE_FIELDS[subject]: workspace_id}}
            if subject != "events" or rule.get("inverted") or not ({"create", MANAGE} & set(actions)):
                out.append(base)
                continue
            emit_only = {**base["conditions"], "source.serviceTopic": EMIT_TOPIC}
            if MANAGE in actions:
                out.append({**base, "conditions": emit_only})
                continue
            others = [a for a in actions if a != "create"]
            if others:
                out.append({**base, "action": others})
            out.append({**base, "action": "create", "conditions": emit_only})
    return out


def prioritized(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """DSUL priorities: ``100 + index`` capped at 999 (a later rule overrides an earlier one)."""
    return [{**rule, "priority": min(FIRST_DSUL_PRIORITY + i, LAST_DSUL_PRIORITY)} for i, rule in enumerate(rules)]


def api_key_rules(workspace_id: str, rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rules a REST API key adds to its caller: validated beforehand, prioritized and scoped."""
    return [r for rule in prioritized(rules) for r in scope_rules(workspace_id, [rule])]


def workspace_roles(workspace_id: str, security: Mapping[str, Any] | None) -> list[RoleTemplate]:
    """The role templates of one workspace: superadmin, owner, editor, default and custom roles.

    Invalid rules must have been refused before (:func:`validate_security`); here a rule naming
    an unknown role simply creates it."""
    auth = (security or {}).get("authorizations") or {}
    declared = [n for n in (auth.get("roles") or {}) if isinstance(n, str) and n not in RESERVED_ROLES]
    by_role: dict[str, list[dict[str, Any]]] = {DEFAULT_ROLE: list(EVERYONE_RULES), EDITOR: list(EDITOR_RULES)}
    for name in declared:
        by_role.setdefault(name, [])
    for rule in prioritized(auth.get("rules") or []):
        names = _names(rule.get("role")) or [DEFAULT_ROLE]
        body = {k: v for k, v in rule.items() if k != "role"}
        for name in names:
            if name in (OWNER, SUPERADMIN):
                continue
            by_role.setdefault(name, []).extend(scope_rules(workspace_id, [body]))
    owner = [{**r, "priority": OWNER_PRIORITY} for r in OWNER_RULES]
    return [RoleTemplate(SUPERADMIN, tuple(SUPERADMIN_RULES)),
            RoleTemplate(OWNER, tuple(owner), WORKSPACE),
            *(RoleTemplate(name, tuple(rules), WORKSPACE) for name, rules in by_role.items())]


def auth_roles(security: Mapping[str, Any] | None, auth_data: Mapping[str, Any] | None) -> list[str]:
    """Roles bound to the user's authentication (``roles.X.auth.<provider>``): the user's
    ``authData`` has that provider and its data matches the optional ``conditions``, written
    against ``{authData: <that provider's data>}`` (e.g. ``authData.email: {$regex: …}``).
    ``apiKey`` bindings are not authentication providers and never match here."""
    roles = ((security or {}).get("authorizations") or {}).get("roles") or {}
    out: list[str] = []
    for name, role in roles.items():
        if name in RESERVED_ROLES or not isinstance(role, Mapping) or not isinstance(role.get("auth"), Mapping):
            continue
        for provider, options in role["auth"].items():
            if provider == "apiKey" or not isinstance(auth_data, Mapping) or provider not in auth_data:
                continue
            conditions = (options or {}).get("conditions") if isinstance(options, Mapping) else None
            data = auth_data.get(provider)
            try:
                ok = not conditions or jsonmatch({"authData": data if isinstance(data, Mapping) else {}}, conditions)
            except ExpressionError:
                ok = False
            if ok and name not in out:
                out.append(name)
    return out


def removed_roles_problems(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                           assigned: Iterable[str]) -> list[Problem]:
    """A role still assigned to a user cannot be removed from the security (except editor)."""
    def declared(sec: Mapping[str, Any] | None) -> set[str]:
        return set(((sec or {}).get("authorizations") or {}).get("roles") or {})

    gone = (declared(old) - declared(new)) & set(assigned) - {EDITOR}
    return [{"path": f"authorizations.roles.{name}", "message": f"role '{name}' is still assigned to users"}
            for name in sorted(gone)]
