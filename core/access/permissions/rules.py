"""Permission rules: the raw ``{action, subject, conditions?, inverted?, priority?, reason?}`` form
and the normalised :class:`Rule` the :class:`~core.access.permissions.ability.Ability` evaluates.

Ordering (``sort_key``): rules are evaluated **last match wins** (CASL), so the sort puts the
rules that must win at the end:

1. ``priority`` ascending (an absent priority counts as 0);
2. among equal priorities, "cannot" rules **without** an explicit priority come after "can" rules
   (a plain deny is not undone by a plain allow of the same level);
3. then insertion order (a later rule overrides an earlier one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MANAGE = "manage"
ALL = "all"

# Actions of spec §8.1 (rules may name others; DSUL validation refuses them).
ACTIONS = frozenset({
    "read", "create", "update", "delete", MANAGE, "manage_permissions", "manage_security",
    "manage_repositories", "read_app_dsul", "get_usage", "aggregate_search", "execute", "test",
})

RawRule = Mapping[str, Any]
# A built-in rule's test: (action, subject_type, subject) -> applies?
Predicate = Callable[[str, str, Mapping[str, Any]], bool]


class InvalidRuleError(ValueError):
    """A raw rule that cannot be normalised (wrong types)."""


def as_tuple(value: Any, what: str) -> tuple[str, ...]:
    """``"a"`` or ``["a", "b"]`` -> a non-empty tuple of strings."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items or not all(isinstance(i, str) and i for i in items):
        raise InvalidRuleError(f"{what} must be a non-empty string or list of strings")
    return tuple(items)


@dataclass(frozen=True)
class Rule:
    """One normalised rule. ``predicate`` is set only on built-in per-object rules."""

    actions: tuple[str, ...]
    subjects: tuple[str, ...]
    conditions: Mapping[str, Any] | None = None
    inverted: bool = False
    priority: int | None = None
    reason: str | None = None
    fields: tuple[str, ...] | None = None
    seq: int = 0
    predicate: Predicate | None = field(default=None, compare=False)

    @classmethod
    def from_raw(cls, raw: RawRule, seq: int = 0) -> Rule:
        if isinstance(raw, Rule):
            return raw.with_seq(seq)
        if not isinstance(raw, Mapping):
            raise InvalidRuleError("a rule must be an object")
        conditions = raw.get("conditions")
        if conditions is not None and not isinstance(conditions, Mapping):
            raise InvalidRuleError("conditions must be an object")
        priority = raw.get("priority")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int | float)):
            raise InvalidRuleError("priority must be a number")
        fields = raw.get("fields")
        return cls(
            actions=as_tuple(raw.get("action"), "action"),
            subjects=as_tuple(raw.get("subject"), "subject"),
            conditions=dict(conditions) if conditions else None,
            inverted=bool(raw.get("inverted", False)),
            priority=int(priority) if priority is not None else None,
            reason=raw.get("reason") if isinstance(raw.get("reason"), str) else None,
            fields=as_tuple(fields, "fields") if fields is not None else None,
            seq=seq,
        )

    def with_seq(self, seq: int) -> Rule:
        return Rule(self.actions, self.subjects, self.conditions, self.inverted, self.priority,
                    self.reason, self.fields, seq, self.predicate)

    @property
    def conditional(self) -> bool:
        return bool(self.conditions) or self.predicate is not None

    def sort_key(self) -> tuple[int, int, int]:
        late_deny = 1 if self.inverted and self.priority is None else 0
        return (self.priority or 0, late_deny, self.seq)

    def matches_action(self, action: str) -> bool:
        """CASL: a ``manage`` rule covers every action; checking ``manage`` needs a manage rule."""
        return action in self.actions or MANAGE in self.actions

    def matches_subject_type(self, subject_type: str) -> bool:
        return subject_type in self.subjects or ALL in self.subjects

    def matches_field(self, field_name: str | None) -> bool:
        """CASL: a rule without fields covers every field; a field-restricted deny ignores
        checks that name no field."""
        if self.fields is None:
            return True
        if field_name is None:
            return not self.inverted
        return field_name in self.fields

    def to_raw(self) -> dict[str, Any]:
        """Back to the raw form (built-in predicate rules have no raw form)."""
        raw: dict[str, Any] = {
            "action": list(self.actions) if len(self.actions) > 1 else self.actions[0],
            "subject": list(self.subjects) if len(self.subjects) > 1 else self.subjects[0],
        }
        if self.conditions:
            raw["conditions"] = dict(self.conditions)
        if self.inverted:
            raw["inverted"] = True
        if self.priority is not None:
            raw["priority"] = self.priority
        if self.reason:
            raw["reason"] = self.reason
        if self.fields is not None:
            raw["fields"] = list(self.fields)
        return raw


def sort_rules(rules: Iterable[Rule]) -> list[Rule]:
    """Evaluation order: the rule that wins comes last (see the module docstring)."""
    return sorted(rules, key=Rule.sort_key)


@dataclass(frozen=True)
class RoleTemplate:
    """A role: ``{name, subjectType?, rules}``. A role with a ``subject_type`` is held on a subject
    (``subject.permissions[userId].role``) and its rules see ``${subject.id}`` = that subject."""

    name: str
    rules: tuple[Any, ...] = ()
    subject_type: str | None = None

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any] | RoleTemplate) -> RoleTemplate:
        if isinstance(raw, RoleTemplate):
            return raw
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRuleError("a role needs a name")
        rules = raw.get("rules") or []
        if not isinstance(rules, list | tuple):
            raise InvalidRuleError(f"role {name}: rules must be a list")
        subject_type = raw.get("subjectType", raw.get("subject_type"))
        return cls(name=name, rules=tuple(rules), subject_type=subject_type)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.subject_type, self.name)
