"""The checks of a workspace definition, all at once, before anything is written.

Every check reports :class:`Finding` s (path inside the checked value, message, severity), which
are placed in their file (``automations/hello.yml: do[2].conditions``). Errors stop the write
(``InvalidWorkspaceError`` listing every one); warnings are answered next to the result
(``warnings: [{path, message}]``), or are errors too in a workspace that sets ``strict: true``.

* shapes: the typed models of the root fields, automations (every instruction), app instances,
  pages and security;
* endpoints: unique within the workspace;
* listeners: ``when.events`` names no native event that can never start an automation;
* calls: every call resolves against the workspace's automations and those of its installed apps
  (``known``, given by the services, which know the apps); one that does not is a warning naming
  the nearest known names, as the reference accepts it at import and fails at run time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.automations import SLUG_PATTERN, Automation, parse_automation, slug_problem
from schemas.dsul import (
    WORKSPACE_SLUG_PATTERN,
    AppInstance,
    SecurityDocument,
    WorkspaceIndex,
    WorkspaceSource,
    endpoint_name,
)
from schemas.errors import InvalidSlugError, InvalidWorkspaceError
from schemas.events import listen_problem
from schemas.instruction_walk import walk
from schemas.instructions import INTERNAL, NATIVE, Native
from schemas.problems import Finding, Problem, findings_of

__all__ = ["CheckReport", "KnownAutomation", "SectionFinding", "SourceCheck", "check_slug", "check_workspace_slug", "validate_automation",
           "validate_workspace", "workspace_problems"]


@dataclass(frozen=True)
class KnownAutomation:
    """An automation a call may name: ``instance`` is its app instance's full slug (``''``: the
    workspace itself), ``private`` whether only its own app may call it."""

    instance: str = ""
    private: bool = False


@dataclass(frozen=True)
class SectionFinding:
    """A finding of a check the services add (pages, schedules, expressions), with the section
    and entry it belongs to (``("pages", "home")``), placed like the built-in ones."""

    section: str
    where: str | None
    finding: Finding


SourceCheck = Callable[[WorkspaceSource], list[SectionFinding]]


@dataclass
class CheckReport:
    """What a write reports besides its result: the warnings of its checks. ``missing_apps_allowed``
    (``?missingApps=allow``) turns an app instance whose app is not on this Tideway into a warning."""

    warnings: list[Problem] = field(default_factory=list)
    missing_apps_allowed: bool = False


def check_slug(slug: str, kind: str = "automation") -> None:
    """Raise ``InvalidSlugError`` unless ``slug`` is a valid automation/page/app-instance slug."""
    problem = slug_problem(slug, kind)
    if problem:
        raise InvalidSlugError(problem, details={"slug": slug, "pattern": SLUG_PATTERN})


def check_workspace_slug(slug: str) -> None:
    if not isinstance(slug, str) or not re.match(WORKSPACE_SLUG_PATTERN, slug):
        raise InvalidSlugError(f"invalid workspace slug '{slug}': it must match {WORKSPACE_SLUG_PATTERN}",
                               details={"slug": slug, "pattern": WORKSPACE_SLUG_PATTERN})


def _model_findings(model: type[BaseModel], value: Any) -> list[Finding]:
    try:
        model.model_validate(value)
    except ValidationError as error:
        return findings_of(error)
    return []


def _endpoint_findings(automations: Mapping[str, Any], others: Mapping[str, Any] | None = None
                       ) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    owners: dict[str, str] = {}
    for slug, automation in {**(others or {}), **automations}.items():
        name = endpoint_name(slug, automation) if isinstance(automation, dict) else None
        if name is None:
            continue
        if name in owners and slug in automations:
            found.setdefault(slug, []).append(Finding(
                path=("when", "endpoint"),
                message=f"endpoint '{name}' of automation '{slug}' is already used by automation '{owners[name]}' "
                        "(endpoint names are unique within a workspace)"))
        else:
            owners.setdefault(name, slug)
    return found


def call_findings(automation: Automation, known: Mapping[str, KnownAutomation]) -> list[Finding]:
    """A warning per call that will not resolve at run time."""
    problems = []
    for path, call in automation.facts.calls:
        target = known.get(call.name)
        where = (*path, call.name)
        if target is not None:
            if target.private and target.instance:
                problems.append(Finding(path=where, severity="warning", message=(
                    f"'{call.name}' is private to app instance '{target.instance}': only that app's automations "
                    "can call it, so this call will fail at run time")))
            continue
        prefix = call.name.rpartition(".")[0]
        instances = {k.rpartition(".")[0] for k in known if "." in k}
        if prefix and prefix not in instances:
            message = (f"'{call.name}' calls into app instance '{prefix}', which this workspace does not install: "
                       "the call will fail at run time")
        else:
            message = (f"'{call.name}' is neither an instruction nor an automation of this workspace or of its "
                       "apps: the call will fail at run time")
        near = difflib.get_close_matches(call.name, [*NATIVE, *known], n=3, cutoff=0.75)
        if near:
            message += " (did you mean " + ", ".join(f"'{name}'" for name in near) + "?)"
        problems.append(Finding(path=where, severity="warning", message=message))
    return problems


def internal_findings(automation: Automation) -> list[Finding]:
    """An error per instruction only Tideway's built-in apps may use (``customCode``)."""
    return [Finding(path=(*path, node.keyword), message=(
        f"`{node.keyword}` is internal to Tideway's built-in Custom Code app: install it "
        "(imports: {<name>: {appSlug: Custom Code, config: {functions: …}}}) and call `<name>.run`"))
        for path, node in walk(automation.do, ("do",)) if isinstance(node, Native) and node.keyword in INTERNAL]


def listener_findings(automation: Automation) -> list[Finding]:
    """An error per native event in ``when.events`` that can never start the automation."""
    events = automation.when.events if automation.when is not None else None
    return [Finding(path=("when", "events", index), message=problem)
            for index, name in enumerate(events or []) if (problem := listen_problem(name))]


def workspace_problems(source: WorkspaceSource, *, require_index: bool = True,
                       known: Mapping[str, KnownAutomation] | None = None) -> list[dict[str, str]]:
    """Every error of ``source`` as ``{"path", "message"}`` (empty list: valid)."""
    errors, _ = _check(source, require_index=require_index, known=known)
    return [p.model_dump() for p in errors]


def _check(source: WorkspaceSource, *, require_index: bool, known: Mapping[str, KnownAutomation] | None,
           checks: Sequence[SourceCheck] = ()) -> tuple[list[Problem], list[Problem]]:
    findings: list[tuple[str, str | None, Finding]] = []
    for check in checks:  # every problem in one answer, across files and checks
        findings += [(f.section, f.where, f.finding) for f in check(source)]
    if require_index or source.index:
        index = source.index if require_index or "name" in source.index else {**source.index, "name": "-"}
        findings += [("index", None, f) for f in _model_findings(WorkspaceIndex, index)]
    calls = _local_targets(source) if known is None else {**_local_targets(source), **known}
    for slug in sorted(source.automations):
        model, problems = parse_automation(slug, source.automations[slug])
        if slug in NATIVE:
            problems.append(Finding(path=(), severity="warning", message=(
                f"automation '{slug}' has the name of the native instruction `{slug}`: `- {slug}:` runs the "
                "instruction, never this automation (rename it to call it)")))
        if model is not None:
            problems += call_findings(model, calls) + listener_findings(model) + internal_findings(model)
        findings += [("automations", slug, f) for f in problems]
    for slug, problems in sorted(_endpoint_findings(source.automations).items()):
        findings += [("automations", slug, f) for f in problems]
    for slug in sorted(source.imports):
        problem = slug_problem(slug, "app instance")
        if problem:
            findings.append(("imports", slug, Finding(path=(), message=problem)))
        instance = source.imports[slug]
        findings += [("imports", slug, f) for f in _model_findings(AppInstance, instance)]
        if isinstance(instance, dict) and "slug" in instance and instance["slug"] != slug:
            findings.append(("imports", slug, Finding(
                path=("slug",), message=f"slug '{instance['slug']}' differs from the import key '{slug}'")))
    for slug in sorted(source.pages):
        if not isinstance(source.pages[slug], dict):
            findings.append(("pages", slug, Finding(path=(), message="a page must be an object")))
        problem = slug_problem(slug, "page")
        if problem:
            findings.append(("pages", slug, Finding(path=(), message=problem)))
    if source.security is not None:
        findings += [("security", None, f) for f in _model_findings(SecurityDocument, source.security)]
    strict = source.index.get("strict") is True
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for section, where, finding in findings:
        placed = Problem(path=source.locate(section, where, list(finding.path)), message=finding.message)
        (warnings if finding.severity == "warning" and not strict else errors).append(placed)
    return errors, warnings


def _local_targets(source: WorkspaceSource) -> dict[str, KnownAutomation]:
    return {slug: KnownAutomation() for slug in source.automations}


def validate_workspace(source: WorkspaceSource, *, require_index: bool = True,
                       known: Mapping[str, KnownAutomation] | None = None,
                       report: CheckReport | None = None, checks: Sequence[SourceCheck] = ()) -> None:
    """Raise ``InvalidWorkspaceError`` listing every error of ``source`` (the built-in checks and
    ``checks``); add its warnings to ``report``. ``require_index=False`` accepts a source without
    root fields (a partial import into an existing workspace); root fields present are checked."""
    errors, warnings = _check(source, require_index=require_index, known=known, checks=checks)
    if errors:
        raise InvalidWorkspaceError(_summary(errors), details=[p.model_dump() for p in errors])
    if report is not None:
        report.warnings += warnings


def validate_automation(slug: str, automation: Any, *, others: Mapping[str, Any] | None = None,
                        known: Mapping[str, KnownAutomation] | None = None, strict: bool = False,
                        report: CheckReport | None = None, checks: Sequence[SourceCheck] = ()) -> None:
    """Check one automation (automation create/update routes). ``others`` are the workspace's
    other automations by slug (endpoint clashes, calls between them). Paths read
    ``automations/<slug>.yml: …``."""
    source = WorkspaceSource(index={"strict": strict}, automations={**(others or {}), slug: automation})
    errors, warnings = _check(source, require_index=False, known=known, checks=checks)
    mine = source.locate("automations", slug)
    errors = [p for p in errors if p.path.startswith(mine)]
    if errors:
        raise InvalidWorkspaceError(_summary(errors), details=[p.model_dump() for p in errors])
    if report is not None:
        report.warnings += [p for p in warnings if p.path.startswith(mine)]


def _summary(problems: list[Problem]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"Invalid workspace: {first.path}: {first.message}{more}"
