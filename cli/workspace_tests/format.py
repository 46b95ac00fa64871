"""The test file format (docs/workspace-tests.md): ``tests/<name>.yml`` beside ``automations/``.

A file holds ``cases:`` (and ``mocks:`` every case of the file shares). Each case names one
trigger (``automation`` + ``payload``, ``webhook`` or ``event``), its input (``user``, ``config``,
``secrets``, ``contexts``, ``now``), its ``mocks``, the ``events`` it delivers to waits, and what
it ``expect``s. Files are parsed into these models once; every model forbids unknown fields, so a
misspelt expectation is an error naming its line, never a case that silently checks nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CONTEXT_KINDS = ("global", "user", "session")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class WebhookTrigger(Strict):
    """``POST …/webhooks/{endpoint}`` as a caller sends it."""

    endpoint: str = Field(min_length=1)
    method: str = "POST"
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value.upper() not in WEBHOOK_METHODS:
            raise ValueError(f"must be one of {', '.join(WEBHOOK_METHODS)}")
        return value.upper()


class EventTrigger(Strict):
    """An event sent to the workspace (``POST …/events``): every listener it would start runs."""

    type: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)


class ErrorSpec(Strict):
    """An error a mock raises: its name, message and details, as the run's ``$error`` shows it."""

    error: str = Field(min_length=1)
    message: str | None = None
    details: Any = None


class FetchMock(Strict):
    """Answers the run's ``fetch`` requests whose method and URL match: ``url`` with ``*``
    wildcards (matched without the query string unless the pattern has a ``?``) or ``urlRegex``
    (searched in the whole URL). ``times`` uses it that many times at most."""

    method: str | None = None
    url: str | None = None
    url_regex: str | None = Field(None, alias="urlRegex")
    status: int = Field(200, ge=100, le=599)
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    sse: list[Any] | None = None  # an event stream: each item one `data:` chunk
    error: str | None = None  # a request that got no answer (the run sees a FetchError)
    times: int | None = Field(None, ge=1)

    @field_validator("url_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


class AutomationMock(Strict):
    """Answers calls to an automation (``nlu.parse``, ``sendMail``) instead of running it."""

    output: Any = None
    error: ErrorSpec | None = None


class Mocks(Strict):
    fetch: list[FetchMock] = Field(default_factory=list)
    automations: dict[str, AutomationMock] = Field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fetch or self.automations)


class Contexts(Strict):
    """Persisted contexts the run finds (the root workspace's)."""

    global_: dict[str, Any] = Field(default_factory=dict, alias="global")
    user: dict[str, Any] = Field(default_factory=dict)
    session: dict[str, Any] = Field(default_factory=dict)


class DeliveredEvent(Strict):
    """An event that answers the first ``wait`` it matches (type and filters)."""

    type: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    source: dict[str, Any] = Field(default_factory=dict)


class ExpectedEvent(Strict):
    """Matched as a subset: the given fields of ``payload`` and ``source``, the ``type`` exactly."""

    type: str | None = None
    payload: Any = None
    source: dict[str, Any] | None = None
    target: dict[str, Any] | None = None


class ExpectedHttp(Strict):
    status: int | None = None
    headers: dict[str, str] | None = None  # a subset, names case-insensitive


class ExpectedError(Strict):
    error: str | None = None
    message: str | None = None  # a substring of the message


class ExpectedFetch(Strict):
    """A request the run sent (offline): ``url`` with ``*`` wildcards, the rest subsets."""

    method: str | None = None
    url: str | None = None
    body: Any = None
    headers: dict[str, Any] | None = None
    query: dict[str, Any] | None = None


class Expect(Strict):
    output: Any = None  # exact; compare `"output" in model_fields_set` for an expected null
    output_matches: Any = Field(None, alias="outputMatches")  # a subset
    http: ExpectedHttp | None = None
    events: list[ExpectedEvent] | None = None
    events_in_any_order: bool = Field(False, alias="eventsInAnyOrder")
    events_absent: list[ExpectedEvent] | None = Field(None, alias="eventsAbsent")
    reached: list[str] | None = None
    not_reached: list[str] | None = Field(None, alias="notReached")
    error: ExpectedError | None = None
    fetches: list[ExpectedFetch] | None = None

    @property
    def wants_output(self) -> bool:
        return "output" in self.model_fields_set


class Case(Strict):
    name: str = Field(min_length=1)
    automation: str | None = None
    payload: dict[str, Any] | None = None
    webhook: WebhookTrigger | None = None
    event: EventTrigger | None = None
    user: str | None = None
    role: str | None = None  # the user's role in the workspace (offline `authorizations` checks)
    config: dict[str, Any] | None = None  # merged over the workspace's config.value (deep)
    secrets: dict[str, Any] | None = None  # the workspace's secrets, for `{{secret.X}}` in its config
    contexts: Contexts | None = None
    now: datetime | None = None  # the run's clock at its start (default: the real time)
    mocks: Mocks = Field(default_factory=Mocks)
    allow_network: bool = Field(False, alias="allowNetwork")
    events: list[DeliveredEvent] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    skip: str | None = None  # a reason: the case is listed, not run

    @property
    def trigger_kind(self) -> str:
        return "automation" if self.automation else "webhook" if self.webhook else "event"

    def offline_only(self, file_mocks: Mocks) -> list[str]:
        """What a live Tideway cannot reproduce for this case (server mode refuses it)."""
        reasons = []
        if self.mocks or file_mocks:
            reasons.append("mocks")
        for field, label in (("config", "config overrides"), ("secrets", "secrets"), ("contexts", "contexts"),
                             ("now", "a pinned clock"), ("user", "a user"), ("role", "a role")):
            if getattr(self, field) is not None:
                reasons.append(label)
        if self.events:
            reasons.append("events delivered to waits")
        if self.expect.fetches is not None:
            reasons.append("expect.fetches")
        return reasons


class TestFile(Strict):
    __test__ = False  # not a pytest class

    cases: list[Case] = Field(min_length=1)
    mocks: Mocks = Field(default_factory=Mocks)  # shared by every case (a case's own come first)


def case_problems(case: Case) -> list[tuple[tuple[str | int, ...], str]]:
    """What the models cannot say field by field: (location inside the case, message)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    triggers = [name for name in ("automation", "webhook", "event") if getattr(case, name) is not None]
    if len(triggers) != 1:
        given = ", ".join(triggers) if triggers else "none"
        problems.append(((), f"a case has exactly one trigger: automation, webhook or event (given: {given})"))
    if case.payload is not None and case.automation is None:
        problems.append((("payload",), "payload goes with `automation` (a webhook has body/query/headers, "
                                       "an event its payload)"))
    expect = case.expect
    if expect.wants_output and "output_matches" in expect.model_fields_set:
        problems.append((("expect", "outputMatches"), "give output (exact) or outputMatches (a subset), not both"))
    if case.event is not None:
        for field, alias in (("output", "output"), ("output_matches", "outputMatches"), ("http", "http")):
            if field in expect.model_fields_set:
                problems.append((("expect", alias), "an event case has no single output or HTTP answer: "
                                                    "expect events, reached or error"))
    if expect.http is not None and case.webhook is None and case.event is None:
        problems.append((("expect", "http"), "only a webhook case answers HTTP"))
    if expect.error is not None and (expect.wants_output or "output_matches" in expect.model_fields_set):
        problems.append((("expect", "error"), "a run that fails has no output: expect error or output, not both"))
    for index, mock in enumerate(case.mocks.fetch):
        problems += [(("mocks", "fetch", index, *loc), message) for loc, message in fetch_mock_problems(mock)]
    return problems


def fetch_mock_problems(mock: FetchMock) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if (mock.url is None) == (mock.url_regex is None):
        problems.append(((), "a fetch mock has one of url (with * wildcards) or urlRegex"))
    if mock.error is not None and ({"status", "body", "headers", "sse"} & mock.model_fields_set):
        problems.append((("error",), "a mock answers (status/headers/body/sse) or fails (error), not both"))
    if mock.sse is not None and mock.body is not None:
        problems.append((("sse",), "give body or sse, not both"))
    return problems
