"""Instructions whose state outlives the run and is shared by every run of the workspace:
``rateLimit`` (counters in the database) and the user topics of targeted events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from language import UNDEFINED
from language.values import js_type_name, strip_undefined
from schemas.errors import InvalidInstructionError
from schemas.instructions import CreateUserTopic, JoinUserTopic, RateLimit
from schemas.runs import RateLimitRequest, UserTopicRequest
from workflows.interpreter.frames import BreakSignal, Frame

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter

MAX_RATE_WINDOW = 366 * 86400  # a year: longer windows are a mistake, not a limit
MAX_TOPIC_CHARS = 200  # of a topic name and of a user id (the activity refuses longer ones too)
MAX_TOPIC_USERS = 1000  # user ids per instruction


def _number(value: Any, field: str, *, minimum: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
        raise InvalidInstructionError(f"rateLimit.{field} must be a number ≥ {minimum:g}, got {js_type_name(value)} "
                                      f"{value!r}", {"field": field})
    return float(value)


async def run_rate_limit(it: Interpreter, frame: Frame, node: RateLimit) -> Any:
    """``{ok, retryAfter, remaining, limit, window, consumer}``; with ``break: true`` a refused
    take stops the automation (its output says why) instead of answering ``ok: false``."""
    args = strip_undefined(it.render(frame, node.model_dump(by_alias=True, exclude={"ignored_keys", "output"},
                                                             exclude_none=True)))
    name, consumer = args.get("name"), args.get("consumer")
    if not isinstance(name, str) or not name:
        raise InvalidInstructionError("rateLimit.name must be a non-empty string", {"field": "name"})
    if not isinstance(consumer, str | int | float) or isinstance(consumer, bool) or consumer == "":
        raise InvalidInstructionError("rateLimit.consumer must be a non-empty string (a user id, an ip, …)",
                                      {"field": "consumer"})
    window = _number(args.get("window"), "window", minimum=1)
    if window > MAX_RATE_WINDOW:
        raise InvalidInstructionError(f"rateLimit.window must be at most {MAX_RATE_WINDOW} seconds",
                                      {"field": "window"})
    limit = int(_number(args.get("limit"), "limit", minimum=0))
    consume = int(_number(args.get("consume", 1), "consume", minimum=1))
    request = RateLimitRequest(take_id=it.effects.new_id(), workspace_id=it.run.workspace.id,
                               scope=frame.instance.scope or it.run.workspace.id, name=name,
                               consumer=str(consumer), window=window, limit=limit, consume=consume)
    result = await it.effects.rate_limit(request)
    answer = {"ok": result.ok, "retryAfter": result.retry_after, "remaining": result.remaining, "limit": limit,
              "window": window if not window.is_integer() else int(window), "consumer": str(consumer)}
    if not result.ok and args.get("break") is True:
        raise BreakSignal("automation", answer)
    return answer


async def run_user_topic(it: Interpreter, frame: Frame, node: CreateUserTopic | JoinUserTopic) -> Any:
    topic = it.render(frame, node.topic)
    if not isinstance(topic, str) or not topic.strip() or len(topic) > MAX_TOPIC_CHARS:
        raise InvalidInstructionError(f"{node.keyword}.topic must be a text of 1 to {MAX_TOPIC_CHARS} characters",
                                      {"field": "topic"})
    given = strip_undefined(it.render(frame, node.user_ids)) if node.user_ids is not None else None
    if given is None:
        given = [it.user_id] if it.user_id else []
    if (not isinstance(given, list) or len(given) > MAX_TOPIC_USERS
            or not all(isinstance(u, str) and 0 < len(u) <= MAX_TOPIC_CHARS for u in given)):
        raise InvalidInstructionError(
            f"{node.keyword}.userIds must be a list of at most {MAX_TOPIC_USERS} user ids (1 to {MAX_TOPIC_CHARS} "
            "characters each)", {"field": "userIds"})
    await it.effects.user_topic(UserTopicRequest(workspace_id=it.run.workspace.id, topic=topic, user_ids=given,
                                                 create=isinstance(node, CreateUserTopic), actor=it.user_id,
                                                 correlation_id=it.run.correlation_id))
    return UNDEFINED
