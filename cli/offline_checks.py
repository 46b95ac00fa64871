"""``tideway validate``: every check of ``POST …/import``, offline — no server, no database.

The checks are the import's own, wired as cli/composition.py wires them: schemas/validation.py
with the composition root's ``source_checks`` (crons, pages, templates, Custom Code), the call
targets and the app-instance checks of ``core.apps.instance_checks`` — over a catalogue of the
apps known without a server: the built-in ones and those **vendored** in the folder, each
``apps/<app slug>/`` holding that app's workspace folder (index.yml, automations/, …). An app
instance of any other app cannot be checked offline: it is a warning, and so is each call into it.

Differences from the import, all because nothing is stored here: the custom-domain and slug
checks need the database (not run); problems of every stage are listed together (the import stops
at the first stage that fails); like the import, warnings are listed once there is no error."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from temporalio.client import Client

from cli.composition import source_checks
from cli.workspace_folder import hidden, problems_of, read_workspace
from core.apps.builtin import BUILTIN_APPS, BUILTIN_VERSION
from core.apps.catalog import AppService
from core.apps.instance_checks import InstanceChecks
from core.infra.settings import Settings
from core.runs.schedules import ScheduleService
from schemas.automations import parse_automation
from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidWorkspaceError, ObjectNotFoundError
from schemas.validation import CheckReport, KnownAutomation, validate_workspace

VENDORED_APPS = "apps"
VENDORED_VERSION = "vendored"
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Found:
    """One problem, placed as the import places it (``automations/a.yml: do[0].set``)."""

    path: str
    message: str
    severity: Severity = "error"


class OfflineApps:
    """The part of ``AppService`` the instance checks use, over the built-in and vendored apps.
    A vendored app has one version, the folder (any ``appVersion`` names it)."""

    def __init__(self, folder: Path):
        root = folder / VENDORED_APPS
        self.folders = {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and not hidden((p.name,))} \
            if root.is_dir() else {}
        self.documents: dict[str, dict[str, Any]] = {}
        self.problems: list[Found] = []
        for slug, path in self.folders.items():
            try:
                self.documents[slug] = read_workspace(path).to_document()
            except InvalidWorkspaceError as exc:  # an unreadable vendored app: its files' problems
                self.problems += [Found(f"{VENDORED_APPS}/{slug}/{where}", message) for where, message in problems_of(exc)]

    def available(self, slug: str) -> bool:
        return slug in BUILTIN_APPS or slug in self.documents

    async def version_document(self, app_slug: str, version: str | None) -> tuple[str, dict[str, Any]]:
        if app_slug in BUILTIN_APPS:
            return BUILTIN_VERSION, BUILTIN_APPS[app_slug]
        if app_slug in self.documents:
            return VENDORED_VERSION, self.documents[app_slug]
        raise ObjectNotFoundError(f"App '{app_slug}' not found", {"appSlug": app_slug})

    async def rows(self, slugs: Any) -> dict[str, bool]:
        return {slug: True for slug in slugs if self.available(slug)}

    async def app_of_workspace(self, workspace_id: str, *, include_deleted: bool = False) -> None:
        return None  # a folder is no published app: no cycle through it


def offline_schedules(settings: Settings) -> ScheduleService:
    """The schedule service, for its ``schedule_findings`` only: that check reads the settings
    (SCHEDULE_MIN_INTERVAL_MINUTES) and nothing else, so no database nor Temporal client is given."""
    return ScheduleService(None, cast(Client, None), None, None, settings, "")


def unavailable_instances(source: WorkspaceSource, apps: OfflineApps) -> dict[str, str]:
    """``instance slug → app slug`` of the app instances whose app is unknown offline."""
    return {slug: instance["appSlug"] for slug, instance in source.imports.items()
            if isinstance(instance, dict) and isinstance(instance.get("appSlug"), str)
            and not apps.available(instance["appSlug"])}


def calls_into(source: WorkspaceSource, instances: dict[str, str]) -> list[tuple[str, str, list[str | int], str]]:
    """``(automation, call, instruction path, instance)`` of each call into ``instances``."""
    found = []
    for slug, automation in sorted(source.automations.items()):
        model, _ = parse_automation(slug, automation)
        for path, call in model.facts.calls if model is not None else ():
            instance = next((i for i in instances if call.name.startswith(f"{i}.")), None)
            if instance is not None:
                found.append((slug, call.name, [*path, call.name], instance))
    return found


async def check_source(source: WorkspaceSource, apps: OfflineApps, settings: Settings) -> list[Found]:
    unknown = unavailable_instances(source, apps)
    known_apps = dataclasses.replace(source, imports={k: v for k, v in source.imports.items() if k not in unknown})
    instances = InstanceChecks(cast(AppService, apps))
    known = await instances.known_automations(known_apps)
    unverifiable = calls_into(source, unknown)
    # A call into an app not known here may well resolve on the server: no "will fail" warning.
    known.update({call: KnownAutomation(instance=instance) for _, call, _, instance in unverifiable})
    found: list[Found] = []
    report = CheckReport()
    try:
        validate_workspace(source, known=known, report=report, checks=source_checks(offline_schedules(settings)))
    except InvalidWorkspaceError as exc:
        found += [Found(path, message) for path, message in problems_of(exc)]
    try:
        await instances.check_source(None, known_apps, {}, report)
    except InvalidWorkspaceError as exc:
        found += [Found(path, message) for path, message in problems_of(exc)]
    found += [Found(p.path, p.message, "warning") for p in report.warnings]
    for slug, app_slug in sorted(unknown.items()):
        found.append(Found(source.locate("imports", slug, ["appSlug"]), (
            f"app '{app_slug}' is neither built into Tideway nor vendored in {VENDORED_APPS}/{app_slug}/: "
            "its config and the calls into it are not checked offline"), "warning"))
    for automation, call, path, instance in unverifiable:
        found.append(Found(source.locate("automations", automation, path), (
            f"'{call}' calls into app instance '{instance}' (app '{unknown[instance]}'), not available offline: "
            "not checked"), "warning"))
    return found


async def check_folder(folder: Path, settings: Settings) -> list[Found]:
    """Every problem the import of ``folder`` would report, errors first (warnings only when
    there is no error, as the import answers them)."""
    apps = OfflineApps(folder)
    try:
        source = read_workspace(folder)
    except InvalidWorkspaceError as exc:  # files that do not read: nothing else can be checked
        return [Found(path, message) for path, message in problems_of(exc)] + apps.problems
    found = await check_source(source, apps, settings) + apps.problems
    errors = [f for f in found if f.severity == "error"]
    return errors or found
