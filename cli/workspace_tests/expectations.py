"""Checking a case's ``expect`` against what it did: one line per difference, each naming the
field (``expect.output.total: expected 3, got 4``, ``expect.events[1]: …``)."""

from __future__ import annotations

import re
from typing import Any

from cli.workspace_tests.compare import differences, matches, show
from cli.workspace_tests.format import Case, ExpectedEvent, ExpectedFetch
from cli.workspace_tests.mocks import full_url, url_matches
from cli.workspace_tests.outcome import MISSING, CaseOutcome, RunTrace

_PATH_START = re.compile(r"^(do\b|\*)")


def check(case: Case, outcome: CaseOutcome) -> list[str]:
    """Every difference between the case's expectations and ``outcome`` (empty: it passed)."""
    if outcome.problem is not None:
        return [outcome.problem]
    expect = case.expect
    lines = check_error(case, outcome)
    if outcome.error is None:
        if expect.wants_output:
            lines += differences(expect.output, outcome.output, "expect.output", subset=False)
        if "output_matches" in expect.model_fields_set:
            lines += differences(expect.output_matches, outcome.output, "expect.outputMatches", subset=True)
    if expect.http is not None:
        lines += check_http(expect.http.status, expect.http.headers, outcome)
    if expect.events is not None:
        lines += check_events(expect.events, outcome.events, any_order=expect.events_in_any_order)
    for index, unwanted in enumerate(expect.events_absent or []):
        found = next((n for n, event in enumerate(outcome.events) if event_matches(unwanted, event)), None)
        if found is not None:
            lines.append(f"expect.eventsAbsent[{index}]: event #{found} {show(outcome.events[found])} happened")
    scope = outcome.runs[0].qualified if outcome.runs and case.event is None else None
    for index, pattern in enumerate(expect.reached or []):
        if not reached(pattern, outcome, scope):
            lines.append(f"expect.reached[{index}]: {pattern!r} did not run{ran_hint(pattern, outcome, scope)}")
    for index, pattern in enumerate(expect.not_reached or []):
        if reached(pattern, outcome, scope):
            lines.append(f"expect.notReached[{index}]: {pattern!r} ran")
    if expect.fetches is not None:
        lines += check_fetches(expect.fetches, outcome.requests)
    return lines


def check_error(case: Case, outcome: CaseOutcome) -> list[str]:
    wanted, error = case.expect.error, outcome.error
    if wanted is None:
        if error is None:
            return []
        at = error.get("at")
        where = f" (at {at.get('automation')} {at.get('instruction')})" if isinstance(at, dict) else ""
        return [f"the run failed: {error.get('error')}: {error.get('message')}{where}"]
    if error is None:
        got = f"with output {show(outcome.output)}" if outcome.output is not MISSING else "without an error"
        return [f"expect.error: expected {wanted.error or 'an error'}, the run succeeded {got}"]
    lines = []
    if wanted.error is not None and error.get("error") != wanted.error:
        lines.append(f"expect.error.error: expected {show(wanted.error)}, got {show(error.get('error'))} "
                     f"({error.get('message')})")
    if wanted.message is not None and wanted.message not in str(error.get("message", "")):
        lines.append(f"expect.error.message: expected a message containing {show(wanted.message)}, "
                     f"got {show(error.get('message'))}")
    return lines


def check_http(status: int | None, headers: dict[str, str] | None, outcome: CaseOutcome) -> list[str]:
    lines = []
    if status is not None and outcome.http_status != status:
        lines.append(f"expect.http.status: expected {status}, got {show(outcome.http_status)}")
    got = {str(k).lower(): v for k, v in outcome.http_headers.items()}
    for name, value in (headers or {}).items():
        actual = got.get(name.lower(), MISSING)
        if actual is MISSING:
            lines.append(f"expect.http.headers.{name}: expected {show(value)}, got nothing (no such header)")
        elif str(actual) != str(value):
            lines.append(f"expect.http.headers.{name}: expected {show(value)}, got {show(actual)}")
    return lines


def event_differences(expected: ExpectedEvent, event: dict[str, Any], path: str) -> list[str]:
    lines = []
    if expected.type is not None and expected.type != event.get("type"):
        lines.append(f"{path}.type: expected {show(expected.type)}, got {show(event.get('type'))}")
    for field in ("payload", "source", "target"):
        if field in expected.model_fields_set:
            lines += differences(getattr(expected, field), event.get(field, MISSING), f"{path}.{field}", subset=True)
    return lines


def event_matches(expected: ExpectedEvent, event: dict[str, Any]) -> bool:
    return not event_differences(expected, event, "")


def check_events(expected: list[ExpectedEvent], events: list[dict[str, Any]], *, any_order: bool) -> list[str]:
    """Each expected event matches a distinct event: in the order given (others may come between),
    or in any order. A miss shows the closest event of the same type and how it differs."""
    lines = []
    used: set[int] = set()
    position = 0
    for index, wanted in enumerate(expected):
        path = f"expect.events[{index}]"
        start = 0 if any_order else position
        found = next((n for n in range(start, len(events)) if n not in used and event_matches(wanted, events[n])),
                     None)
        if found is not None:
            used.add(found)
            position = found + 1
            continue
        line = f"{path}: no event matched {show(wanted.model_dump(exclude_unset=True))}"
        earlier = None if any_order else next(
            (n for n in range(position) if n not in used and event_matches(wanted, events[n])), None)
        if earlier is not None:
            line += (f"; event #{earlier} matches but comes before the event of expect.events[{index - 1}] "
                     "(set eventsInAnyOrder: true if the order does not matter)")
        else:
            same = [n for n in range(len(events)) if n not in used
                    and (wanted.type is None or events[n].get("type") == wanted.type)]
            closest = next((n for n in same if n >= start), same[0] if same else None)
            if closest is not None:
                before = " (it comes before the events matched so far)" if closest < start else ""
                line += (f"; closest, event #{closest}{before}: "
                         + "; ".join(event_differences(wanted, events[closest], path)))
            else:
                types = sorted({str(e.get("type")) for e in events})
                line += f"; events of the case: {', '.join(types) if types else 'none'}"
        lines.append(line)
    return lines


def split_pattern(pattern: str) -> tuple[str | None, str]:
    """``[automation:]path``, the path with ``*`` wildcards (``hello:do[1]*``, ``do[0]``)."""
    if _PATH_START.match(pattern) or ":" not in pattern:
        return None, pattern
    automation, _, path = pattern.partition(":")
    return automation, path or "*"


def glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def reached(pattern: str, outcome: CaseOutcome, scope: str | None) -> bool:
    """Whether a step of the case's runs matches ``[automation:]path`` (without an automation: the
    case's own automation, or any listener of an event case). ``automation:*`` is also true for
    an automation that ran without steps (a mocked call, an empty ``do``)."""
    automation, path = split_pattern(pattern)
    target = automation or scope
    regex = glob(path)
    for run in outcome.runs:
        for step in run.steps:
            name = f"{step.get('instance')}.{step.get('automation')}" if step.get("instance") else step.get("automation")
            if (target is None or name == target) and regex.match(str(step.get("path"))):
                return True
    if path == "*" and target is not None:
        return any(event.get("type") == "runtime.automations.executed" and isinstance(event.get("payload"), dict)
                   and executed_name(event) == target for event in outcome.events)
    return False


def executed_name(event: dict[str, Any]) -> str:
    slug = str(event["payload"].get("slug"))
    instance = (event.get("source") or {}).get("appInstanceFullSlug")
    return f"{instance}.{slug}" if instance else slug


def ran_hint(pattern: str, outcome: CaseOutcome, scope: str | None) -> str:
    automation, _ = split_pattern(pattern)
    target = automation or scope
    paths = [str(step.get("path")) for run in outcome.runs for step in run.steps
             if target is None or run_name(run, step) == target]
    if not paths:
        return f" (no step of {target or 'any automation'} ran)" if target else ""
    shown = ", ".join(paths[:12]) + (", …" if len(paths) > 12 else "")
    return f" (steps that ran{' in ' + target if target else ''}: {shown})"


def run_name(run: RunTrace, step: dict[str, Any]) -> str:
    return f"{step.get('instance')}.{step.get('automation')}" if step.get("instance") else str(step.get("automation"))


def check_fetches(expected: list[ExpectedFetch], requests: list[dict[str, Any]]) -> list[str]:
    """Each expected request matches a distinct request sent, in order."""
    lines = []
    position = 0
    for index, wanted in enumerate(expected):
        path = f"expect.fetches[{index}]"
        found = next((n for n in range(position, len(requests)) if not fetch_differences(wanted, requests[n], path)),
                     None)
        if found is not None:
            position = found + 1
            continue
        sent = [f"{r.get('method')} {full_url(r)}" for r in requests]
        line = f"{path}: no request matched {show(wanted.model_dump(exclude_unset=True))}"
        closest = next((n for n in range(position, len(requests)) if wanted.url is None
                        or url_matches(wanted.url, full_url(requests[n]))), None)
        if closest is not None:
            line += f"; closest, request #{closest}: " + "; ".join(fetch_differences(wanted, requests[closest], path))
        else:
            line += f"; requests sent: {', '.join(sent) if sent else 'none'}"
        lines.append(line)
    return lines


def fetch_differences(wanted: ExpectedFetch, request: dict[str, Any], path: str) -> list[str]:
    lines = []
    if wanted.method is not None and wanted.method.upper() != str(request.get("method")):
        lines.append(f"{path}.method: expected {show(wanted.method.upper())}, got {show(request.get('method'))}")
    if wanted.url is not None and not url_matches(wanted.url, full_url(request)):
        lines.append(f"{path}.url: expected {show(wanted.url)}, got {show(full_url(request))}")
    if "body" in wanted.model_fields_set:
        lines += differences(wanted.body, request.get("body", MISSING), f"{path}.body", subset=True)
    if wanted.headers is not None:
        sent = {str(k).lower(): v for k, v in (request.get("headers") or {}).items()}
        lines += differences({k.lower(): v for k, v in wanted.headers.items()}, sent, f"{path}.headers", subset=True)
    if wanted.query is not None:
        lines += differences(wanted.query, request.get("query") or {}, f"{path}.query", subset=True)
    return lines


__all__ = ["check", "event_matches", "matches"]
