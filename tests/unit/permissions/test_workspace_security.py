"""The Tideway layer: DSUL validation and scoping, default roles, the §8.4 checks."""

from __future__ import annotations

from typing import Any

import pytest

from core.access.permissions.checks import (
    automation_executable,
    automation_testable,
    can,
    event_creatable,
    event_readable,
    require,
    workspace_permissions,
)
from core.access.permissions.defaults import initial_security
from core.access.permissions.dsul import (
    api_key_rules,
    auth_roles,
    removed_roles_problems,
    scope_rules,
    validate_api_key_rules,
    validate_security,
    workspace_roles,
)
from schemas.errors import ForbiddenError

WS = {"id": "W", "createdBy": "alice", "permissions": {"bob": {"role": "editor"}, "carol": {"role": "agent"}}}
USERS: dict[str, dict[str, Any]] = {
    "alice": {"id": "alice", "sessionId": "s-alice"},
    "bob": {"id": "bob", "sessionId": "s-bob"},
    "carol": {"id": "carol", "sessionId": "s-carol"},
    "dan": {"id": "dan", "sessionId": "s-dan", "topics": ["news"]},
    "anon": {"sessionId": "s-anon"},
    "root": {"id": "root", "role": "superadmin"},
}


def security(*extra_rules: dict[str, Any], roles: dict[str, Any] | None = None) -> dict[str, Any]:
    sec = initial_security()
    sec["authorizations"]["roles"].update(roles or {"agent": {}})
    sec["authorizations"]["rules"].extend(extra_rules)
    return sec


def perms(name: str, sec: dict[str, Any] | None = None, **kw: Any) -> Any:
    return workspace_permissions(USERS[name], WS, security() if sec is None else sec, **kw)


def event(type_: str = "hello", ws: str = "W", **source: Any) -> dict[str, Any]:
    return {"type": type_, "source": {"workspaceId": ws, **source}}


EMIT = "topic:runtime:emit"


class TestValidation:
    def test_initial_security_is_valid(self) -> None:
        assert validate_security(initial_security()) == []
        assert validate_security(None) == []

    @pytest.mark.parametrize(("rule", "field", "words"), [
        ({"role": "owner", "action": "read", "subject": "pages"}, "role", "owner"),
        ({"role": "ghost", "action": "read", "subject": "pages"}, "role", "not declared"),
        ({"action": "read", "subject": "secrets"}, "subject", "not allowed"),
        ({"action": "read", "subject": "all"}, "subject", "not allowed"),
        ({"action": "fly", "subject": "pages"}, "action", "unknown action"),
        ({"subject": "pages"}, "action", "action must be"),
        ({"action": "read", "subject": "pages", "conditions": {"a": {"$in": 3}}}, "conditions", "invalid"),
        ({"action": "read", "subject": "pages", "priority": 5}, "priority", "unknown field"),
        ({"action": "read", "subject": "pages", "inverted": "yes"}, "inverted", "boolean"),
    ])
    def test_problems_name_the_rule(self, rule: dict[str, Any], field: str, words: str) -> None:
        problems = validate_security(security(rule))
        index = len(initial_security()["authorizations"]["rules"])
        assert problems, rule
        assert problems[0]["path"] == f"authorizations.rules.{index}.{field}"
        assert problems[0]["message"].startswith(f"rule {index}:") and words in problems[0]["message"]

    def test_roles(self) -> None:
        assert validate_security(security(roles={"owner": {}}))
        assert validate_security(security(roles={"x": {"auth": {"prismeai": {"conditions": {"a": {"$bad": 1}}}}}}))
        assert validate_security(security(roles={"x": {"color": "red"}}))
        assert validate_security(security(roles={"x": None})) == []
        assert validate_security({"authorizations": {"rules": {}}})

    def test_api_key_rules(self) -> None:
        assert validate_api_key_rules([{"action": "read", "subject": "events"}]) == []
        assert validate_api_key_rules([{"role": "x", "action": "read", "subject": "events"}])

    def test_removed_roles(self) -> None:
        old = security(roles={"agent": {}, "gone": {}})
        assert removed_roles_problems(old, security(), ["gone", "editor"])[0]["path"].endswith("gone")
        assert removed_roles_problems(old, security(), ["agent"]) == []


class TestScoping:
    def test_scope_condition_per_subject(self) -> None:
        got = scope_rules("W", [{"action": "read", "subject": ["workspaces", "pages", "automations", "events"],
                                  "conditions": {"id": "evil"}}])
        assert [r["conditions"] for r in got] == [
            {"id": "W"}, {"id": "evil", "workspaceId": "W"}, {"id": "evil", "runningWorkspaceId": "W"},
            {"id": "evil", "source.workspaceId": "W"}]

    def test_event_create_is_emit_only(self) -> None:
        got = scope_rules("W", [{"action": ["read", "create"], "subject": "events"}])
        assert got == [
            {"action": ["read"], "subject": "events", "conditions": {"source.workspaceId": "W"}},
            {"action": "create", "subject": "events",
             "conditions": {"source.workspaceId": "W", "source.serviceTopic": EMIT}}]
        manage = scope_rules("W", [{"action": "manage", "subject": "events"}])
        assert manage[0]["conditions"]["source.serviceTopic"] == EMIT
        deny = scope_rules("W", [{"action": "create", "subject": "events", "inverted": True}])
        assert "source.serviceTopic" not in deny[0]["conditions"]

    def test_priorities(self) -> None:
        rules = [{"action": "read", "subject": "pages"}] * 1000
        roles = {r.name: r for r in workspace_roles("W", {"authorizations": {"rules": rules}})}
        priorities = [r["priority"] for r in roles["default"].rules if "priority" in r]
        assert priorities[0] == 100 and priorities[-1] == 999
        assert all(r["priority"] == 1000 for r in roles["owner"].rules)
        assert api_key_rules("W", [{"action": "read", "subject": "events"}])[0]["priority"] == 100


class TestDefaultRoles:
    def test_workspace_actions(self) -> None:
        expected = {  # read, update, delete, manage_permissions, manage_security
            "alice": [True, True, True, True, True],
            "bob": [True, True, False, False, False],
            "carol": [True, False, False, False, False],  # a shared role reads the workspace
            "dan": [False] * 5,
            "anon": [False] * 5,
            "root": [True] * 5,
        }
        actions = ["read", "update", "delete", "manage_permissions", "manage_security"]
        for name, row in expected.items():
            p = perms(name)
            assert [can(p, a, "workspaces", WS) for a in actions] == row, name

    def test_editor_files_pages_apps(self) -> None:
        bob = perms("bob")
        assert can(bob, "delete", "files", {"workspaceId": "W"})
        assert can(bob, "update", "pages", {"workspaceId": "W"}) and not can(bob, "delete", "pages", {"workspaceId": "W"})
        assert can(bob, "read_app_dsul", "apps", {"workspaceId": "W"})
        assert not can(bob, "read", "pages", {"workspaceId": "other"})

    def test_secrets(self) -> None:
        alice, bob, root = perms("alice"), perms("bob"), perms("root")
        mine, reserved = {"workspaceId": "W", "name": "token"}, {"workspaceId": "W", "name": "prismeai_rate"}
        assert can(alice, "update", "secrets", mine) and not can(alice, "update", "secrets", reserved)
        assert not can(bob, "read", "secrets", mine)
        assert can(root, "update", "secrets", reserved)
        assert not can(alice, "read", "secrets", {"workspaceId": "other", "name": "token"})

    def test_other_workspace(self) -> None:
        alice = perms("alice")
        assert not can(alice, "read", "workspaces", {"id": "other", "createdBy": "zoe"})

    def test_require(self) -> None:
        require(perms("alice"), "delete", "workspaces", WS)
        with pytest.raises(ForbiddenError):
            require(perms("bob"), "delete", "workspaces", WS)

    def test_dsul_cannot_touch_the_owner(self) -> None:
        sec = security({"action": "manage", "subject": "workspaces", "inverted": True})
        assert can(perms("alice", sec), "delete", "workspaces", WS)
        assert not can(perms("bob", sec), "read", "workspaces", WS)

    def test_later_dsul_allow_cancels_earlier_deny(self) -> None:
        deny = {"action": "read", "subject": "pages", "inverted": True}
        allow = {"action": "read", "subject": "pages"}
        page = {"id": "p", "workspaceId": "W"}
        assert can(perms("dan", security(deny, allow)), "read", "pages", page)
        assert not can(perms("dan", security(allow, deny)), "read", "pages", page)


class TestAutomations:
    PUBLIC = {"slug": "a", "do": []}
    RESTRICTED = {"slug": "b", "do": [], "authorizations": {"action": "X"}}
    OTHER = {"slug": "c", "do": [], "authorizations": {"action": "Y"}}
    AGENT_RULE = {"role": "agent", "action": "execute", "subject": "automations",
                  "conditions": {"authorizations.action": {"$in": ["X"]}}}

    def test_execute(self) -> None:
        sec = security(self.AGENT_RULE)
        rows = {name: [automation_executable(perms(name, sec), a, "W") for a in (self.PUBLIC, self.RESTRICTED, self.OTHER)]
                for name in USERS}
        assert rows == {"alice": [True] * 3, "bob": [True] * 3, "carol": [True, True, False],
                        "dan": [True, False, False], "anon": [True, False, False], "root": [True] * 3}

    def test_restricted_automation_of_another_workspace(self) -> None:
        carol = perms("carol", security(self.AGENT_RULE))
        assert not automation_executable(carol, self.RESTRICTED, "other")
        assert not automation_executable(perms("bob"), self.RESTRICTED, "other")

    def test_test_action(self) -> None:
        assert automation_testable(perms("alice"), self.PUBLIC, "W")
        assert automation_testable(perms("bob"), self.PUBLIC, "W")
        assert not automation_testable(perms("dan"), self.PUBLIC, "W")

    def test_api_key_adds_rules(self) -> None:
        key = [{"action": "execute", "subject": "automations", "conditions": {"authorizations.action": {"$in": ["Y"]}}}]
        dan = perms("dan", api_keys=[key])
        assert automation_executable(dan, self.OTHER, "W") and not automation_executable(dan, self.RESTRICTED, "W")
        assert not automation_executable(dan, self.OTHER, "elsewhere")

    def test_auth_bound_roles(self) -> None:
        sec = security(self.AGENT_RULE, roles={"agent": {"auth": {"prismeai": {
            "conditions": {"authData.email": {"$regex": "@corp\\.com$"}}}}}})
        assert auth_roles(sec, {"prismeai": {"email": "x@corp.com"}}) == ["agent"]
        assert auth_roles(sec, {"prismeai": {"email": "x@else.com"}}) == []
        assert auth_roles(sec, {"azure": {"email": "x@corp.com"}}) == []
        user = {"id": "eve", "authData": {"prismeai": {"email": "eve@corp.com"}}}
        p = workspace_permissions(user, WS, sec)
        assert automation_executable(p, self.RESTRICTED, "W")


class TestEvents:
    def test_reads(self) -> None:
        cases = {
            "native": event("runtime.automations.executed", userId="dan"),
            "dan-emit": event(serviceTopic=EMIT, userId="dan", sessionId="s-dan"),
            "apikeys": event("apikeys.created"),
            "to-dan": {**event(), "target": {"userId": "dan"}},
            "to-topic": {**event(), "target": {"userTopic": "news"}},
            "to-anon-session": {**event(), "target": {"sessionId": "s-anon"}},
            "anon-session-emit": event(serviceTopic=EMIT, sessionId="s-anon"),
            "other-ws": event(ws="Z", serviceTopic=EMIT, userId="dan", sessionId="s-dan"),
            "contexts": event("runtime.contexts.updated"),
        }
        readable = {name: sorted(k for k, e in cases.items() if event_readable(perms(name), e)) for name in USERS}
        every_ws = sorted(set(cases) - {"other-ws", "contexts"})
        assert readable == {
            "alice": every_ws,
            "bob": sorted(set(every_ws) - {"apikeys"}),
            "carol": [],
            "dan": ["dan-emit", "to-dan", "to-topic"],
            "anon": ["anon-session-emit", "to-anon-session"],
            "root": sorted(set(cases) - {"contexts"}),
        }

    def test_user_topics_grant_nothing_without_topics(self) -> None:
        assert not event_readable(perms("bob", {}), {**event(), "target": {"userTopic": "news"}})

    def test_create(self) -> None:
        emitted = event(serviceTopic=EMIT, userId="dan")
        assert all(event_creatable(perms(name), emitted) for name in USERS)
        assert not event_creatable(perms("dan"), event(ws="W"))  # not the emit topic
        assert not event_creatable(perms("dan"), event(ws="Z", serviceTopic=EMIT))
        native = event("workspaces.deleted", serviceTopic=EMIT)
        assert not event_creatable(perms("alice"), native, native=True)
        assert event_creatable(perms("root"), native, native=True)

    def test_no_dsul_rules(self) -> None:
        dan = perms("dan", {})
        assert not event_creatable(dan, event(serviceTopic=EMIT, userId="dan"))
        assert event_readable(dan, event(serviceTopic=EMIT, userId="dan"))
