"""App instances: installing, configuring and uninstalling apps in a workspace (spec §7.3, §10).

Instances live in the workspace document (``imports[slug]``), so every change is a new
workspace revision and emits ``workspaces.apps.installed|configured|uninstalled`` with
``source.appSlug`` and ``source.appInstanceFullSlug`` (= the instance slug); these are
triggering natives, handed to the dispatcher so the instance's own listeners run.

Stored instances carry ``createdAt/updatedAt/createdBy/updatedBy``; results and event payloads
show the instance without them (as the reference does), lists show them.

The same checks guard ``imports/*.yml`` of an imported workspace (``check_source``, hooked into
``WorkspaceService``): the app must exist (a soft-deleted app still counts, DECISIONS 22), the
pinned version too, the config must match the app's ``config.schema`` and no import cycle may
form. Problems there are a 400 ``InvalidWorkspaceError`` naming the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from core.apps.catalog import AppService, app_details
from core.apps.instance_checks import InstanceChecks, config_problems
from core.apps.secret_config import externalize
from core.apps.tree import config_secret_paths
from core.events.declared import app_events, instance_events
from core.workspaces.service import WorkspaceService, iso
from language.secrets import redact_paths
from schemas.automations import SLUG_PATTERN, slug_problem
from schemas.dsul import AppInstanceBody
from schemas.errors import (
    AlreadyUsedError,
    InvalidArgumentsError,
    InvalidWorkspaceError,
    MissingFieldError,
    ObjectNotFoundError,
    TidewayError,
)
from schemas.problems import findings_of, format_path

METADATA = ("createdAt", "updatedAt", "createdBy", "updatedBy")
INSTANCE_FIELDS = ("appSlug", "slug", "appVersion", "config", "disabled", "appName", "labels")



def public(instance: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in instance.items() if k not in METADATA}


def hide_secret_config(instance: dict[str, Any], app_document: dict[str, Any]) -> dict[str, Any]:
    """The instance as events show it: config fields the app declares ``secret: true`` (in its
    ``config.schema``) read ``REDACTED``, in ``config`` and ``oldConfig`` (issue 14)."""
    paths = config_secret_paths(app_document)
    if not paths:
        return instance
    return {**instance, **{key: redact_paths(instance[key], paths)
                           for key in ("config", "oldConfig") if isinstance(instance.get(key), dict)}}


class AppInstanceService:
    def __init__(self, workspaces: WorkspaceService, apps: AppService):
        self.workspaces = workspaces
        self.apps = apps
        self.checks = InstanceChecks(apps)

    async def externalize_secrets(self, imports: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Move the literal values of secret config fields out of ``imports`` (in place): the
        secrets to store, by name (core/apps/secret_config.py)."""
        moved: dict[str, Any] = {}
        for slug, instance in imports.items():
            app_slug = instance.get("appSlug") if isinstance(instance, dict) else None
            if not isinstance(app_slug, str) or not isinstance(instance.get("config"), dict):
                continue
            try:
                _, doc = await self.apps.version_document(app_slug, instance.get("appVersion"))
            except TidewayError:
                continue  # an app this Tideway does not have: reported by the import checks
            moved.update(externalize(slug, instance["config"], config_secret_paths(doc)))
        return moved

    # -- reads --------------------------------------------------------------------------
    async def _instances(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        source = await self.workspaces.source(workspace_id)
        return source.imports

    async def _instance(self, workspace_id: str, slug: str) -> dict[str, Any]:
        instance = (await self._instances(workspace_id)).get(slug)
        if instance is None:
            raise ObjectNotFoundError(f"App instance '{slug}' not found", {"slug": slug})
        return {**instance, "slug": slug}

    async def get(self, workspace_id: str, slug: str) -> dict[str, Any]:
        """``{…instance, config: {schema?, block?, value}, documentation?, appDeleted?}``."""
        instance = await self._instance(workspace_id, slug)
        out = dict(instance)
        config: dict[str, Any] = {}
        try:
            version, doc = await self.apps.version_document(instance["appSlug"], instance.get("appVersion"))
            details = app_details(doc)
            config.update(details["config"])
            if "documentation" in details:
                out["documentation"] = details["documentation"]
            out["resolvedVersion"] = version
        except ObjectNotFoundError:
            out["appMissing"] = True
        config["value"] = instance.get("config") if instance.get("config") is not None else {}
        out["config"] = config
        rows = await self.apps.rows([instance["appSlug"]])
        app = rows.get(instance["appSlug"])
        if app is not None and app.deleted_at is not None:
            out["appDeleted"] = True
        return out

    async def list(self, workspace_id: str) -> list[dict[str, Any]]:
        """Detailed instances: the app's name and photo, its public automations, blocks (slugs
        prefixed with the instance slug) and the instance's events. Instances whose app (or pinned
        version) cannot be resolved are omitted; a soft-deleted app still resolves (``appDeleted``)."""
        instances = await self._instances(workspace_id)
        rows = await self.apps.rows(str(i.get("appSlug")) for i in instances.values())
        out = []
        for slug, instance in instances.items():
            app = rows.get(str(instance.get("appSlug")))
            if app is None:
                continue
            try:
                _, doc = await self.apps.version_document(app.slug, instance.get("appVersion"))
            except ObjectNotFoundError:
                continue
            details = app_details(doc)
            item: dict[str, Any] = {**instance, "slug": slug, "appName": instance.get("appName") or app.name}
            photo = details.get("photo") or app.photo
            if photo:
                item["photo"] = photo
            item["automations"] = details["automations"]
            item["blocks"] = [{**b, "slug": f"{slug}.{b.get('slug')}"} for b in details["blocks"]]
            item["events"] = instance_events(details["events"], slug, instance.get("config"))
            if "documentation" in details:
                item["documentation"] = details["documentation"]
            if app.deleted_at is not None:
                item["appDeleted"] = True
            out.append(item)
        return out

    async def get_config(self, workspace_id: str, slug: str, *, redact_secrets: bool = False) -> Any:
        """The instance's config; with ``redact_secrets`` (a reader who may not manage the
        workspace's security) the fields its app declares ``secret: true`` read ``REDACTED``."""
        instance = await self._instance(workspace_id, slug)
        config = instance.get("config") if instance.get("config") is not None else {}
        if redact_secrets and isinstance(config, dict):
            doc = await self._app_document(instance)
            paths = config_secret_paths(doc) if doc is not None else []
            if paths:
                config = redact_paths(config, paths)
        return config

    # -- writes -------------------------------------------------------------------------
    # Read-modify-write of the workspace document: serialized and retried on conflicts.
    async def install(self, workspace_id: str, body: Any, *, actor: str | None = None) -> dict[str, Any]:
        return await self.workspaces.retrying(self._install, workspace_id, body, actor=actor)  # type: ignore[no-any-return]

    async def configure(self, workspace_id: str, slug: str, patch: Any, **kwargs: Any) -> dict[str, Any]:
        return await self.workspaces.retrying(self._configure, workspace_id, slug, patch, **kwargs)  # type: ignore[no-any-return]

    async def uninstall(self, workspace_id: str, slug: str, *, actor: str | None = None) -> dict[str, Any]:
        return await self.workspaces.retrying(self._uninstall, workspace_id, slug, actor=actor)  # type: ignore[no-any-return]

    async def _install(self, workspace_id: str, body: Any, *, actor: str | None = None) -> dict[str, Any]:
        instance = self._body(body, partial=False)
        slug = instance["slug"]
        self._check_slug(slug)
        source = await self.workspaces.source(workspace_id)
        if slug in source.imports:
            raise AlreadyUsedError(f"App instance slug '{slug}' is already used in this workspace", {"slug": slug})
        await self.apps.row(instance["appSlug"])  # a deleted app cannot be installed any more
        doc = await self._checked(workspace_id, instance)
        now = iso(datetime.now(UTC))
        source.imports[slug] = {**instance, "createdAt": now, "updatedAt": now,
                                **({"createdBy": actor, "updatedBy": actor} if actor else {})}
        events = instance_events(app_events(doc), slug, instance.get("config"))
        await self.workspaces.replace(
            workspace_id, source, actor=actor, event="workspaces.apps.installed",
            payload={"appInstance": hide_secret_config(instance, doc), "slug": slug, "events": events},
            source_fields={"appSlug": instance["appSlug"], "appInstanceFullSlug": slug})
        return instance

    async def _configure(self, workspace_id: str, slug: str, patch: Any, *,
                        actor: str | None = None) -> dict[str, Any]:
        """Partial update (``slug`` renames); returns ``{…instance, config: {value}}``."""
        changes = self._body(patch, partial=True)
        source = await self.workspaces.source(workspace_id)
        current = source.imports.get(slug)
        if current is None:
            raise ObjectNotFoundError(f"App instance '{slug}' not found", {"slug": slug})
        new_slug = changes.get("slug") or slug
        if new_slug != slug:
            self._check_slug(new_slug)
            if new_slug in source.imports:
                raise AlreadyUsedError(f"App instance slug '{new_slug}' is already used in this workspace",
                                       {"slug": new_slug})
        instance = {**public(current), **changes, "slug": new_slug}
        instance = {k: v for k, v in instance.items() if v is not None or k == "config"}
        if instance.get("config") is None:
            instance.pop("config", None)
        if changes.get("appSlug") not in (None, current.get("appSlug")):
            await self.apps.row(instance["appSlug"])
        doc = await self._checked(workspace_id, instance)
        stored: dict[str, Any] = {**instance, **{k: current[k] for k in ("createdAt", "createdBy") if k in current},
                                  "updatedAt": iso(datetime.now(UTC))}
        if actor:
            stored["updatedBy"] = actor
        imports: dict[str, dict[str, Any]] = {}
        for key, value in source.imports.items():
            imports[new_slug if key == slug else key] = stored if key == slug else value
        source.imports = imports
        old_doc = doc
        if (current.get("appSlug"), current.get("appVersion")) != (instance["appSlug"], instance.get("appVersion")):
            old_doc = await self._app_document(current) or {}
        shown = hide_secret_config({**instance, "oldConfig": current.get("config") if current.get("config")
                                    is not None else {}}, doc)
        shown["oldConfig"] = hide_secret_config({"oldConfig": shown["oldConfig"]}, old_doc)["oldConfig"]
        payload: dict[str, Any] = {"appInstance": shown, "slug": new_slug}
        if new_slug != slug:
            payload["oldSlug"] = slug
        payload["events"] = instance_events(app_events(doc), new_slug, instance.get("config"))
        await self.workspaces.replace(
            workspace_id, source, actor=actor, event="workspaces.apps.configured", payload=payload,
            source_fields={"appSlug": instance["appSlug"], "appInstanceFullSlug": new_slug})
        return {**instance, "config": {"value": instance.get("config") if instance.get("config") is not None
                                       else {}}}

    async def patch_config(self, workspace_id: str, slug: str, patch: Any, *,
                           actor: str | None = None) -> dict[str, Any]:
        """Shallow merge into the instance config."""
        if not isinstance(patch, dict):
            raise InvalidWorkspaceError("The config patch must be an object",
                                        [{"path": "body", "message": "must be an object"}])
        current = await self.get_config(workspace_id, slug)
        merged = {**(current if isinstance(current, dict) else {}), **patch}
        return await self.configure(workspace_id, slug, {"config": merged}, actor=actor)

    async def _uninstall(self, workspace_id: str, slug: str, *, actor: str | None = None) -> dict[str, Any]:
        """Drop the instance. The event carries the removed ``appInstance`` and ``revision``, the
        last workspace revision that still has it (its uninstall listeners run from there)."""
        source = await self.workspaces.source(workspace_id)
        current = source.imports.pop(slug, None)
        if current is None:
            raise ObjectNotFoundError(f"App instance '{slug}' not found", {"slug": slug})
        row = await self.workspaces.get_row(workspace_id)
        shown = hide_secret_config(public({**current, "slug": slug}), await self._app_document(current) or {})
        await self.workspaces.replace(
            workspace_id, source, actor=actor, event="workspaces.apps.uninstalled",
            payload={"slug": slug, "appInstance": shown, "revision": row.revision},
            source_fields={"appSlug": current.get("appSlug"), "appInstanceFullSlug": slug})
        return {"id": slug}

    # -- checks -------------------------------------------------------------------------
    @staticmethod
    def _check_slug(slug: Any) -> None:
        from schemas.errors import InvalidSlugError

        problem = slug_problem(slug, "app instance")
        if problem:
            raise InvalidSlugError(problem, {"slug": slug, "pattern": SLUG_PATTERN})

    @staticmethod
    def _body(body: Any, *, partial: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidWorkspaceError("The body must be an app instance object",
                                        [{"path": "body", "message": "must be an object"}])
        body = {k: v for k, v in body.items() if k not in METADATA}
        try:
            AppInstanceBody.model_validate(body if not partial else {"appSlug": "-", **body})
            problems = []
        except ValidationError as error:
            problems = findings_of(error, ("body",))
        if problems:
            details = [{"path": format_path(p.path), "message": p.message} for p in problems]
            raise InvalidWorkspaceError(f"Invalid app instance: {details[0]['path']}: {details[0]['message']}",
                                        details)
        if not partial:
            if not body.get("appSlug"):
                raise MissingFieldError("'appSlug' is required to install an app", {"fields": ["appSlug"]})
            if body.get("slug") is None:
                body["slug"] = body["appSlug"]  # the reference's default: the instance takes the app's slug
            elif not body["slug"]:
                raise MissingFieldError("'slug' must not be empty (leave it out to use the app's slug)",
                                        {"fields": ["slug"]})
        return {k: body[k] for k in INSTANCE_FIELDS if k in body}

    async def _app_document(self, instance: dict[str, Any]) -> dict[str, Any] | None:
        """The app version document an installed instance runs, or None when it cannot be resolved
        any more (an uninstall must still work)."""
        app_slug = instance.get("appSlug")
        if not isinstance(app_slug, str):
            return None
        try:
            return (await self.apps.version_document(app_slug, instance.get("appVersion")))[1]
        except TidewayError:
            return None

    async def _checked(self, workspace_id: str | None, instance: dict[str, Any]) -> dict[str, Any]:
        """Resolve the instance's app version (404), check its config (400) and cycles (400)."""
        app_slug, version = instance["appSlug"], instance.get("appVersion")
        _, doc = await self.apps.version_document(app_slug, version)
        problems = config_problems(doc, instance.get("config"))
        if problems:
            path, message = problems[0]
            raise InvalidArgumentsError(
                f"Invalid config for app '{app_slug}': {path}: {message}",
                [{"path": p, "message": m} for p, m in problems])
        await self.checks.check_cycle(workspace_id, app_slug, version)
        return doc
