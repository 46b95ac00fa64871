"""User topics and targeted events (issue 17 item 6): ``createUserTopic`` / ``joinUserTopic``
store members and record ``events.userTopics.*``; the live stream delivers an event with a
``target`` only to that user, that session or the topic's members, and the search shows targeted
events to their addressees (and, as every event, to owners and editors)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.shared_state import SharedStateActivities
from core.events.user_topics import members_of
from schemas.runs import UserTopicRequest
from tests.api.helpers import make_user, workspace_with_editor
from tests.api.test_events_read import collect, sse
from tests.stack import Stack

AUTOMATIONS: dict[str, Any] = {
    "notify": {"name": "notify", "when": {"endpoint": True}, "do": [
        {"emit": {"event": "note", "payload": {"text": "{{body.text}}"}, "target": "{{body.target}}"}}]},
    "create": {"name": "create", "when": {"endpoint": True}, "do": [
        {"createUserTopic": {"topic": "{{body.topic}}", "userIds": "{{body.userIds}}"}}]},
    "createMine": {"name": "createMine", "when": {"endpoint": True}, "do": [
        {"createUserTopic": {"topic": "{{body.topic}}"}}]},
    "join": {"name": "join", "when": {"endpoint": True}, "do": [
        {"joinUserTopic": {"topic": "{{body.topic}}"}}]},
    "joinThem": {"name": "joinThem", "when": {"endpoint": True}, "do": [
        {"joinUserTopic": {"topic": "{{body.topic}}", "userIds": "{{body.userIds}}"}}]},
}


async def _hook(stack: Stack, ws: str, endpoint: str, body: dict[str, Any],
                user: dict[str, str] | None = None) -> Any:
    headers = {"authorization": user["authorization"]} if user else {}
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/{endpoint}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _notes(stack: Stack, ws: str, headers: dict[str, str]) -> list[str]:
    listed = await stack.http.get(f"/v2/workspaces/{ws}/events", params={"types": "note"}, headers=headers)
    assert listed.status_code == 200, listed.text
    return sorted(e["payload"]["text"] for e in listed.json()["result"]["events"])


async def test_targeted_events_reach_their_addressees_only(stack: Stack) -> None:
    ws, owner, _ = await workspace_with_editor(stack, AUTOMATIONS)
    alice, bob, carol = (await make_user(stack, "alice"), await make_user(stack, "bob"),
                         await make_user(stack, "carol"))
    readers = {"alice": alice, "bob": bob, "carol": carol, "owner": owner, "admin": stack.auth}
    sends = [("to-alice", {"userId": alice["id"]}), ("to-bob", {"userId": bob["id"]}),
             ("to-bob-session", {"sessionId": bob["sessionId"]}), ("news", {"userTopic": "news"}),
             ("to-all", None)]
    async with contextlib.AsyncExitStack() as opened:
        queues = {}
        for name, headers in readers.items():
            auth = {"authorization": headers["authorization"]}
            queues[name] = (await opened.enter_async_context(sse(stack, ws, {"types": "note"}, auth)))[0]
        # Alice joins the topic while her stream is open (the run's user: no userIds given).
        await _hook(stack, ws, "join", {"topic": "news"}, alice)
        for text, target in sends:
            await _hook(stack, ws, "notify", {"text": text, **({"target": target} if target else {})})
        # Untargeted events reach whoever may read them (here the owner and the superadmin, as
        # the anonymous run's events are the workspace's); targeted ones their addressees only.
        expected = {"alice": ["news", "to-alice"], "bob": ["to-bob", "to-bob-session"], "carol": [],
                    "owner": ["to-all"], "admin": ["to-all"]}
        for name, queue in queues.items():
            got = await collect(queue, len(expected[name]), timeout=15)
            assert sorted(e["payload"]["text"] for _, e in got) == expected[name], name
        await asyncio.sleep(0.5)  # and nothing else arrives
        assert all(queue.empty() for queue in queues.values()), {n: q.qsize() for n, q in queues.items()}

    # A stream opened later knows the topics from the database.
    async with sse(stack, ws, {"types": "note"}, {"authorization": alice["authorization"]}) as (later, _):
        await _hook(stack, ws, "notify", {"text": "news-2", "target": {"userTopic": "news"}})
        await _hook(stack, ws, "notify", {"text": "other-topic", "target": {"userTopic": "sports"}})
        got = await collect(later, 1, timeout=15)
        assert [e["payload"]["text"] for _, e in got] == ["news-2"]

    # The search: addressees read what is addressed to them; owners (and superadmins) read it all.
    every = sorted(["to-alice", "to-bob", "to-bob-session", "news", "news-2", "other-topic", "to-all"])
    assert await _notes(stack, ws, {"authorization": alice["authorization"]}) == ["news", "news-2", "to-alice"]
    assert await _notes(stack, ws, {"authorization": bob["authorization"]}) == ["to-bob", "to-bob-session"]
    assert await _notes(stack, ws, {"authorization": carol["authorization"]}) == []
    assert await _notes(stack, ws, owner) == every
    assert await _notes(stack, ws, stack.auth) == every


async def test_create_and_join_store_members_and_record_native_events(stack: Stack) -> None:
    ws, owner, _ = await workspace_with_editor(stack, AUTOMATIONS)
    alice, bob, carol = (await make_user(stack, "alice"), await make_user(stack, "bob"),
                         await make_user(stack, "carol"))

    async def members(topic: str) -> list[str]:
        async with stack.services.db.session() as session:
            return await members_of(session, ws, topic)

    async def natives() -> list[tuple[str, dict[str, Any]]]:
        listed = await stack.events(ws, types="events.userTopics.created,events.userTopics.joined", sort="asc")
        return [(e["type"], e["payload"]) for e in listed]

    await _hook(stack, ws, "create", {"topic": "team", "userIds": [alice["id"], bob["id"], alice["id"]]})
    assert await members("team") == sorted([alice["id"], bob["id"]])
    assert await natives() == [("events.userTopics.created", {"topic": "team", "userIds": [alice["id"], bob["id"]]})]
    # Creating an existing topic changes nothing (as the reference: joinUserTopic adds members).
    await _hook(stack, ws, "create", {"topic": "team", "userIds": [carol["id"]]})
    assert await members("team") == sorted([alice["id"], bob["id"]]) and len(await natives()) == 1
    # Joining adds the new members only, one event each.
    await _hook(stack, ws, "joinThem", {"topic": "team", "userIds": [bob["id"], carol["id"]]})
    assert await members("team") == sorted([alice["id"], bob["id"], carol["id"]])
    assert (await natives())[1:] == [("events.userTopics.joined", {"topic": "team", "user": {"id": carol["id"]}})]
    # Joining a topic that does not exist creates it; without userIds the run's user joins.
    await _hook(stack, ws, "join", {"topic": "fresh"}, bob)
    assert await members("fresh") == [bob["id"]]
    assert (await natives())[2:] == [("events.userTopics.created", {"topic": "fresh", "userIds": [bob["id"]]}),
                                     ("events.userTopics.joined", {"topic": "fresh", "user": {"id": bob["id"]}})]
    # createUserTopic without userIds: the run's user is the first member.
    await _hook(stack, ws, "createMine", {"topic": "mine"}, carol)
    assert await members("mine") == [carol["id"]]
    # Topics belong to their workspace: the same name elsewhere has its own members.
    other, _, _ = await workspace_with_editor(stack, AUTOMATIONS)
    await _hook(stack, other, "notify", {"text": "elsewhere", "target": {"userTopic": "team"}})
    assert await _notes(stack, other, {"authorization": alice["authorization"]}) == []
    # Membership events are the workspace's: its owner reads them, a member does not.
    listed = await stack.http.get(f"/v2/workspaces/{ws}/events", params={"types": "events.userTopics.joined"},
                                  headers=owner)
    assert len(listed.json()["result"]["events"]) == 2
    listed = await stack.http.get(f"/v2/workspaces/{ws}/events", params={"types": "events.userTopics.joined"},
                                  headers={"authorization": carol["authorization"]})
    assert listed.json()["result"]["events"] == []


async def test_bad_topic_changes_are_refused_and_store_nothing(stack: Stack) -> None:
    ws, _, _ = await workspace_with_editor(stack, AUTOMATIONS)
    # A wrong type is the instruction's error (the workflow checks it).
    refused = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/create", json={"topic": "t", "userIds": "abc"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "InvalidInstructionError" and "userIds" in refused.json()["message"]
    # Sizes the tables cannot hold: the activity refuses them once, without a retry.
    activities = SharedStateActivities(stack.services)
    for request, named in ((UserTopicRequest(workspace_id=ws, topic="t" * 201, user_ids=[], create=True), "topic"),
                           (UserTopicRequest(workspace_id=ws, topic="t", user_ids=["u" * 201], create=False), "userIds"),
                           (UserTopicRequest(workspace_id=ws, topic="t", user_ids=[f"u{i}" for i in range(1001)],
                                             create=False), "userIds")):
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(activities.user_topic, request)
        assert raised.value.non_retryable and named in raised.value.message
    async with stack.services.db.session() as session:
        assert await members_of(session, ws, "t") == []
    assert await stack.events(ws, types="events.userTopics.created") == []
