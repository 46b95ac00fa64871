"""Apps: workspaces published as immutable versions (spec §7.1–7.2, DECISIONS 17 and 22).

An ``App`` row is keyed by its slug, frozen after the first publish; each publish adds an
``AppVersion`` holding the whole workspace document of that moment. Versions never change, so
documents are cached per (app, version) in every process; "latest" is always read from the
database, so a publish is seen by every api and worker process at once.

Deleting an app is a soft delete: it leaves the catalogue (``GET /v2/apps`` and
``GET /v2/apps/{slug}`` answer 404) but ``version_document`` still resolves it, so existing
instances keep running on its last version (DECISIONS 22) and report ``appDeleted: true``.

``publish_document`` publishes a document without a source workspace (the conformance runner's
fixture apps, seeds): such an "internal" app gets the synthetic ``workspace_id`` ``~<hash of the
slug>``, which no workspace id can be (ids are alphanumeric); it is shown with no
``workspaceId`` and its publishes emit nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from core.apps.builtin import BUILTIN_APPS, BUILTIN_VERSION, RELEASED, builtin_row, is_builtin
from core.events.declared import app_events
from core.infra.db import Database
from core.infra.tables import App, AppVersion, Workspace
from core.workspaces.service import WorkspaceService, iso
from schemas.errors import (
    AlreadyUsedError,
    ForbiddenError,
    InvalidSlugError,
    InvalidVersionError,
    MissingFieldError,
    ObjectNotFoundError,
)

APP_SLUG_PATTERN = r"^[/a-zA-Z0-9 _-]+$"
VERSION_PATTERN = r"^[a-zA-Z0-9_.-]{1,15}$"
LATEST_ALIASES = ("current", "latest")
MAX_LISTED_VERSIONS = 1000
DEFAULT_VERSION_DESCRIPTION = "App release"


def reserved(slug: str, action: str) -> ForbiddenError:
    return ForbiddenError(f"App '{slug}' is built into Tideway: its slug is reserved, nobody may {action}",
                          {"slug": slug, "builtIn": True})


def internal_workspace_id(slug: str) -> str:
    return "~" + hashlib.sha256(slug.encode()).hexdigest()[:24]


def is_internal(workspace_id: str) -> bool:
    return workspace_id.startswith("~")


def check_app_slug(slug: Any) -> str:
    if not isinstance(slug, str) or not re.match(APP_SLUG_PATTERN, slug):
        raise InvalidSlugError(f"Invalid app slug '{slug}': it must match {APP_SLUG_PATTERN}",
                               {"slug": slug, "pattern": APP_SLUG_PATTERN})
    return slug


def generated_version_name(count: int, now: datetime) -> str:
    """Spec §7.1: ``M-D-YYYY.N-<epochms>`` (N = the number of the version in the app)."""
    return f"{now.month}-{now.day}-{now.year}.{count}-{int(now.timestamp() * 1000)}"


def public_automations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What an app exposes: its non-private, enabled automations with name, description, arguments."""
    out = []
    for slug, automation in (document.get("automations") or {}).items():
        if not isinstance(automation, dict) or automation.get("private") or automation.get("disabled"):
            continue
        item: dict[str, Any] = {"slug": slug, "name": automation.get("name", slug)}
        for key in ("description", "arguments"):
            if automation.get(key) is not None:
                item[key] = automation[key]
        out.append(item)
    return out


def config_view(document: dict[str, Any]) -> dict[str, Any]:
    """The app's ``config`` without ``value`` (spec §7.2): ``{schema?, block?}``."""
    config = document.get("config")
    if not isinstance(config, dict):
        return {}
    return {k: config[k] for k in ("schema", "block") if config.get(k) is not None}


def blocks_view(document: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = document.get("blocks")
    if isinstance(blocks, dict):
        return [{"slug": slug, **(b if isinstance(b, dict) else {"url": b})} for slug, b in blocks.items()]
    if isinstance(blocks, list):
        return [b for b in blocks if isinstance(b, dict)]
    return []


def app_details(document: dict[str, Any]) -> dict[str, Any]:
    """What an app version exposes to the workspaces installing it."""
    details: dict[str, Any] = {"config": config_view(document), "automations": public_automations(document),
                               "blocks": blocks_view(document), "events": app_events(document)}
    if document.get("photo"):
        details["photo"] = document["photo"]
    if "_doc" in (document.get("pages") or {}):
        details["documentation"] = {"workspaceSlug": document.get("slug"), "slug": "_doc"}
    return details


class AppService:
    def __init__(self, db: Database, workspaces: WorkspaceService | None = None):
        self.db = db
        self.workspaces = workspaces  # needed to publish and emit; the runtime only resolves versions
        self._versions: dict[tuple[str, str], dict[str, Any]] = {}

    # -- rows -------------------------------------------------------------------------
    async def importers(self, app_slug: str) -> list[tuple[str, str]]:
        """(workspace id, instance slug) of every live workspace installing ``app_slug``."""
        async with self.db.session() as session:
            rows = (await session.exec(select(Workspace).where(col(Workspace.deleted_at).is_(None)))).all()
        found: list[tuple[str, str]] = []
        assert self.workspaces is not None  # importers are looked up when publishing, with the workspaces
        for row in rows:
            doc = await self.workspaces.document(row.id, row.revision)
            for slug, instance in (doc.get("imports") or {}).items():
                if isinstance(instance, dict) and instance.get("appSlug") == app_slug and not instance.get("disabled"):
                    found.append((row.id, slug))
        return found

    async def row(self, slug: str, *, include_deleted: bool = False) -> App:
        if is_builtin(slug):
            return builtin_row(slug)
        async with self.db.session() as session:
            app = await session.get(App, slug)
        if app is None or (app.deleted_at is not None and not include_deleted):
            raise ObjectNotFoundError(f"App '{slug}' not found", {"appSlug": slug})
        return app

    async def rows(self, slugs: Iterable[str]) -> dict[str, App]:
        wanted = sorted(set(slugs))
        builtin = {slug: builtin_row(slug) for slug in wanted if is_builtin(slug)}
        stored = [slug for slug in wanted if slug not in builtin]
        if not stored:
            return builtin
        async with self.db.session() as session:
            found = (await session.exec(select(App).where(col(App.slug).in_(stored)))).all()
        return {**{a.slug: a for a in found}, **builtin}

    async def app_of_workspace(self, workspace_id: str, *, include_deleted: bool = False) -> App | None:
        """The app published from a workspace, if any: the live one, or with ``include_deleted``
        the one deleted since (a workspace publishes one app; its slug never changes)."""
        async with self.db.session() as session:
            stmt = select(App).where(App.workspace_id == workspace_id)
            if not include_deleted:
                stmt = stmt.where(col(App.deleted_at).is_(None))
            return (await session.exec(stmt.order_by(col(App.deleted_at).desc().nulls_first()))).first()

    # -- versions (used by the runtime) -------------------------------------------------
    async def version_document(self, app_slug: str, version: str | None) -> tuple[str, dict[str, Any]]:
        """(version name, workspace document) of ``version``, or of the latest version when it is
        None, ``current`` or ``latest``. Soft-deleted apps resolve too (DECISIONS 22)."""
        if is_builtin(app_slug):
            # One version, Tideway's: a version pinned by a workspace written for the reference
            # platform (`appVersion: v3` of Custom Code) resolves to it rather than failing.
            return BUILTIN_VERSION, BUILTIN_APPS[app_slug]
        if version is None or version in LATEST_ALIASES:
            latest = (await self.latest_versions([app_slug])).get(app_slug)
            if latest is None:
                raise ObjectNotFoundError(f"App '{app_slug}' not found", {"appSlug": app_slug})
            version = latest
        key = (app_slug, version)
        doc = self._versions.get(key)
        if doc is None:
            async with self.db.session() as session:
                stmt = select(AppVersion.document).where(AppVersion.app_slug == app_slug, AppVersion.name == version)
                found = (await session.exec(stmt)).first()
            doc = dict(found) if found is not None else None
            if doc is None:
                await self.row(app_slug, include_deleted=True)
                raise ObjectNotFoundError(f"Version '{version}' of app '{app_slug}' not found",
                                          {"appSlug": app_slug, "appVersion": version})
            if len(self._versions) > 500:
                self._versions.clear()
            self._versions[key] = doc
        return version, doc

    async def latest_versions(self, app_slugs: Iterable[str]) -> dict[str, str]:
        """Latest version name of each app that has one (one query; deleted apps included)."""
        wanted = sorted(set(app_slugs))
        builtin = {slug: BUILTIN_VERSION for slug in wanted if is_builtin(slug)}
        wanted = [slug for slug in wanted if slug not in builtin]
        if not wanted:
            return builtin
        newest = (select(AppVersion.app_slug, func.max(AppVersion.seq).label("seq"))  # type: ignore[call-overload]
                  .where(col(AppVersion.app_slug).in_(wanted)).group_by(AppVersion.app_slug).subquery())
        stmt = select(AppVersion.app_slug, AppVersion.name).join(
            newest, (col(AppVersion.app_slug) == newest.c.app_slug) & (col(AppVersion.seq) == newest.c.seq))
        async with self.db.session() as session:
            rows = (await session.exec(stmt)).all()
        return {**{slug: name for slug, name in rows}, **builtin}

    async def version_list(self, slug: str, *, limit: int = MAX_LISTED_VERSIONS) -> list[dict[str, Any]]:
        if is_builtin(slug):
            return [{"name": BUILTIN_VERSION, "description": "Built into Tideway", "createdAt": iso(RELEASED)}]
        async with self.db.session() as session:
            stmt = (select(AppVersion.name, AppVersion.description, AppVersion.created_at)
                    .where(AppVersion.app_slug == slug).order_by(col(AppVersion.seq).desc()).limit(limit))
            rows = (await session.exec(stmt)).all()
        return [{"name": n, "description": d, "createdAt": iso(c)} for n, d, c in rows]

    async def details(self, slug: str, version: str | None = None) -> dict[str, Any]:
        name, doc = await self.version_document(slug, version)
        return {"version": name, **app_details(doc)}

    # -- catalogue ----------------------------------------------------------------------
    def summary(self, app: App) -> dict[str, Any]:
        out: dict[str, Any] = {"id": app.slug, "slug": app.slug, "name": app.name}
        for key in ("description", "photo"):
            if getattr(app, key) is not None:
                out[key] = getattr(app, key)
        out["labels"] = list(app.labels or [])
        if not is_internal(app.workspace_id):
            out["workspaceId"] = app.workspace_id
        if is_builtin(app.slug):
            out["builtIn"] = True
        out.update(createdAt=iso(app.created_at), updatedAt=iso(app.updated_at))
        if app.deleted_at is not None:
            out["deleted"] = True
        return out

    async def get(self, slug: str, version: str | None = None) -> dict[str, Any]:
        app = await self.row(slug)
        details = await self.details(slug, version)
        return {**self.summary(app), **details, "versions": await self.version_list(slug)}

    async def search(self, *, text: str | None = None, labels: list[str] | None = None,
                   workspace_id: str | None = None, page: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Live apps, newest update first. ``text`` matches slug, name or description
        (case-insensitive); ``labels`` keeps apps carrying any of them."""
        stmt = select(App).where(col(App.deleted_at).is_(None))
        if workspace_id:
            stmt = stmt.where(App.workspace_id == workspace_id)
        async with self.db.session() as session:
            rows = (await session.exec(stmt.order_by(col(App.updated_at).desc(), col(App.slug)))).all()
        needle = (text or "").strip().lower()
        wanted = {label for label in labels or [] if label}
        out = []
        builtin = [builtin_row(slug) for slug in sorted(BUILTIN_APPS)] if not workspace_id else []
        for app in [*builtin, *rows]:
            if needle and needle not in " ".join([app.slug, app.name, str(app.description or "")]).lower():
                continue
            if wanted and not wanted & set(app.labels or []):
                continue
            out.append(app)
        page, limit = max(page, 0), max(min(limit, 500), 1)
        chosen = out[page * limit:(page + 1) * limit]
        latest = await self.latest_versions(a.slug for a in chosen)
        return [{**self.summary(a), "version": latest.get(a.slug)} for a in chosen]

    async def versions(self, slug: str) -> list[dict[str, Any]]:
        await self.row(slug)
        return await self.version_list(slug)

    # -- publishing -----------------------------------------------------------------------
    async def publish(self, workspace_id: str, *, slug: str | None = None, name: str | None = None,
                      description: Any = None, workspace_version: Any = None,
                      actor: str | None = None) -> dict[str, Any]:
        """Publish a workspace (current revision, or revision ``workspace_version``) as a new version."""
        assert self.workspaces is not None, "publishing needs the workspace service"
        if isinstance(slug, str) and is_builtin(slug):
            raise reserved(slug, "publish a workspace under it")
        ws = await self.workspaces.get_row(workspace_id)
        revision = ws.revision
        if workspace_version not in (None, "", *LATEST_ALIASES):
            try:
                revision = int(workspace_version)
            except (TypeError, ValueError):
                raise InvalidVersionError(f"Unknown workspace version '{workspace_version}'",
                                          {"workspaceVersion": workspace_version}) from None
        # The app reuses the workspace's description and photo when it has them, else has none.
        document = {**await self.workspaces.document(ws.id, revision), "slug": ws.slug}
        # The slug is fixed at the first publish: an app deleted since revives under it.
        existing = await self.app_of_workspace(ws.id, include_deleted=True)
        if existing is not None:
            if slug not in (None, "", existing.slug):
                raise InvalidSlugError("Once published, an app slug cannot be updated.",
                                       {"slug": existing.slug, "requested": slug})
            app_slug = existing.slug
        else:
            if not slug:
                raise MissingFieldError("The first publish of a workspace needs an app 'slug'", {"fields": ["slug"]})
            app_slug = check_app_slug(slug)
            async with self.db.session() as session:
                taken = await session.get(App, app_slug)
            if taken is not None and taken.workspace_id != ws.id:
                raise AlreadyUsedError(f"App slug '{app_slug}' is already used", {"slug": app_slug})
        app = await self._store(app_slug, ws.id, document, version=name, description=description,
                                workspace_revision=revision)
        result = {**self.summary(app), "versions": await self.version_list(app_slug)}
        await self.workspaces._record(ws.id, "apps.published", {"app": result}, actor)
        await self._announce(app_slug, "apps.published", {"app": result}, actor)
        return result

    async def _announce(self, app_slug: str, type_: str, payload: dict[str, Any], actor: str | None) -> None:
        """Deliver an app's lifecycle event to every instance of it (spec §7.1): recorded in each
        importing workspace with the instance as its source, so the instance's listeners run."""
        if self.workspaces is None:
            return
        for workspace_id, instance in await self.importers(app_slug):
            await self.workspaces._record(workspace_id, type_, payload, actor,
                                          source={"appSlug": app_slug, "appInstanceFullSlug": instance})

    async def publish_document(self, slug: str, document: dict[str, Any], *, version: str | None = None,
                               description: Any = None) -> dict[str, Any]:
        """Publish ``document`` as a new version of app ``slug`` without a source workspace
        (internal: fixtures, seeds). Emits nothing."""
        check_app_slug(slug)
        if is_builtin(slug):
            raise reserved(slug, "publish a document under it")
        async with self.db.session() as session:
            current = await session.get(App, slug)
        workspace_id = current.workspace_id if current is not None else internal_workspace_id(slug)
        app = await self._store(slug, workspace_id, dict(document), version=version, description=description,
                                workspace_revision=0)
        return {**self.summary(app), "versions": await self.version_list(slug)}

    async def _store(self, slug: str, workspace_id: str, document: dict[str, Any], *, version: str | None,
                     description: Any, workspace_revision: int) -> App:
        now = datetime.now(UTC)
        async with self.db.session() as session:
            count = (await session.exec(
                select(func.count()).select_from(AppVersion).where(AppVersion.app_slug == slug))).one()
            if version is not None:
                if not isinstance(version, str) or not re.match(VERSION_PATTERN, version) \
                        or version in LATEST_ALIASES:
                    raise InvalidVersionError(
                        f"Invalid version name '{version}': it must match {VERSION_PATTERN} and not be "
                        f"'current' or 'latest'", {"name": version, "pattern": VERSION_PATTERN})
                clash = (await session.exec(select(AppVersion.seq).where(
                    AppVersion.app_slug == slug, AppVersion.name == version))).first()
                if clash is not None:
                    raise AlreadyUsedError(f"Version '{version}' of app '{slug}' already exists",
                                           {"appSlug": slug, "name": version})
            name = version or generated_version_name(count + 1, now)
            app_name = str(document.get("name") or slug)[:200]
            photo, labels = document.get("photo"), list(document.get("labels") or [])
            app = await session.get(App, slug)
            if app is None:
                session.add(App(slug=slug, workspace_id=workspace_id, name=app_name,
                                description=document.get("description"), photo=photo, labels=labels,
                                created_at=now, updated_at=now))
            else:
                await session.exec(update(App).where(col(App.slug) == slug).values(  # type: ignore[call-overload]
                    workspace_id=workspace_id, name=app_name, description=document.get("description"),
                    photo=photo, labels=labels, updated_at=now, deleted_at=None))
            session.add(AppVersion(app_slug=slug, name=name, workspace_revision=workspace_revision,
                                   description=description if description not in (None, "")
                                   else DEFAULT_VERSION_DESCRIPTION, document=document, created_at=now))
            await session.commit()
        return await self.row(slug)

    async def delete(self, slug: str, *, actor: str | None = None) -> dict[str, Any]:
        """Soft delete; emits ``apps.deleted {appSlug}`` into the source workspace."""
        if is_builtin(slug):
            raise reserved(slug, "delete it")
        app = await self.row(slug)
        async with self.db.session() as session:
            await session.exec(update(App).where(col(App.slug) == slug)  # type: ignore[call-overload]
                               .values(deleted_at=datetime.now(UTC)))
            await session.commit()
        if self.workspaces is not None and not is_internal(app.workspace_id):
            try:
                await self.workspaces.get_row(app.workspace_id)
            except ObjectNotFoundError:
                return {"id": slug}
            await self.workspaces._record(app.workspace_id, "apps.deleted", {"appSlug": slug}, actor)
        await self._announce(slug, "apps.deleted", {"appSlug": slug}, actor)
        return {"id": slug}
