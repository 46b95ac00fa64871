"""``Permissions``: one user's ability, built from a configuration and grown by roles.

A configuration (:class:`PermissionsConfig`) declares subject types (``{author: {assignRole}}``
options), role templates (``rbac``) and rules for everyone (``abac``). A ``Permissions`` starts
with the built-in per-object rules, the ``abac`` rules and the user's platform ``role``; roles held
on subjects are loaded when a subject is checked (``can``) or pulled (``pull_role_from_subject``),
their ``${subject.id}`` bound to that subject. Loaded roles stay loaded for the object's lifetime.

Built-in per-object rules (need an object, never apply to ``create``):

* ``subject.permissions[<userId>|"*"].policies.<action> == true`` allows that action
  (a ``manage`` policy allows every action but ``create``);
* ``read`` is allowed when ``subject.permissions[<userId>|"*"].role`` is a role declared for that
  subject type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import ForbiddenError

from .ability import Ability
from .conditions import inject_rules, rule_context
from .errors import UnknownRoleError
from .rules import MANAGE, RawRule, RoleTemplate, Rule
from .sharing import PUBLIC, ROLE_PREFIX, entry, grant_entry, revoke_entry, target_to_id

DEFAULT_ROLE = "default"


@dataclass
class PermissionsConfig:
    """``{subjects: {<type>: {author?: {assignRole}}}, rbac: [<role>], abac: [<rule>]}``."""

    subjects: dict[str, dict[str, Any]] = field(default_factory=dict)
    rbac: list[RoleTemplate] = field(default_factory=list)
    abac: list[RawRule] = field(default_factory=list)

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> PermissionsConfig:
        return cls(
            subjects={k: dict(v or {}) for k, v in (raw.get("subjects") or {}).items()},
            rbac=[RoleTemplate.from_raw(r) for r in raw.get("rbac") or []],
            abac=list(raw.get("abac") or []),
        )

    def relations(self) -> dict[str, list[tuple[str, str]]]:
        """Child subject type -> [(parent type, field holding the parent id)], inferred from the
        subject-typed roles' rules on other types with a ``field: '${subject.id}'`` condition."""
        out: dict[str, list[tuple[str, str]]] = {}
        for role in self.rbac:
            if not role.subject_type:
                continue
            for raw in role.rules:
                conditions = raw.get("conditions") or {}
                if raw.get("inverted") or not conditions:
                    continue
                child_field = next((k for k, v in conditions.items() if v == "${subject.id}"), None)
                if child_field is None:
                    continue
                children = raw.get("subject")
                for child in [children] if isinstance(children, str) else children or []:
                    ref = (role.subject_type, child_field)
                    if child != role.subject_type and ref not in out.setdefault(child, []):
                        out[child].append(ref)
        return out


class Permissions:
    """A user's permissions (CASL semantics, see :mod:`core.access.permissions.ability`)."""

    def __init__(self, user: Mapping[str, Any], config: PermissionsConfig):
        self.user: dict[str, Any] = dict(user)
        self.config = config
        self._templates: dict[tuple[str | None, str], RoleTemplate] = {t.key: t for t in config.rbac}
        self._relations = config.relations()
        self._rules: list[Rule] = []
        self._ability: Ability | None = None
        self._loaded: set[str] = set()
        self._subject_roles: dict[tuple[str, str], list[str]] = {}
        self._add_rules(self._builtin_rules())
        self.load_rules(config.abac)
        if isinstance(self.user.get("role"), str) and self.user["role"]:
            self.load_role(self.user["role"])

    # -- rules and roles ---------------------------------------------------------------------

    @property
    def ability(self) -> Ability:
        if self._ability is None:
            self._ability = Ability(self._rules)
        return self._ability

    @property
    def rules(self) -> list[Rule]:
        """The rules in evaluation order."""
        return self.ability.rules

    def _add_rules(self, rules: Iterable[Rule]) -> None:
        before = len(self._rules)
        for rule in rules:
            self._rules.append(rule.with_seq(len(self._rules)))
        if len(self._rules) != before:
            self._ability = None

    def load_rules(self, rules: Sequence[RawRule], subject: Mapping[str, Any] | None = None) -> None:
        """Add rules, placeholders resolved for this user (and ``subject``); invalid ones dropped."""
        injected = inject_rules(list(rules), rule_context(self.user, subject))
        self._add_rules(Rule.from_raw(r) for r in injected)

    def load_roles(self, roles: Iterable[Mapping[str, Any] | RoleTemplate]) -> None:
        """Declare (or replace, by subject type and name) role templates."""
        for raw in roles:
            template = RoleTemplate.from_raw(raw)
            self._templates[template.key] = template

    def find_role(self, name: str, subject_type: str | None = None) -> RoleTemplate | None:
        """A template named ``name`` for ``subject_type`` (any type when None)."""
        for template in self._templates.values():
            if template.name == name and (subject_type is None or template.subject_type == subject_type):
                return template
        return None

    def load_role(self, role: str | RoleTemplate, subject_type: str | None = None,
                  subject: Mapping[str, Any] | None = None, *, record: bool = False) -> bool:
        """Load a role's rules once (per subject); unknown roles grant nothing (returns False).

        ``record`` remembers the role as the user's role on that subject, so that child subjects
        can grant it policies through ``role:<name>`` entries."""
        name = role.name if isinstance(role, RoleTemplate) else role
        subject_id = _id(subject)
        role_id = f"{subject_type}/{subject_id}/{name}" if subject_type else name
        if role_id not in self._loaded:
            template = role if isinstance(role, RoleTemplate) else self.find_role(name, subject_type)
            if template is None:
                return False
            self._loaded.add(role_id)
            self.load_rules(list(template.rules), subject)
        if record and subject_type and subject_id is not None:
            roles = self._subject_roles.setdefault((subject_type, subject_id), [])
            if name not in roles:
                roles.append(name)
        return True

    def loaded_subject_role(self, subject_type: str, subject_id: str) -> str | None:
        roles = self._subject_roles.get((subject_type, subject_id))
        return roles[0] if roles else None

    def loaded_subject_roles(self, subject_type: str, subject_id: str) -> list[str]:
        return list(self._subject_roles.get((subject_type, subject_id), []))

    def pull_role_from_subject(self, subject_type: str, subject: Mapping[str, Any]) -> None:
        """Load what ``subject`` gives this user: the ``default`` role of the type, the author
        role (``createdBy``), its ``permissions[<userId>].role``, its ``permissions["*"].role``,
        and the policies a ``role:<name>`` entry gives to holders of a parent-subject role."""
        self.load_role(DEFAULT_ROLE, subject_type, subject)
        user_id = self.user.get("id")
        author_role = (self.config.subjects.get(subject_type) or {}).get("author", {}).get("assignRole")
        if author_role and user_id is not None and subject.get("createdBy") == user_id:
            self.load_role(author_role, subject_type, subject, record=True)
            return
        user_role = entry(subject, user_id).get("role") if isinstance(user_id, str) else None
        if isinstance(user_role, str):
            self.load_role(user_role, subject_type, subject, record=True)
        public_role = entry(subject, PUBLIC).get("role")
        if isinstance(public_role, str):
            self.load_role(public_role, subject_type, subject)
        self._load_parent_role_policies(subject_type, subject)

    def _load_parent_role_policies(self, subject_type: str, subject: Mapping[str, Any]) -> None:
        subject_id = _id(subject)
        if subject_id is None:
            return
        for parent_type, parent_field in self._relations.get(subject_type, []):
            parent_id = _path(subject, parent_field)
            for role in self._subject_roles.get((parent_type, parent_id), []) if parent_id else []:
                policies = entry(subject, ROLE_PREFIX + role).get("policies") or {}
                actions = [a for a, enabled in policies.items() if enabled is True and a != "create"]
                if actions:
                    rule = {"subject": subject_type, "action": actions, "conditions": {"id": subject_id}}
                    self.load_role(RoleTemplate(f"{subject_type}.{subject_id}.{role}", (rule,)),
                                   subject_type, subject)

    # -- checks ------------------------------------------------------------------------------

    def can(self, action: str, subject_type: str, subject: Mapping[str, Any] | None = None,
            field: str | None = None) -> bool:
        if subject is not None:
            self.pull_role_from_subject(subject_type, subject)
        return self.ability.can(action, subject_type, subject, field)

    def throw_unless_can(self, action: str, subject_type: str, subject: Mapping[str, Any] | None = None,
                         field: str | None = None) -> None:
        """Raise :class:`schemas.errors.ForbiddenError` (403) unless allowed."""
        if self.can(action, subject_type, subject, field):
            return
        rule = self.ability.relevant_rule(action, subject_type, subject, field)
        ref = (subject or {}).get("id") or (subject or {}).get("slug")
        message = (rule.reason if rule is not None and rule.reason else
                   f"Cannot {action} {subject_type}" + (f" {ref}" if ref else ""))
        details: dict[str, Any] = {"action": action, "subjectType": subject_type}
        if ref:
            details["id"] = ref
        raise ForbiddenError(message, details)

    # -- sharing -----------------------------------------------------------------------------

    def grant(self, permission: Any, subject_type: str, subject: Mapping[str, Any],
              target: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``subject`` with ``permission`` (action(s), a role name, or a whole
        ``{role?, policies?}`` entry) granted to ``target`` (``{id}``, ``{public: true}`` or
        ``{role}``). Needs ``manage_permissions`` on the subject."""
        self.throw_unless_can("manage_permissions", subject_type, subject)
        target_id = target_to_id(target)
        if target_id.startswith(ROLE_PREFIX) and self.find_role(target_id[len(ROLE_PREFIX):]) is None:
            raise UnknownRoleError(f"Unknown role '{target_id[len(ROLE_PREFIX):]}'", {"target": dict(target)})
        return grant_entry(subject, permission, target_id, lambda r: self._is_role(r, subject_type))

    def revoke(self, permission: Any, subject_type: str, subject: Mapping[str, Any],
               target_id: str) -> dict[str, Any]:
        """Return ``subject`` with ``permission`` (action(s), a role, or ``all``) revoked from
        ``target_id``. Needs ``manage_permissions`` on the subject."""
        self.throw_unless_can("manage_permissions", subject_type, subject)
        return revoke_entry(subject, permission, target_id, lambda r: self._is_role(r, subject_type))

    def _is_role(self, name: str, subject_type: str) -> bool:
        return self.find_role(name, subject_type) is not None

    # -- built-in rules ----------------------------------------------------------------------

    def _builtin_rules(self) -> list[Rule]:
        user_id = self.user.get("id")
        keys = [k for k in (user_id, PUBLIC) if isinstance(k, str)]

        def policy(action: str, _type: str, subject: Mapping[str, Any]) -> bool:
            if action == "create":
                return False
            for key in keys:
                policies = entry(subject, key).get("policies")
                if isinstance(policies, Mapping) and (policies.get(action) is True or policies.get(MANAGE) is True):
                    return True
            return False

        def role_read(_action: str, subject_type: str, subject: Mapping[str, Any]) -> bool:
            for key in keys:
                role = entry(subject, key).get("role")
                if isinstance(role, str) and self.find_role(role, subject_type) is not None:
                    return True
            return False

        return [Rule(actions=(MANAGE,), subjects=("all",), predicate=policy),
                Rule(actions=("read",), subjects=("all",), predicate=role_read)]


def _id(subject: Mapping[str, Any] | None) -> str | None:
    value = (subject or {}).get("id")
    return value if isinstance(value, str) and value else None


def _path(obj: Mapping[str, Any], path: str) -> str | None:
    current: Any = obj
    for key in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current if isinstance(current, str) and current else None
