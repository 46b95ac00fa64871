"""The CASL-style engine: ordering, matching, placeholders, per-object sharing, roles."""

from __future__ import annotations

from typing import Any

import pytest

from core.access.permissions import (
    Ability,
    InvalidPermissionsError,
    Permissions,
    PermissionsConfig,
    Rule,
    UnknownRoleError,
    condition_problems,
    inject_conditions,
    inject_rules,
)
from schemas.errors import ForbiddenError


def ability(*raw: dict) -> Ability:
    return Ability(Rule.from_raw(r, i) for i, r in enumerate(raw))


class TestOrdering:
    def test_last_matching_rule_wins(self) -> None:
        a = ability({"action": "read", "subject": "pages", "inverted": True, "priority": 1},
                    {"action": "read", "subject": "pages", "priority": 1})
        assert a.can("read", "pages", {})
        a = ability({"action": "read", "subject": "pages", "priority": 1},
                    {"action": "read", "subject": "pages", "inverted": True, "priority": 1})
        assert not a.can("read", "pages", {})

    def test_unprioritized_deny_comes_after_allow(self) -> None:
        a = ability({"action": "read", "subject": "pages", "inverted": True},
                    {"action": "read", "subject": "pages"})
        assert not a.can("read", "pages", {})

    def test_higher_priority_wins_whatever_the_position(self) -> None:
        a = ability({"action": "read", "subject": "pages", "priority": 200},
                    {"action": "read", "subject": "pages", "inverted": True, "priority": 100})
        assert a.can("read", "pages", {})
        a = ability({"action": "read", "subject": "pages", "inverted": True},
                    {"action": "read", "subject": "pages", "priority": 5})
        assert a.can("read", "pages", {})

    def test_no_rule_refuses(self) -> None:
        assert not ability().can("read", "pages", {})


class TestMatching:
    def test_manage_and_all(self) -> None:
        a = ability({"action": "manage", "subject": "all"})
        assert a.can("delete", "pages", {}) and a.can("execute", "automations")
        b = ability({"action": ["read", "update"], "subject": "pages"})
        assert not b.can("manage", "pages", {})
        assert not b.can("read", "files", {})

    def test_conditions(self) -> None:
        a = ability({"action": "read", "subject": "events",
                     "conditions": {"type": {"$regex": "^apps\\."}, "source.workspaceId": "W"}})
        assert a.can("read", "events", {"type": "apps.x", "source": {"workspaceId": "W"}})
        assert not a.can("read", "events", {"type": "apps.x", "source": {"workspaceId": "Z"}})
        assert not a.can("read", "events", {"type": "other", "source": {"workspaceId": "W"}})

    def test_type_only_checks_follow_casl(self) -> None:
        a = ability({"action": "read", "subject": "pages", "conditions": {"public": True}})
        assert a.can("read", "pages")  # "can read some pages"
        b = ability({"action": "read", "subject": "pages"},
                    {"action": "read", "subject": "pages", "inverted": True, "conditions": {"secret": True}})
        assert b.can("read", "pages")  # a conditional deny does not apply to the bare type
        assert not b.can("read", "pages", {"secret": True})

    def test_malformed_conditions_fail_closed(self) -> None:
        allow = ability({"action": "read", "subject": "pages", "conditions": {"a": {"$bogus": 1}}})
        assert not allow.can("read", "pages", {"a": 1})
        deny = ability({"action": "read", "subject": "pages"},
                       {"action": "read", "subject": "pages", "inverted": True, "conditions": {"a": {"$bogus": 1}}})
        assert not deny.can("read", "pages", {"a": 1})

    def test_fields(self) -> None:
        a = ability({"action": "update", "subject": "pages"},
                    {"action": "update", "subject": "pages", "inverted": True, "fields": ["permissions"]})
        assert a.can("update", "pages", {}) and a.can("update", "pages", {}, "name")
        assert not a.can("update", "pages", {}, "permissions")


class TestPlaceholders:
    CTX = {"user": {"id": "u1", "sessionId": "s1", "topics": ["t1"]}, "subject": {"id": "w1"}}

    def test_whole_value_keeps_type_and_partial_is_text(self) -> None:
        got = inject_conditions({"a": "${user.topics}", "b": "x-${user.id}-{{ subject.id }}"}, self.CTX)
        assert got == {"a": ["t1"], "b": "x-u1-w1"}

    def test_keys_nested_and_lists(self) -> None:
        got = inject_conditions({"permissions.${user.id}.role": "owner",
                                 "$or": [{"a": "${user.id}"}, {"b": {"$in": ["${subject.id}"]}}]}, self.CTX)
        assert got == {"permissions.u1.role": "owner", "$or": [{"a": "u1"}, {"b": {"$in": ["w1"]}}]}

    def test_session_alias(self) -> None:
        assert inject_conditions({"a": "{{session.id}}"}, self.CTX) == {"a": "s1"}

    def test_unresolved_or_bad_in_is_invalid(self) -> None:
        assert inject_conditions({"a": "${user.nope}"}, self.CTX) is False
        assert inject_conditions({"a": {"b": "${user.nope}"}}, self.CTX) is False
        assert inject_conditions({"a": {"$in": "${user.id}"}}, self.CTX) is False
        assert inject_conditions({"a": "{user.id}"}, self.CTX) == {"a": "{user.id}"}

    def test_inject_rules_drops_invalid(self) -> None:
        rules: list[dict[str, Any]] = [{"action": "read", "subject": "x", "conditions": {"a": "${user.nope}"}},
                 {"action": "read", "subject": "y"}, {"action": "read", "subject": "z", "conditions": {"a": "${user.id}"}}]
        assert inject_rules(rules, self.CTX) == [rules[1], {**rules[2], "conditions": {"a": "u1"}}]

    def test_condition_problems(self) -> None:
        assert condition_problems({"a": {"$in": "${user.topics}"}, "b": "{{session.id}}"}) == []
        assert condition_problems({"a": {"$in": "nope"}})
        assert condition_problems({"a": {"$regex": "("}})
        assert condition_problems({"$where": "x"})
        assert condition_problems([1])


CONFIG = PermissionsConfig.from_raw({
    "subjects": {"workspace": {"author": {"assignRole": "owner"}}, "page": {}},
    "rbac": [
        {"name": "owner", "subjectType": "workspace", "rules": [
            {"action": "manage", "subject": "workspace", "conditions": {"id": "${subject.id}"}},
            {"action": "manage", "subject": "page", "conditions": {"workspaceId": "${subject.id}"}}]},
        {"name": "viewer", "subjectType": "workspace", "rules": [
            {"action": "read", "subject": "workspace", "conditions": {"id": "${subject.id}"}}]},
    ],
    "abac": [],
})


class TestSharing:
    def test_author_role_and_record(self) -> None:
        p = Permissions({"id": "me"}, CONFIG)
        ws = {"id": "w", "createdBy": "me"}
        assert p.can("delete", "workspace", ws)
        assert p.loaded_subject_role("workspace", "w") == "owner"
        assert p.can("update", "page", {"id": "p", "workspaceId": "w"})

    def test_policies_grant_exactly_their_action_never_create(self) -> None:
        p = Permissions({"id": "me"}, CONFIG)
        page = {"id": "p", "permissions": {"me": {"policies": {"read": True}}}}
        assert p.can("read", "page", page) and not p.can("update", "page", page)
        forged = {"id": "p", "permissions": {"me": {"policies": {"create": True, "manage": True}}}}
        assert not p.can("create", "page", forged)
        assert p.can("delete", "page", forged)  # a manage policy covers the other actions

    def test_public_entry(self) -> None:
        p = Permissions({}, CONFIG)  # anonymous, no id
        assert p.can("read", "page", {"id": "p", "permissions": {"*": {"policies": {"read": True}}}})
        assert not p.can("read", "page", {"id": "p", "permissions": {"x": {"policies": {"read": True}}}})

    def test_grant_role_policies_and_revoke(self) -> None:
        owner = Permissions({"id": "me"}, CONFIG)
        ws = {"id": "w", "createdBy": "me"}
        shared = owner.grant("viewer", "workspace", ws, {"id": "you"})
        assert shared["permissions"] == {"you": {"role": "viewer"}} and "permissions" not in ws
        shared = owner.grant(["update"], "workspace", shared, {"id": "you"})
        assert shared["permissions"]["you"] == {"role": "viewer", "policies": {"update": True}}
        public = owner.grant({"policies": {"read": True}}, "workspace", shared, {"public": True})
        assert public["permissions"]["*"] == {"policies": {"read": True}}
        assert owner.revoke("owner", "workspace", shared, "you") == shared  # not their role
        assert owner.revoke("viewer", "workspace", shared, "you")["permissions"]["you"] == {"policies": {"update": True}}
        assert owner.revoke("all", "workspace", shared, "you")["permissions"] == {}

    def test_grant_needs_manage_permissions(self) -> None:
        stranger = Permissions({"id": "x"}, CONFIG)
        with pytest.raises(ForbiddenError):
            stranger.grant("read", "workspace", {"id": "w", "createdBy": "me"}, {"id": "x"})
        with pytest.raises(ForbiddenError):
            stranger.revoke("all", "workspace", {"id": "w", "createdBy": "me"}, "me")

    def test_grant_errors(self) -> None:
        owner = Permissions({"id": "me"}, CONFIG)
        ws = {"id": "w", "createdBy": "me"}
        with pytest.raises(UnknownRoleError):
            owner.grant("read", "workspace", ws, {"role": "nope"})
        with pytest.raises(UnknownRoleError):
            owner.grant({"role": "nope"}, "workspace", ws, {"id": "you"})
        with pytest.raises(InvalidPermissionsError):
            owner.grant({"role": "viewer", "extra": 1}, "workspace", ws, {"id": "you"})
        with pytest.raises(InvalidPermissionsError):
            owner.grant("read", "workspace", ws, {})

    def test_unknown_shared_role_grants_nothing(self) -> None:
        p = Permissions({"id": "me"}, CONFIG)
        assert not p.can("read", "workspace", {"id": "w", "permissions": {"me": {"role": "ghost"}}})

    def test_parent_role_shares(self) -> None:
        p = Permissions({"id": "me"}, CONFIG)
        p.pull_role_from_subject("workspace", {"id": "w", "permissions": {"me": {"role": "viewer"}}})
        page = {"id": "p", "workspaceId": "w", "permissions": {"role:viewer": {"policies": {"read": True, "update": False}}}}
        assert p.can("read", "page", page) and not p.can("update", "page", page)
        other = {**page, "id": "q", "workspaceId": "elsewhere"}
        assert not p.can("read", "page", other)

    def test_throw_unless_can_uses_the_deny_reason(self) -> None:
        config = PermissionsConfig.from_raw({"abac": [
            {"action": "read", "subject": "pages"},
            {"action": "read", "subject": "pages", "inverted": True, "reason": "Drafts are private",
             "conditions": {"draft": True}}]})
        with pytest.raises(ForbiddenError, match="Drafts are private"):
            Permissions({"id": "u"}, config).throw_unless_can("read", "pages", {"id": "p", "draft": True})


@pytest.mark.parametrize("conditions", [
    {"a": 1, "b": {"$exists": True, "$in": 3}},
    {"$or": [{"a": 1}, {"b": {"$gt": 1, "$foo": 2}}]},
    {"a": {"$elemMatch": {"b": {"$regex": "["}}}},
    {"a": {"$not": {"$in": "x"}}},
    {"a": {"$in": [1], "b": 2}},
    {"a": {"$size": "3"}},
])
def test_every_problem_is_found(conditions: dict[str, Any]) -> None:
    assert condition_problems(conditions), conditions


def test_valid_conditions() -> None:
    assert condition_problems({"a": {"b": 1}, "c": {"$not": {"$regex": "^x", "$options": "i"}},
                               "d": {"$elemMatch": {"$gt": 1}}, "$and": [{"e": None}],
                               "f": {"$all": "${user.topics}"}}) == []
