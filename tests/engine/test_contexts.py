"""Contexts (spec §5, docs/events.md "Contexts", DECISIONS 11, 19): what ``global``, ``user``,
``session``, ``run``, ``config`` and ``$workspace`` hold, which writes persist across runs and for
whom, identity switches with ``set user.id`` / ``set session.id``, and the context quota."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.helpers import make_user
from tests.engine.helpers import Workspace, hook, of_type
from tests.stack import Stack


def s(name: str, value: Any, type: str | None = None) -> dict[str, Any]:
    return {"set": {"name": name, "value": value, **({"type": type} if type else {})}}


AUTOMATIONS: dict[str, dict[str, Any]] = {
    "builtins": hook([], {"global": "{{global}}", "workspace": "{{$workspace}}", "config": "{{config}}",
                          "run": {"correlationId": "{{run.correlationId}}", "depth": "{{run.depth}}",
                                  "trigger": "{{run.trigger}}", "slug": "{{run.automationSlug}}",
                                  "dateIsIso": "{% {{run.date}} matches regex(^\\d{4}-\\d\\d-\\d\\dT) %}"},
                          "userExists": "{% {{user.id}} exists %}", "userId": "{{user.id}}",
                          "sessionId": "{{session.id}}"}),
    "write": hook([s("{{body.context}}.{{body.key}}", "{{body.value}}", "{{body.type}}")]),
    "remove": hook([{"delete": {"name": "{{body.context}}.{{body.key}}"}}]),
    "read": hook([], "{% {{body.context}} == global and {{global}} or {{body.context}} == user and {{user}} "
                     "or {{body.context}} == session and {{session}} or {{run}} %}"),
    "read-all": hook([], {"global": "{{global}}", "user": "{{user}}", "session": "{{session}}", "run": "{{run}}"}),
    "set-config": hook([s("config.mode", "changed"), {"show-config": {"output": "inner"}}],
                       {"now": "{{config.mode}}", "inner": "{{inner}}"}),
    "show-config": {"name": "show-config", "do": [], "output": "{{config.mode}}"},
    "switch-session": hook([s("session.id", "{{body.session}}"), s("session.visits[]", "{{body.visit}}"),
                            {"emit": {"event": "after.switch"}}],
                           {"id": "{{session.id}}", "visits": "{{session.visits}}"}),
    "switch-user": hook([s("user.id", "{{body.user}}"), s("user.prefs[]", "{{body.pref}}")],
                        {"id": "{{user.id}}", "prefs": "{{user.prefs}}", "session": "{{session.id}}"}),
    "child-sees-run": hook([s("run.ticket", "T-{{body.n}}"), s("session.note", "n{{body.n}}"),
                            {"read-run": {"output": "child"}}], "{{child}}"),
    "read-run": {"name": "read-run", "do": [s("run.fromChild", True)],
                 "output": {"ticket": "{{run.ticket}}", "note": "{{session.note}}"}},
    "over-quota": hook([s("global.big1", "{{body.s}}"), s("global.big2", "{{body.s}}")]),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {"name": slug, **a} for slug, a in AUTOMATIONS.items()},
                                  config={"value": {"mode": "initial", "nested": {"k": [1]}}})


async def write(ws: Workspace, context: str, key: str, value: Any, type: str = "replace", **kwargs: Any) -> None:
    await ws.run("write", {"context": context, "key": key, "value": value, "type": type}, **kwargs)


async def read_all(ws: Workspace, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = await ws.run("read-all", {}, **kwargs)
    return result


async def test_builtin_context_values(ws: Workspace) -> None:
    call = await ws.call("builtins")
    result = call.ok()
    assert {k: result["global"][k] for k in ("workspaceId", "workspaceSlug", "workspaceName")} == {
        "workspaceId": ws.id, "workspaceSlug": ws.slug, "workspaceName": "Test workspace"}
    assert result["workspace"] == {"id": ws.id, "slug": ws.slug, "name": "Test workspace",
                                   "config": {"value": {"mode": "initial", "nested": {"k": [1]}}}}
    assert result["config"] == {"mode": "initial", "nested": {"k": [1]}}
    assert result["run"] == {"correlationId": call.correlation_id, "depth": 1, "slug": "builtins",
                             "trigger": {"type": "endpoint", "value": "builtins"}, "dateIsIso": True}
    # an anonymous call has no user, and its session falls back to the correlation id
    assert result["userExists"] is False and result["sessionId"] == call.correlation_id


async def test_global_persists_for_every_later_run(ws: Workspace) -> None:
    await write(ws, "global", "counter", 1)
    await write(ws, "global", "list", "a", "push")
    await write(ws, "global", "list", "b", "push")
    await write(ws, "global", "obj", {"a": 1})
    await write(ws, "global", "obj", {"b": 2}, "merge")
    state = (await read_all(ws))["global"]
    assert (state["counter"], state["list"], state["obj"]) == (1, ["a", "b"], {"a": 1, "b": 2})
    await ws.run("remove", {"context": "global", "key": "counter"})
    assert "counter" not in (await read_all(ws))["global"]


async def test_anonymous_user_writes_are_not_saved_and_sessions_are_per_request(ws: Workspace) -> None:
    await write(ws, "user", "color", "blue")
    await write(ws, "session", "step", 2)
    state = await read_all(ws)
    assert "color" not in state["user"] and "step" not in state["session"]


async def test_the_same_correlation_id_shares_session_and_run(ws: Workspace) -> None:
    correlation = {"x-correlation-id": uuid.uuid4().hex}
    await write(ws, "session", "step", 2, headers=correlation)
    await write(ws, "run", "trace", "t1", headers=correlation)
    state = await read_all(ws, headers=correlation)
    assert state["session"]["step"] == 2 and state["run"]["trace"] == "t1"


async def test_user_and_session_persist_for_a_signed_in_user_only(sqlite_stack: Stack, ws: Workspace) -> None:
    ann, bob = await make_user(sqlite_stack, "ann"), await make_user(sqlite_stack, "bob")
    as_ann = {"authorization": ann["authorization"]}
    await write(ws, "user", "color", "blue", headers=as_ann)
    await write(ws, "session", "cart", ["book"], headers=as_ann)
    state = await read_all(ws, headers=as_ann)
    assert state["user"]["id"] == ann["id"] and state["user"]["color"] == "blue"
    assert state["session"]["id"] == ann["sessionId"] and state["session"]["cart"] == ["book"]
    other = await read_all(ws, headers={"authorization": bob["authorization"]})
    assert "color" not in other["user"] and "cart" not in other["session"]


async def test_set_session_id_switches_to_a_persistent_session(ws: Workspace) -> None:
    session = f"visitor-{uuid.uuid4().hex[:8]}"
    first = await ws.call("switch-session", {"session": session, "visit": 1})
    assert first.ok() == {"id": session, "visits": [1]}
    # a later, unrelated request switching to the same session finds what the first one saved
    assert await ws.run("switch-session", {"session": session, "visit": 2}) == {"id": session, "visits": [1, 2]}
    [event] = of_type(await first.events(), "after.switch")
    assert event["source"]["sessionId"] == session  # later events carry the new session


async def test_set_user_id_switches_user_and_session(ws: Workspace) -> None:
    user = f"external-{uuid.uuid4().hex[:8]}"
    assert await ws.run("switch-user", {"user": user, "pref": "dark"}) == {"id": user, "prefs": ["dark"],
                                                                           "session": user}
    assert await ws.run("switch-user", {"user": user, "pref": "big"}) == {"id": user, "prefs": ["dark", "big"],
                                                                          "session": user}


async def test_set_config_is_local_to_the_run(ws: Workspace) -> None:
    assert await ws.run("set-config") == {"now": "changed", "inner": "changed"}
    assert (await ws.run("builtins"))["config"]["mode"] == "initial"  # DECISIONS 11: never persisted


async def test_called_automations_share_run_session_and_write_back(ws: Workspace) -> None:
    assert await ws.run("child-sees-run", {"n": 4}) == {"ticket": "T-4", "note": "n4"}


async def test_context_quota(ws: Workspace) -> None:
    call = await ws.call("over-quota", {"s": "q" * 60_000})
    body = call.error("ContextQuotaExceededError")
    assert body["details"] == {"context": "global", "limit": 100_000}
    assert body["at"] == {"automation": "over-quota", "instruction": "do[1]"}
    # writes made before the failing one are kept (as each write was saved at once in the
    # reference); the write over the quota is not
    saved = (await read_all(ws))["global"]
    assert len(saved["big1"]) == 60_000 and "big2" not in saved
    await ws.run("remove", {"context": "global", "key": "big1"})
