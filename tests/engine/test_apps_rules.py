"""The app rules at run time (spec §7.4, docs/apps.md "Running inside app instances", DECISIONS
9, 10): calls into instances, private automations, config merging and isolation, prefixed events,
listeners and waits inside instances, namespaced endpoints, per-instance contexts, nested apps.

Two apps are published once for the module: ``leaf`` and ``middle`` (which installs ``leaf`` as
``b``); the root workspace installs ``leaf`` as ``leaf`` and ``middle`` as ``mid``."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from core.apps import tree as tree_module
from core.apps.tree import grow_tree
from schemas.events import MAX_EVENT_TYPE
from tests.engine.helpers import Workspace, automation, executed, hook, listener, of_type
from tests.stack import Stack

PHOTO = "https://example.org/app.png"
RUN_INFO = {"appSlug": "{{run.appSlug}}", "appInstanceSlug": "{{run.appInstanceSlug}}",
            "appInstanceFullSlug": "{{run.appInstanceFullSlug}}", "parentAppSlug": "{{run.parentAppSlug}}",
            "automationSlug": "{{run.automationSlug}}"}

LEAF: dict[str, dict[str, Any]] = {
    "run": automation([], {"said": "{{config.greeting}} {{text}}", "level": "{{config.level}}",
                           "rootToken": "{{config.token}}", "run": RUN_INFO, "trigger": "{{run.trigger}}",
                           "workspace": "{{$workspace.appInstanceFullSlug}}"}),
    "shout": automation([{"emit": {"event": "shouted", "payload": {"text": "{{text}}"}}}]),
    "secret": {"name": "secret", "private": True, "do": [], "output": "leaf private"},
    "uses-private": automation([{"secret": {"output": "r"}}], "public got {{r}}"),
    "calls-parent": automation([{"parent-only": {}}]),
    "on-ping": listener(["ping"], [{"emit": {"event": "pong", "payload": {"n": "{{payload.n}}"}}}],
                        "{{payload.n}}"),
    "on-own-shout": listener(["shouted"], [], "heard {{payload.text}}"),
    "endpoint": hook([], "leaf endpoint {{body.x}}"),
    "contexts": automation([{"set": {"name": "global.leafOnly", "value": "L"}}],
                           {"rootValue": "{{global.rootValue}}", "leafOnly": "{{global.leafOnly}}"}),
    "waiter": automation([{"wait": {"oneOf": [{"event": "reply"}], "timeout": 15, "output": "got"}}],
                         "{{got.type}}"),
    "bad-emit": automation([{"emit": {"event": "x", "payload": "not an object"}}], "went on"),
    "long-emit": automation([{"emit": {"event": "{{name}}"}}], "emitted"),
}

MIDDLE: dict[str, dict[str, Any]] = {
    "run": automation([{"b.run": {"text": "{{text}}", "output": "r"}}], {"leaf": "{{r}}", "run": RUN_INFO}),
    "shout": automation([{"b.shout": {"text": "{{text}}"}}]),
}


@dataclass
class Apps:
    root: Workspace
    leaf: str
    middle: str


async def publish(stack: Stack, name: str, automations: dict[str, Any], **index: Any) -> str:
    slug = f"{name}{uuid.uuid4().hex[:6]}"
    source = await Workspace.create(stack, {k: {"name": k, **v} for k, v in automations.items()},
                                    name=name, description=f"the {name} app", photo=PHOTO, **index)
    published = await stack.http.post("/v2/apps", json={"workspaceId": source.id, "slug": slug},
                                      headers=stack.auth)
    assert published.status_code == 200, published.text
    return slug


@pytest.fixture(scope="module")
async def apps(sqlite_stack: Stack) -> Apps:
    stack = sqlite_stack
    leaf = await publish(stack, "leaf", LEAF, config={"value": {"greeting": "hi", "level": "leaf default"}})
    middle = await publish(stack, "middle", MIDDLE, config={"value": {"middleGreeting": "salut"}},
                           imports={"b": {"appSlug": leaf, "config": {"greeting": "{{config.middleGreeting}}"}}})
    root_automations: dict[str, dict[str, Any]] = {
        "call": hook([{"leaf.run": {"text": "{{body.text}}", "output": "r"}}], "{{r}}"),
        "call-nested": hook([{"mid.run": {"text": "via mid", "output": "m"}}, {"mid.b.run": {"text": "direct",
                                                                                           "output": "d"}}],
                            {"viaMid": "{{m}}", "direct": "{{d}}"}),
        "call-private": hook([{"leaf.secret": {}}]),
        "call-uses-private": hook([{"leaf.uses-private": {"output": "r"}}], "{{r}}"),
        "call-parent": hook([{"leaf.calls-parent": {}}]),
        "call-unknown-in-app": hook([{"leaf.nothing": {}}]),
        "parent-only": automation([], "root automation"),
        "shout": hook([{"leaf.shout": {"text": "{{body.text}}"}}]),
        "shout-nested": hook([{"mid.shout": {"text": "deep"}}]),
        "on-leaf-shouted": listener(["leaf.shouted"], [], "root heard {{payload.text}}"),
        "ping": hook([{"emit": {"event": "leaf.ping", "payload": {"n": "{{body.n}}"}}},
                      {"emit": {"event": "ping", "payload": {"n": "{% {{body.n}} + 100 %}"}}}]),
        "contexts": hook([{"set": {"name": "global.rootValue", "value": "R"}}, {"leaf.contexts": {"output": "l"}}],
                         {"leaf": "{{l}}", "rootSeesLeafOnly": "{% {{global.leafOnly}} exists %}"}),
        "wait-in-app": hook([{"leaf.waiter": {"output": "w"}}], "{{w}}"),
        "bad-emit": hook([{"leaf.bad-emit": {"output": "r"}}], "{{r}}"),
        "long-emit": hook([{"leaf.long-emit": {"name": "{{body.name}}", "output": "r"}}], "{{r}}"),
    }
    root = await Workspace.create(stack, {k: {"name": k, **v} for k, v in root_automations.items()},
                                  config={"value": {"token": "root-only", "leafGreeting": "hello"}},
                                  imports={"leaf": {"appSlug": leaf, "config": {"greeting": "{{config.leafGreeting}}"}},
                                           "mid": {"appSlug": middle}})
    return Apps(root, leaf, middle)


async def test_call_into_an_instance_runs_with_its_merged_config(apps: Apps) -> None:
    result = await apps.root.run("call", {"text": "there"})
    # the instance config (interpolated in the root's config) over the app's own config value
    assert result["said"] == "hello there" and result["level"] == "leaf default"
    assert "rootToken" not in result  # an app never sees its parent's config
    assert result["run"] == {"appSlug": apps.leaf, "appInstanceSlug": "leaf", "appInstanceFullSlug": "leaf",
                             "automationSlug": "run"}
    assert result["trigger"] == {"type": "automation", "value": "call"}
    assert result["workspace"] == "leaf"


async def test_root_calls_nested_instances_directly_and_through_their_parent(apps: Apps) -> None:
    result = await apps.root.run("call-nested")
    via_mid, direct = result["viaMid"], result["direct"]
    assert via_mid["run"]["appInstanceFullSlug"] == "mid"
    assert via_mid["leaf"]["said"] == "salut via mid"  # b's config comes from middle's config
    assert via_mid["leaf"]["run"] == {"appSlug": apps.leaf, "appInstanceSlug": "b", "appInstanceFullSlug": "mid.b",
                                      "parentAppSlug": apps.middle, "automationSlug": "run"}
    assert via_mid["leaf"]["trigger"] == {"type": "automation", "value": "mid.run"}
    assert direct["said"] == "salut direct"  # DECISIONS 9: the root may call mid.b.run


async def test_private_automations_are_callable_only_from_their_own_app(apps: Apps) -> None:
    body = (await apps.root.call("call-private")).error("ForbiddenError", status=403)
    assert "private" in body["message"] and body["at"]["instruction"] == "do[0]"
    assert await apps.root.run("call-uses-private") == "public got leaf private"


async def test_an_app_cannot_reach_its_parents_automations(apps: Apps) -> None:
    body = (await apps.root.call("call-parent")).error("ObjectNotFoundError", status=404)
    assert "'parent-only' not found" in body["message"]
    assert body["at"] == {"automation": "calls-parent", "instruction": "do[0]"}
    body = (await apps.root.call("call-unknown-in-app")).error("ObjectNotFoundError", status=404)
    assert "leaf.nothing" in body["message"]


async def test_events_emitted_inside_an_instance_are_prefixed_and_heard_on_both_sides(apps: Apps) -> None:
    call = await apps.root.call("shout", {"text": "yo"})
    call.ok()
    events = await call.wait_events(lambda ev: {"on-own-shout", "on-leaf-shouted"} <= {
        e["payload"]["slug"] for e in executed(ev)})
    [shouted] = of_type(events, "leaf.shouted")
    assert shouted["payload"] == {"text": "yo"}
    source = shouted["source"]
    assert (source["appSlug"], source["appInstanceSlug"], source["appInstanceFullSlug"],
            source["appInstanceDepth"]) == (apps.leaf, "leaf", "leaf", 1)
    outputs = {e["payload"]["slug"]: e["payload"]["output"] for e in executed(events)}
    assert outputs["on-own-shout"] == "heard yo"  # the instance's listener of its own `shouted`
    assert outputs["on-leaf-shouted"] == "root heard yo"  # the root's listener of `leaf.shouted`
    [own] = executed(events, "on-own-shout")
    assert own["source"]["appInstanceFullSlug"] == "leaf"


async def test_the_root_reaches_instance_listeners_only_with_the_prefix(apps: Apps) -> None:
    call = await apps.root.call("ping", {"n": 1})
    call.ok()
    events = await call.wait_events(lambda ev: bool(of_type(ev, "leaf.pong")))
    assert [e["payload"]["output"] for e in executed(events, "on-ping")] == [1]  # not the unprefixed 101
    assert [e["payload"] for e in of_type(events, "leaf.pong")] == [{"n": 1}]


async def test_nested_instance_events_use_the_full_prefix_and_stay_out_of_the_default_feed(apps: Apps) -> None:
    call = await apps.root.call("shout-nested")
    call.ok()
    deep = await call.wait_events(lambda ev: bool(of_type(ev, "mid.b.shouted")), appInstanceDepth=5)
    [shouted] = of_type(deep, "mid.b.shouted")
    assert shouted["source"]["appInstanceDepth"] == 2 and shouted["source"]["appInstanceFullSlug"] == "mid.b"
    assert shouted["source"]["parentAppSlug"] == apps.middle
    assert of_type(await call.events(), "mid.b.shouted") == []  # default appInstanceDepth is 1


async def test_instance_endpoints_are_namespaced(apps: Apps) -> None:
    assert await apps.root.run("leaf.endpoint", {"x": 1}) == "leaf endpoint 1"
    assert await apps.root.run("mid.b.endpoint", {"x": 2}) == "leaf endpoint 2"
    (await apps.root.call("endpoint")).error("ObjectNotFoundError", status=404)


async def test_each_instance_has_its_own_global_context(apps: Apps) -> None:
    # DECISIONS 10: the instance does not see the root's global, nor the root the instance's
    assert await apps.root.run("contexts") == {"leaf": {"leafOnly": "L"}, "rootSeesLeafOnly": False}


async def test_a_wait_inside_an_instance_listens_to_prefixed_names(apps: Apps) -> None:
    correlation_id = uuid.uuid4().hex
    task = asyncio.ensure_future(apps.root.call("wait-in-app", correlation_id=correlation_id))
    pending = await apps.root.wait_events(lambda ev: bool(ev), types="runtime.waits.pending",
                                          **{"source.correlationId": correlation_id})
    assert pending[0]["payload"]["wait"]["oneOf"] == [{"event": "leaf.reply", "filters": None}]
    await apps.root.send("reply")  # unprefixed: not for the instance
    await apps.root.send("leaf.reply")
    # The instance reads the event by its local name (issue 16, docs/apps.md).
    assert (await task).ok() == "reply"


async def test_an_invalid_emit_inside_an_instance_reports_a_prefixed_error(apps: Apps) -> None:
    call = await apps.root.call("bad-emit")
    assert call.ok() == "went on"
    events = await call.events()
    [error] = of_type(events, "leaf.error")
    assert error["payload"]["error"] == "InvalidEventError"
    assert error["source"]["appInstanceFullSlug"] == "leaf"
    assert of_type(events, "error") == []


async def test_an_event_name_too_long_once_prefixed_fails_the_run(apps: Apps) -> None:
    """``leaf.`` + the name must fit the log's type column: one character too many is the run's
    error (on PostgreSQL it would otherwise fail the flush of every event batched with it)."""
    fits = "n" * (MAX_EVENT_TYPE - len("leaf."))
    assert (await apps.root.call("long-emit", {"name": fits})).ok() == "emitted"
    body = (await apps.root.call("long-emit", {"name": fits + "n"})).error("InvalidEventError")
    assert f"at most {MAX_EVENT_TYPE}" in body["message"]


async def test_the_current_tree_is_grown_again_only_when_a_version_moves(sqlite_stack: Stack,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every webhook and every flush asks for the workspace's current tree: it is grown (configs
    rendered, automations indexed) once per revision and set of resolved versions."""
    stack = sqlite_stack
    grown: list[str] = []

    def counted(root: Any, placed: Any, root_secrets: Any = None) -> Any:
        grown.append(root.info.scope)
        return grow_tree(root, placed, root_secrets)

    monkeypatch.setattr(tree_module, "grow_tree", counted)
    solo = await publish(stack, "solo", {"hello": automation([], "v")})
    root = await Workspace.create(stack, {"noop": hook([])}, imports={"s": {"appSlug": solo}})
    trees = stack.services.trees
    _, first = await trees.current(root.id)
    once = grown.count(root.id)  # 1, or 0 when the import's own events had it grown already
    assert (await trees.current(root.id))[1] is first and grown.count(root.id) == once <= 1
    source = await stack.http.get(f"/v2/apps/{solo}", headers=stack.auth)
    assert source.status_code == 200, source.text
    again = await stack.http.post("/v2/apps", headers=stack.auth,
                                  json={"workspaceId": source.json()["workspaceId"], "slug": solo})
    assert again.status_code == 200, again.text
    _, moved = await trees.current(root.id)
    assert moved is not first and moved.versions["s"] != first.versions["s"]
    assert (await trees.current(root.id))[1] is moved and grown.count(root.id) == once + 1


async def test_a_new_instance_config_applies_to_the_next_runs(apps: Apps) -> None:
    """(Last in the module: it changes the root's `leaf` instance.)"""
    stack = apps.root.stack
    patched = await stack.http.patch(f"/v2/workspaces/{apps.root.id}/apps/leaf/config",
                                     json={"greeting": "yo", "level": "instance"}, headers=stack.auth)
    assert patched.status_code == 200, patched.text
    result = await apps.root.run("call", {"text": "again"})
    assert (result["said"], result["level"]) == ("yo again", "instance")


async def test_installing_and_uninstalling_through_the_api_changes_what_runs_can_call(apps: Apps) -> None:
    stack = apps.root.stack
    host = await Workspace.create(stack, {"use": hook([{"tool.run": {"text": "installed", "output": "r"}}],
                                                      "{{r.said}}", name="use")})
    (await host.call("use")).error("ObjectNotFoundError", status=404)
    base = f"/v2/workspaces/{host.id}/apps"
    installed = await stack.http.post(base, json={"appSlug": apps.leaf, "slug": "tool",
                                                  "config": {"greeting": "welcome"}}, headers=stack.auth)
    assert installed.status_code == 200, installed.text
    assert await host.run("use") == "welcome installed"
    assert (await stack.http.delete(f"{base}/tool", headers=stack.auth)).status_code == 200
    (await host.call("use")).error("ObjectNotFoundError", status=404)
