"""Activities of the instructions whose state every run of a workspace shares: ``rateLimit``
(counters, core/runs/rate_counters.py) and ``createUserTopic`` / ``joinUserTopic`` (topics and
their members, core/events/user_topics.py). Both are local activities: one short transaction
each, idempotent, so the local retry policy may run them again."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.events import user_topics
from core.runs import rate_counters
from core.runs.rate_counters import Sweeper
from core.services import Services
from schemas import activity_names as names
from schemas.events import EventSource
from schemas.runs import RateLimitRequest, RateLimitResult, UserTopicRequest

log = logging.getLogger("tideway.activities")


class SharedStateActivities:
    def __init__(self, services: Services):
        self.db = services.db
        self.workspaces = services.workspaces
        self.sweeper = Sweeper()  # ended rate windows are deleted lazily, once a minute at most

    @activity.defn(name=names.RATE_LIMIT)
    async def rate_limit(self, request: RateLimitRequest) -> RateLimitResult:
        result = await self.db.run_sync(rate_counters.take, request)
        if self.sweeper.due():
            try:
                swept = await self.db.run_sync(rate_counters.sweep)
                log.debug("rate counters: %d ended windows and old takes deleted", swept)
            except Exception as exc:  # housekeeping: the take is done, the next sweep retries
                log.warning("rate counter sweep failed: %s", exc)
        return result

    @activity.defn(name=names.USER_TOPIC)
    async def user_topic(self, request: UserTopicRequest) -> None:
        problem = user_topics.request_problem(request)
        if problem is not None:  # the same on every attempt: no retry
            raise ApplicationError(problem, {"topic": request.topic[:user_topics.TOPIC_MAX_CHARS]},
                                   type="InvalidInstructionError", non_retryable=True)
        redact: Any = await self.workspaces.redactor(request.workspace_id)
        info = activity.info()
        source = EventSource(workspaceId=request.workspace_id, correlationId=request.correlation_id or uuid.uuid4().hex, userId=request.actor,
                             workflowId=info.workflow_id, runId=info.workflow_run_id)
        await self.db.run_sync(user_topics.change_topic, request, source, redact)

    def all(self) -> list[Any]:
        return [self.rate_limit, self.user_topic]
