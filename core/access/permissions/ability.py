"""CASL-style evaluation of a rule list.

``Ability(rules).can(action, subject_type, subject=None, field=None)``: the rules are sorted
(:func:`~core.access.permissions.rules.sort_rules`) and the **last** rule that applies decides: allowed
unless it is inverted. No applicable rule: refused.

A rule applies when its action is the checked one or ``manage``, its subject is the checked type
or ``all``, its ``fields`` (if any) cover the checked field, and its conditions match the subject.
Checking a bare subject *type* (no object) follows CASL: a conditional "can" rule applies ("can
act on some objects of that type") and a conditional "cannot" rule does not. Built-in per-object
rules (``predicate``) never apply to a bare type: they need the object.

A malformed condition fails closed: a "can" rule whose query cannot be evaluated does not apply,
a "cannot" rule does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .conditions import ConditionError, conditions_match
from .rules import Rule, sort_rules


class Ability:
    """An immutable, sorted rule set."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules: list[Rule] = sort_rules(rules)

    def relevant_rule(self, action: str, subject_type: str, subject: Mapping[str, Any] | None = None,
                      field: str | None = None) -> Rule | None:
        """The rule that decides the check (the last applicable one), or None."""
        for rule in reversed(self.rules):
            if (rule.matches_action(action) and rule.matches_subject_type(subject_type)
                    and rule.matches_field(field) and _matches_object(rule, action, subject_type, subject)):
                return rule
        return None

    def can(self, action: str, subject_type: str, subject: Mapping[str, Any] | None = None,
            field: str | None = None) -> bool:
        rule = self.relevant_rule(action, subject_type, subject, field)
        return rule is not None and not rule.inverted

    def cannot(self, action: str, subject_type: str, subject: Mapping[str, Any] | None = None,
               field: str | None = None) -> bool:
        return not self.can(action, subject_type, subject, field)


def _matches_object(rule: Rule, action: str, subject_type: str, subject: Mapping[str, Any] | None) -> bool:
    if subject is None:
        if rule.predicate is not None:
            return False
        return not rule.conditions or not rule.inverted
    if rule.predicate is not None:
        return rule.predicate(action, subject_type, subject)
    if not rule.conditions:
        return True
    try:
        return conditions_match(rule.conditions, subject)
    except ConditionError:
        return rule.inverted
