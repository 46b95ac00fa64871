"""Typed input and output of an AutomationWorkflow run (what crosses Temporal)."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from schemas.events import Event


class Trigger(BaseModel):
    type: str  # endpoint | event | schedule | automation | test
    value: str | None = None
    id: str | None = None
    # An event's name where the listener runs, when it differs from ``value`` (the full name):
    # inside app instance ``toolbox``, ``toolbox.executed`` is ``executed`` (spec §7.4).
    local_value: str | None = None

    def public(self) -> dict[str, Any]:
        """The trigger as events and the run's ``executed`` payload show it: the full name."""
        return self.model_dump(exclude_none=True, exclude={"local_value"})

    def seen(self) -> dict[str, Any]:
        """The trigger as the run's automation reads it (``run.trigger``): the local name."""
        public = self.public()
        return {**public, "value": self.local_value} if self.local_value is not None else public


class WorkspaceRef(BaseModel):
    """The workspace revision a run is pinned to (an edit never changes a run in flight)."""

    id: str
    slug: str
    name: str
    revision: int
    config: dict[str, Any] = Field(default_factory=dict)  # interpolated config.value
    uses_contexts: bool = True  # False: no automation reads persisted contexts, skip loading them
    secrets: list[str] = Field(default_factory=list)  # values redacted from native events
    endpoints: list[str] = Field(default_factory=list)  # its webhook names (global.endpoints)


class InstanceInfo(BaseModel):
    """Where an automation runs: the root workspace (full_slug '') or an app instance."""

    full_slug: str = ""
    slug: str = ""
    app_slug: str | None = None
    version: str | None = None
    depth: int = 0  # number of app ancestors (1 = direct import)
    parent_app_slug: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)  # merged, interpolated config
    secrets: list[str] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)  # slugs of its enabled imports
    endpoints: list[str] = Field(default_factory=list)  # its webhook names, as called on the root
    scope: str = ""  # key of its persisted global/user/session contexts
    uses_contexts: bool = True  # False: none of its automations mention persisted contexts


WIRE_VERSION = 1  # RunInput's format; a change that old workers could not read bumps it


class RunInput(BaseModel):
    """What starts a run. Small on purpose (the automation as stored, ids, the trigger); large
    payloads travel by reference. Histories written before ``wire_version`` existed read as 1."""

    wire_version: int = WIRE_VERSION
    workspace: WorkspaceRef
    automation_slug: str
    automation: dict[str, Any] | None = None  # None: loaded from the pinned revision at start
    payload: dict[str, Any] = Field(default_factory=dict)
    payload_ref: str | None = None  # blob id when the payload was too big to inline
    trigger: Trigger
    correlation_id: str
    user_id: str | None = None
    session_id: str | None = None
    api_key_id: str | None = None  # the REST API key the trigger carried: its rules join execute checks
    http: dict[str, Any] | None = None  # request facts for webhook runs (event source.http)
    http_response: bool = False  # $http is available (the webhook-started automation)
    depth: int = 0  # depth of the emitting automation for event-triggered runs
    after_seq: int = 0  # sequence of the triggering event: waits match events after it
    instance: str = ""  # full slug of the app instance the automation belongs to ('' = root)
    instance_info: InstanceInfo | None = None  # that instance (None: the root workspace)
    versions: dict[str, str] = Field(default_factory=dict)  # {instance full slug: app version} pin
    record_interaction: bool = True  # runtime.interactions.triggered (not for automation emits)
    rerun_of: str | None = None  # the run record this run re-runs (POST …/runs/{runId}/rerun)


class ListenerStart(BaseModel):
    """One listener run to start for a persisted event (workflows/dispatch.py)."""

    workflow_id: str  # deterministic per (event, automation): a second start is refused
    run: RunInput


class ListenerStarts(BaseModel):
    """The listener runs of one flush, started together by one local activity."""

    starts: list[ListenerStart]
    task_queue: str


class RunResult(BaseModel):
    output: Any = None
    output_ref: str | None = None  # blob id when the output was too big to inline
    has_output: bool = True
    status: int | None = None  # $http.status
    headers: dict[str, str] = Field(default_factory=dict)  # $http.headers
    # The run's step trace is in its record ``record_id`` (the reference to it, docs/runs.md);
    # ``trace`` stays empty in results (kept so results of older runs still read).
    trace: dict[str, Any] | None = None
    record_id: str | None = None


RUN_STATUSES = ("running", "waiting", "succeeded", "failed", "cancelled")
ENDED_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


def run_record_id(workflow_id: str) -> str:
    """The id of a run's record (``{runId}`` of the runs routes): derived from its workflow id, so
    the launcher, the workflow and the Activity page all know it without asking."""
    return hashlib.sha256(workflow_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# Request headers a run record never keeps (and a re-run never replays): the caller's credentials.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-prismeai-api-key", "proxy-authorization"})


def without_credentials(payload: Any) -> dict[str, Any]:
    """A run's input as its record keeps it: the request headers without credentials (a re-run
    runs as whoever asks for it, never with the original caller's token or cookie)."""
    kept = dict(payload) if isinstance(payload, dict) else {}
    headers = kept.get("headers")
    if isinstance(headers, dict):
        kept["headers"] = {k: v for k, v in headers.items() if str(k).lower() not in CREDENTIAL_HEADERS}
    return kept


class RunRecord(BaseModel):
    """A run's row in the ``runs`` table, as the workflow reports it in its flushes: written when
    the run first flushes (``running``), updated when it waits and when it ends, in the same
    batch as the events of that flush. ``input`` only in the first report, ``trace`` only when
    the status changes (a running run's trace is read live with the workflow's ``trace`` query)."""

    id: str
    workflow_id: str
    temporal_run_id: str
    workspace_id: str
    revision: int
    automation: str
    instance: str = ""
    trigger_type: str
    trigger_value: str | None = None
    correlation_id: str
    user_id: str | None = None
    status: str
    started_at: str  # ISO 8601 UTC
    ended_at: str | None = None
    duration_ms: int | None = None
    input: Any = None
    has_input: bool = False  # the first report carries the input (redacted)
    output: Any = None
    error: dict[str, Any] | None = None
    trace: dict[str, Any] | None = None
    rerun_of: str | None = None


class ContextWrite(BaseModel):
    id: str
    scope: str  # workspace id (or "<workspace>:<app instance full slug>")
    kind: str  # global | user | session | run
    key: str
    type: str  # replace | merge | push | delete
    path: list[str | int]
    value: Any = None
    ttl_seconds: float | None = None


class ContextKeys(BaseModel):
    scope: str
    user_id: str | None = None
    session_key: str | None = None
    correlation_id: str | None = None


class TriggerSpec(BaseModel):
    """An automation to start for a persisted event (its child workflow id derives from both)."""

    event_id: str
    automation_slug: str
    instance: str = ""  # full slug of the app instance owning the automation
    event_name: str | None = None  # the event's name inside that instance, when not its full name


class FlushRequest(BaseModel):
    workspace_id: str
    events: list[Event] = Field(default_factory=list)
    writes: list[ContextWrite] = Field(default_factory=list)
    charges: dict[str, int] = Field(default_factory=dict)  # rate-limit tokens used since the last flush
    not_watermark: list[str] = Field(default_factory=list)  # event ids left out of the watermark
    quiet: list[str] = Field(default_factory=list)  # event ids stored and waitable that start no listener
    user_id: str | None = None  # the emitting run's user: its listener runs act for the same user
    dispatch: bool = True
    run: RunRecord | None = None  # the run's record, when it changed since the last flush


class FlushResult(BaseModel):
    watermark: int = 0  # highest sequence number among the persisted events
    seqs: dict[str, int] = Field(default_factory=dict)  # event id -> sequence (events with triggers)
    versions: dict[str, str] = Field(default_factory=dict)  # app versions the listeners run with
    instances: dict[str, InstanceInfo] = Field(default_factory=dict)  # instances of the listeners
    triggers: list[TriggerSpec] = Field(default_factory=list)
    workspace: WorkspaceRef | None = None  # current revision, set when there are triggers
    throttle_seconds: float = 0.0  # how long the run must wait (rate limits)


class WaitRequest(BaseModel):
    wait_id: str
    workspace_id: str
    workflow_id: str
    event_types: list[str]
    filters: list[dict[str, Any] | None]
    cancel_triggers: list[bool]
    after_seq: int
    timeout: float


class RateLimitRequest(BaseModel):
    """Take ``consume`` points of ``limit`` per ``window`` seconds for ``consumer`` under ``name``,
    counted for every run of the instance ``scope`` (the database holds the counters)."""

    take_id: str  # the instruction execution: a retried take counts once
    workspace_id: str
    scope: str
    name: str
    consumer: str
    window: float
    limit: int
    consume: int = 1


class RateLimitResult(BaseModel):
    ok: bool
    remaining: int
    retry_after: float  # seconds until the current window ends (0 when ok)


class CustomCodeRequest(BaseModel):
    """Run ``function`` of a Custom Code instance: its code and declared parameters come from the
    instance's config (docs/custom-code.md)."""

    function: str
    code: str
    declared: list[str] = Field(default_factory=list)  # the function's parameter names
    parameters: dict[str, Any] = Field(default_factory=dict)
    language: str = "javascript"


class CustomCodeOutcome(BaseModel):
    value: Any = None
    console: list[str] = Field(default_factory=list)
    error: dict[str, Any] | None = None  # the CustomCodeError body: {error, message, details}


class UserTopicRequest(BaseModel):
    """Create a user topic (its first members) or add members to it (spec: events.userTopics.*)."""

    workspace_id: str
    topic: str
    user_ids: list[str]
    create: bool
    actor: str | None = None
    correlation_id: str | None = None  # the run's: its events.userTopics.* events join its activity


class AuthorizeRequest(BaseModel):
    """May ``user_id`` execute ``automation`` (spec §8.4)? Asked only for automations with an
    ``authorizations.action``: every other automation is executable by anyone."""

    workspace_id: str
    revision: int
    user_id: str | None = None
    api_key_id: str | None = None
    automation: dict[str, Any]


class CallRequest(BaseModel):
    """Resolve an automation name as called from inside ``caller`` (an instance full slug)."""

    workspace_id: str
    revision: int
    versions: dict[str, str] = Field(default_factory=dict)
    caller: str = ""
    name: str


class CallTarget(BaseModel):
    instance: InstanceInfo
    slug: str
    automation: dict[str, Any] | None = None
    missing_app: str | None = None  # the call names an instance whose app is not on this Tideway


# The API's long poll of a webhook run's `$http.chunk`s (workflow update, see AutomationWorkflow).
HTTP_CHUNKS_UPDATE = "http_chunks"
HTTP_CHUNKS_MAX_BYTES = 1_000_000  # JSON bytes of chunks per answer: far below Temporal's 2 MB payload limit
