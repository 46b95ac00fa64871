"""The checks of a workspace's app instances (imports and the instance routes): the app and its
version resolve, the config matches the app's ``config.schema``, no import cycle forms; and what
a call may name inside the installed apps (for the import's call resolution)."""

from __future__ import annotations

from typing import Any

from core.apps.catalog import LATEST_ALIASES, AppService
from language.arguments import validate_arguments
from schemas.dsul import WorkspaceSource
from schemas.errors import (
    InvalidArgumentsError,
    InvalidWorkspaceError,
    ObjectNotFoundError,
    TidewayError,
)
from schemas.problems import Problem
from schemas.validation import CheckReport, KnownAutomation

MAX_IMPORT_DEPTH = 20


class ImportCycleError(InvalidWorkspaceError):
    """An app would (indirectly) install the workspace's own app or one of its ancestors."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message, details, name="ImportCycleError")


def _untemplated(value: Any) -> Any:
    """The config without its ``{{…}}`` strings (they resolve at run time, in the parent context)."""
    if isinstance(value, dict):
        return {k: _untemplated(v) for k, v in value.items()
                if not (isinstance(v, str) and ("{{" in v or "{%" in v))}
    if isinstance(value, list):
        return [_untemplated(v) for v in value]
    return value


def config_problems(document: dict[str, Any], config: Any) -> list[tuple[str, str]]:
    """(field path, message) of an instance config against the app's ``config.schema``."""
    if config is None:
        return []
    if not isinstance(config, dict):
        return [("config", "must be an object")]
    app_config = document.get("config")
    schema = app_config.get("schema") if isinstance(app_config, dict) else None
    if not isinstance(schema, dict) or not schema:
        return []
    try:
        validate_arguments(schema, _untemplated(config))
    except InvalidArgumentsError as exc:
        if exc.message != "Invalid arguments":  # the app's own schema is unusable: nothing to check against
            return []
        out = []
        for detail in exc.details or []:
            path = ".".join(p for p in str(detail.get("instancePath", "")).split("/") if p)
            out.append((f"config.{path}" if path else "config", str(detail.get("message"))))
        return out
    return []


class InstanceChecks:
    def __init__(self, apps: AppService):
        self.apps = apps

    async def check_cycle(self, workspace_id: str | None, app_slug: str, version: str | None) -> None:
        """Refuse an instance whose app tree reaches the workspace's own app, or loops."""
        own = await self.apps.app_of_workspace(workspace_id) if workspace_id else None
        own_slug = own.slug if own is not None else None
        seen: set[tuple[str, str]] = set()
        todo: list[tuple[str, str | None, list[str]]] = [(app_slug, version, [app_slug])]
        while todo:
            slug, ver, path = todo.pop()
            if slug == own_slug:
                raise ImportCycleError(
                    f"Import cycle: app '{app_slug}' would import this workspace's own app '{own_slug}' "
                    f"({' → '.join(path)})", {"appSlug": app_slug, "path": path})
            if len(path) > MAX_IMPORT_DEPTH:
                raise ImportCycleError(f"App imports nested deeper than {MAX_IMPORT_DEPTH} levels "
                                       f"({' → '.join(path)})", {"appSlug": app_slug, "path": path})
            try:
                name, doc = await self.apps.version_document(slug, ver)
            except ObjectNotFoundError:
                continue
            if (slug, name) in seen:
                continue
            seen.add((slug, name))
            for child in (doc.get("imports") or {}).values():
                child_slug = child.get("appSlug") if isinstance(child, dict) else None
                if not isinstance(child_slug, str):
                    continue
                if child_slug in path:
                    raise ImportCycleError(
                        f"Import cycle: app '{child_slug}' imports itself ({' → '.join([*path, child_slug])})",
                        {"appSlug": app_slug, "path": [*path, child_slug]})
                todo.append((child_slug, child.get("appVersion"), [*path, child_slug]))

    async def known_automations(self, source: WorkspaceSource) -> dict[str, KnownAutomation]:
        """What a call from the workspace's own automations may name inside its apps:
        ``<instance>.<automation>`` for every enabled instance, and the automations of the apps
        those install (``<instance>.<sub>.<automation>``). An app that does not resolve adds
        nothing (the import checks report it)."""
        known: dict[str, KnownAutomation] = {}
        todo = [(slug, inst, 1) for slug, inst in source.imports.items()]
        while todo:
            prefix, instance, depth = todo.pop()
            if not isinstance(instance, dict) or instance.get("disabled") or depth > MAX_IMPORT_DEPTH:
                continue
            app_slug = instance.get("appSlug")
            if not isinstance(app_slug, str):
                continue
            try:
                _, doc = await self.apps.version_document(app_slug, instance.get("appVersion"))
            except ObjectNotFoundError:
                continue
            for slug, automation in (doc.get("automations") or {}).items():
                if isinstance(automation, dict) and not automation.get("disabled"):
                    known[f"{prefix}.{slug}"] = KnownAutomation(instance=prefix, private=bool(automation.get("private")))
            todo += [(f"{prefix}.{slug}", inst, depth + 1) for slug, inst in (doc.get("imports") or {}).items()]
        return known

    async def check_source(self, workspace_id: str | None, source: WorkspaceSource,
                           previous: dict[str, Any], report: CheckReport | None = None) -> None:
        """The app instances of a workspace being stored (import, duplicate): each new or changed
        one must resolve, have a valid config and form no cycle. Every missing app is listed in one
        error; with ``report.missing_apps_allowed`` each is a warning instead and the instance is
        kept (a call into it fails with ``AppNotAvailableError`` until the app exists)."""
        details: list[dict[str, str]] = []
        for slug, instance in sorted(source.imports.items()):
            if not isinstance(instance, dict) or previous.get(slug) == instance:
                continue
            app_slug = instance.get("appSlug")
            if not isinstance(app_slug, str):
                continue  # the schema check reports it
            try:
                _, doc = await self.apps.version_document(app_slug, instance.get("appVersion"))
            except ObjectNotFoundError as exc:
                field = "appVersion" if instance.get("appVersion") not in (None, *LATEST_ALIASES) and \
                    (await self.apps.rows([app_slug])) else "appSlug"
                path = source.locate("imports", slug, [field])
                if field == "appSlug" and report is not None and report.missing_apps_allowed:
                    report.warnings.append(Problem(path=path, message=(
                        f"{exc.message}: instance '{slug}' is kept (missingApps=allow); calls into it fail with "
                        "AppNotAvailableError until the app is published here")))
                    continue
                details.append({"path": path, "message": exc.message + (
                    " (import with ?missingApps=allow to keep the instance anyway)" if field == "appSlug" else "")})
                continue
            for path, message in config_problems(doc, instance.get("config")):
                details.append({"path": source.locate("imports", slug, list[str | int](path.split("."))),
                                "message": f"{message} (app '{app_slug}' config.schema)"})
            try:
                await self.check_cycle(workspace_id, app_slug, instance.get("appVersion"))
            except TidewayError as exc:
                details.append({"path": source.locate("imports", slug, ["appSlug"]), "message": exc.message})
        if details:
            more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
            raise InvalidWorkspaceError(f"Invalid workspace: {details[0]['path']}: {details[0]['message']}{more}",
                                        details)
