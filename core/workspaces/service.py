"""Workspace service: definitions, revisions and the compiled index used on the hot path.

Every change writes a new immutable revision; runs pin the revision they started
with. ``compiled()`` is cached per (workspace, revision), so any process sees an
edit as soon as the workspace row's revision moves.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.access.permissions.defaults import OWNER, initial_security
from core.apps.tree import config_secret_paths, index_automations, mentions_contexts
from core.events.changes import ChangeEvents, Dispatcher, change_event
from core.events.declared import automation_events
from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceMember, WorkspaceRevision, iso
from core.workspaces.config_interpolation import interpolate_config
from core.workspaces.secrets import SecretStore
from core.workspaces.slugs import automation_slug_from, new_id, workspace_slug_from
from language.secrets import (
    Redactor,
    find_secret_paths,
    find_secret_values,
    redact_paths,
)
from schemas.checks import slug_problem
from schemas.dsul import WorkspaceSource
from schemas.errors import (
    AlreadyUsedError,
    ConflictError,
    ForbiddenError,
    InvalidWorkspaceError,
    ObjectNotFoundError,
)
from schemas.events import Event
from schemas.runs import WorkspaceRef
from schemas.validation import validate_automation, validate_workspace

log = logging.getLogger("tideway.workspaces")
ROW_TTL = 1.0  # seconds a workspace row (its current revision) is cached in a process
# Checks the app instances of a source being stored: (workspace id or None, source, the
# previous imports). Set by core.apps.instances (unknown apps, configs, cycles).
ImportChecker = Callable[[str | None, WorkspaceSource, dict[str, Any]], Awaitable[None]]
# Extra checks of a source being stored (e.g. schedules: core.runs.schedules); raise a TidewayError.
SourceValidator = Callable[[WorkspaceSource], None]
# Called with the workspace id after every new revision, a delete, a purge, and when an app the
# workspace imports is published or deleted (e.g. schedule reconciliation). Errors are logged.
ChangeHook = Callable[[str], Awaitable[None]]
TREE_EVENTS = frozenset({"apps.published", "apps.deleted"})

INDEX_FIELDS = ("name", "description", "photo", "labels", "config", "slug", "customDomains",
                "secrets", "registerWorkspace", "repositories", "blocks")
AUTOMATION_SUMMARY = ("name", "description", "arguments", "private", "disabled", "when", "labels")


def normalize_domain(value: str) -> str:
    """A custom domain (or a ``Host`` header) as compared: lower case, without scheme, path, port
    or trailing dot, so ``https://Docs.Example.org:443/`` and ``docs.example.org`` are one domain."""
    text = value.strip().lower()
    text = text.split("://", 1)[1] if "://" in text else text
    text = text.split("/", 1)[0]
    if not text.startswith("[") and text.count(":") == 1:  # a port; IPv6 literals keep theirs
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def custom_domains(document: dict[str, Any]) -> set[str]:
    """The normalized ``customDomains`` of a workspace document."""
    domains = document.get("customDomains")
    if not isinstance(domains, list):
        return set()
    return {d for d in (normalize_domain(v) for v in domains if isinstance(v, str)) if d}


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def hide_config_secrets(config_doc: Any, paths: list[str]) -> Any:
    """A ``config`` section (``{schema?, value?}``) as events show it: the values of fields
    declared ``secret: true`` read ``REDACTED`` (issue 14)."""
    if not paths or not isinstance(config_doc, dict) or not isinstance(config_doc.get("value"), dict):
        return config_doc
    return {**config_doc, "value": redact_paths(config_doc["value"], paths)}


class SecurityWrite(StrEnum):
    """What a definition write may do to the workspace's ``security.yml``. Changing it by any
    route needs the permission ``PUT …/security`` needs (``manage_security``): the route that
    knows the caller says which mode applies, and the service enforces it on the stored document."""

    ALLOW = "allow"  # the caller may manage security: a changed security.yml is stored
    REFUSE = "refuse"  # a security.yml that differs from the current one is a 403 and nothing is written
    KEEP = "keep"  # the current security.yml is kept whatever the source says (``?keepSecurity=true``)


def effective_security(document: dict[str, Any]) -> Any:
    """The security a document stands for: a workspace without security.yml has the initial one."""
    security = document.get("security")
    return initial_security() if security is None else security


def same_security(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal after normalisation (key order, an absent security.yml = the initial one), so an
    exported workspace imported back unchanged is not a security change."""
    return digest({"s": effective_security(a)}) == digest({"s": effective_security(b)})


def apply_security_write(doc: dict[str, Any], current: dict[str, Any], mode: SecurityWrite) -> None:
    """Set ``doc``'s security for a write under ``mode``. A source without security.yml (an archive
    that does not carry the file) keeps the current one, like a missing ``index.yml``."""
    keep = mode is SecurityWrite.KEEP or "security" not in doc or same_security(doc, current)
    if not keep and mode is SecurityWrite.REFUSE:
        raise ForbiddenError(
            "security.yml: changing the workspace's security needs the 'manage_security' permission "
            "(the one PUT /security needs); import with ?keepSecurity=true to keep the current security",
            {"path": "security.yml", "action": "manage_security"})
    if keep:
        doc.pop("security", None)
        if "security" in current:
            doc["security"] = copy.deepcopy(current["security"])


@dataclass(frozen=True)
class CompiledWorkspace:
    id: str
    slug: str
    name: str
    revision: int
    document: dict[str, Any]
    config: dict[str, Any]
    endpoints: dict[str, str] = field(default_factory=dict)  # endpoint name -> automation slug
    listeners: dict[str, list[str]] = field(default_factory=dict)  # event type -> automation slugs
    uses_contexts: bool = True
    secrets: list[str] = field(default_factory=list)  # config values declared secret in config.schema
    digest: str = ""  # of the document

    def ref(self) -> WorkspaceRef:
        return WorkspaceRef(id=self.id, slug=self.slug, name=self.name, revision=self.revision, config=self.config,
                            uses_contexts=self.uses_contexts, secrets=self.secrets)

    @property
    def automations(self) -> dict[str, dict[str, Any]]:
        return self.document.get("automations") or {}



_ROW_BY_ID = sa_select(Workspace.__table__).where(Workspace.__table__.c.id == bindparam("id"))  # type: ignore[attr-defined]


def _read_row(session: Session, workspace_id: str) -> Workspace | None:
    # A Core read (one cached statement, no identity map) costs a fraction of ``session.get``
    # on every API call and webhook; the row is a detached, read-only value.
    found = session.connection().execute(_ROW_BY_ID, {"id": workspace_id}).first()
    return Workspace(**found._mapping) if found is not None else None


class WorkspaceService:
    def __init__(self, db: Database, dispatcher: Dispatcher | None = None, secrets: SecretStore | None = None):
        self.db = db
        self.secrets = secrets  # workspace secrets: {{secret.X}} in config, redacted from native events
        # The native events of each write, written with it and redacted of the workspace's secrets.
        self.changes = ChangeEvents(db, dispatcher, redactor=self.redactor)
        self._locks: dict[str, asyncio.Lock] = {}
        self._rows: dict[str, tuple[float, Workspace]] = {}
        self._documents: dict[tuple[str, int], dict[str, Any]] = {}
        self._compiled: dict[tuple[str, int, str], CompiledWorkspace] = {}
        self.import_checker: ImportChecker | None = None
        self.validators: list[SourceValidator] = []
        self.on_change: list[ChangeHook] = []

    # -- reads ------------------------------------------------------------------------
    async def get_row(self, workspace_id: str, *, include_deleted: bool = False, max_age: float = 0.0) -> Workspace:
        # ``max_age`` allows a cached row: the worker asks for the current revision at every
        # flush. Writes in this process invalidate it at once; other processes see them within
        # ``max_age`` seconds. The API reads the database (an outage must answer 503 at once).
        cached = self._rows.get(workspace_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < max_age:
            row: Workspace | None = cached[1]
        else:
            row = await self.db.run_sync(_read_row, workspace_id)
            if row is not None:
                self._rows[workspace_id] = (now, row)
        if row is None or (row.deleted_at is not None and not include_deleted):
            raise ObjectNotFoundError(f"Workspace '{workspace_id}' not found", {"workspaceId": workspace_id})
        return row

    async def document(self, workspace_id: str, revision: int) -> dict[str, Any]:
        key = (workspace_id, revision)
        doc = self._documents.get(key)
        if doc is None:
            async with self.db.session() as session:
                row = await session.get(WorkspaceRevision, (workspace_id, revision))
            if row is None:
                raise ObjectNotFoundError(f"Workspace '{workspace_id}' revision {revision} not found")
            doc = row.document
            if len(self._documents) > 1000:
                self._documents.clear()
            self._documents[key] = doc
        return doc

    async def compiled(self, workspace_id: str, *, include_deleted: bool = False,
                       max_age: float = 0.0) -> CompiledWorkspace:
        row = await self.get_row(workspace_id, include_deleted=include_deleted, max_age=max_age)
        return await self._compile(row.id, row.revision, row.slug, row.name, row.updated_at.isoformat())

    async def compiled_revision(self, workspace_id: str, revision: int) -> CompiledWorkspace:
        """A given revision (runs are pinned to one), even of a deleted workspace."""
        hit = self._compiled.get((workspace_id, revision, ""))
        if hit is not None:
            return hit
        doc = await self.document(workspace_id, revision)
        return await self._compile(workspace_id, revision, str(doc.get("slug") or workspace_id),
                                   str(doc.get("name") or workspace_id))

    async def _compile(self, workspace_id: str, revision: int, slug: str, name: str,
                       stamp: str = "") -> CompiledWorkspace:
        # ``stamp`` (the row's updated_at) moves when secrets change without a new revision.
        key = (workspace_id, revision, stamp)
        hit = self._compiled.get(key)
        if hit is not None:
            return hit
        doc = await self.document(workspace_id, revision)
        config_doc = doc.get("config")
        config = config_doc.get("value") if isinstance(config_doc, dict) else None
        schema = config_doc.get("schema") if isinstance(config_doc, dict) else None
        endpoints, listeners = index_automations(doc.get("automations") or {})
        uses = mentions_contexts(doc.get("automations"))
        secret_values = await self.secrets.values(workspace_id, slug) if self.secrets is not None else {}
        values = interpolate_config(config, slug=slug, secrets=secret_values)
        secrets = find_secret_values(values, find_secret_paths(schema))
        secrets += [v for v in secret_values.values() if isinstance(v, str) and v.strip() and v not in secrets]
        compiled = CompiledWorkspace(workspace_id, slug, name, revision, doc, values, endpoints, listeners,
                                     uses, secrets, digest(doc))
        if len(self._compiled) > 500:
            self._compiled.clear()
        self._compiled[key] = compiled
        return compiled

    async def importers(self, app_slug: str) -> list[tuple[str, str]]:
        """(workspace id, instance slug) of every live workspace installing ``app_slug``."""
        async with self.db.session() as session:
            rows = (await session.exec(select(Workspace).where(col(Workspace.deleted_at).is_(None)))).all()
        found: list[tuple[str, str]] = []
        for row in rows:
            doc = await self.document(row.id, row.revision)
            for slug, instance in (doc.get("imports") or {}).items():
                if isinstance(instance, dict) and instance.get("appSlug") == app_slug and not instance.get("disabled"):
                    found.append((row.id, slug))
        return found

    async def list(self, *, slug: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        stmt = select(Workspace).where(col(Workspace.deleted_at).is_(None))
        if slug:
            stmt = stmt.where(Workspace.slug == slug)
        if name:
            stmt = stmt.where(col(Workspace.name).ilike(f"%{name}%"))
        async with self.db.session() as session:
            rows = (await session.exec(stmt.order_by(col(Workspace.created_at)))).all()
        return [self.summary(r, await self.document(r.id, r.revision)) for r in rows]

    def summary(self, row: Workspace, doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: doc[k] for k in ("description", "photo", "labels") if k in doc}
        out.update(id=row.id, slug=row.slug, name=row.name, revision=row.revision,
                   createdAt=iso(row.created_at), updatedAt=iso(row.updated_at))
        return out

    @staticmethod
    def dsul_root(workspace_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        """The DSUL root fields of a document (``index.yml`` plus ``id``), as events carry them."""
        out = {k: v for k, v in doc.items() if k not in ("automations", "imports", "pages", "security")}
        out["id"] = workspace_id
        return out

    async def dsul(self, workspace_id: str) -> dict[str, Any]:
        row = await self.get_row(workspace_id)
        return self.dsul_root(row.id, {**await self.document(row.id, row.revision), "slug": row.slug})

    async def detail(self, workspace_id: str) -> dict[str, Any]:
        row = await self.get_row(workspace_id)
        doc = await self.document(row.id, row.revision)
        out = {k: v for k, v in doc.items() if k not in ("automations", "imports", "pages", "security")}
        out.update(self.summary(row, doc))
        out["automations"] = {slug: {k: a[k] for k in AUTOMATION_SUMMARY if k in a}
                              for slug, a in (doc.get("automations") or {}).items()}
        out["imports"] = doc.get("imports") or {}
        return out

    async def source(self, workspace_id: str) -> WorkspaceSource:
        row = await self.get_row(workspace_id)
        doc = await self.document(row.id, row.revision)
        source = WorkspaceSource.from_document({**doc, "slug": row.slug, "name": row.name})
        source.base_revision = row.revision
        return source

    # -- writes -----------------------------------------------------------------------
    async def create(self, source: WorkspaceSource, *, actor: str | None = None,
                     workspace_id: str | None = None, validate: bool = True, owner: str | None = None) -> Workspace:
        """Create a workspace (revision 1), its ``owner`` member (a user id) and its
        ``workspaces.created`` event in one transaction. ``workspace_id`` and ``validate=False``
        are for internal callers (the conformance runner loads reference runtime models as they are)."""
        if validate:
            validate_workspace(source)
            for validator in self.validators:
                validator(source)
        doc = self._document_of(source)
        slug = doc.get("slug") or await self._free_slug(workspace_slug_from(doc["name"]))
        doc["slug"] = slug
        doc.pop("id", None)
        if validate and self.import_checker is not None and source.imports:
            await self.import_checker(workspace_id, source, {})
        await self._check_custom_domains(doc, workspace_id, set())
        async with self.db.session() as session:
            if await self._slug_owner(session, slug) is not None:
                raise AlreadyUsedError(f"Workspace slug '{slug}' is already used", {"slug": slug})
            row = Workspace(id=workspace_id or new_id(), slug=slug, name=doc["name"], revision=1)
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:  # a concurrent creation took the slug after the check above
                raise AlreadyUsedError(f"Workspace slug '{slug}' is already used", {"slug": slug}) from None
            session.add(WorkspaceRevision(workspace_id=row.id, revision=1, digest=digest(doc), document=doc))
            if owner:
                session.add(WorkspaceMember(workspace_id=row.id, user_id=owner, role=OWNER, created_at=row.created_at))
            await session.flush()
            await session.refresh(row)
            later = await self.changes.stage(session, [change_event(
                row.id, "workspaces.created", {"workspace": self.summary(row, doc)}, actor)])
            await session.commit()
        await self.changes.deliver(row.id, later)
        await self._changed(row.id)
        return row

    async def replace(self, workspace_id: str, source: WorkspaceSource, *, actor: str | None = None,
                      event: str = "workspaces.imported", payload: dict[str, Any] | None = None,
                      source_fields: dict[str, Any] | None = None,
                      security: SecurityWrite = SecurityWrite.REFUSE,
                      more_events: Sequence[tuple[str, dict[str, Any]]] = ()) -> tuple[Workspace, bool]:
        """Store ``source`` as a new revision (nothing when unchanged), with its ``event`` (and
        ``more_events``) in the same transaction. Returns (row, changed). An archive without
        ``index.yml`` keeps the current root fields, one without ``security.yml`` the current
        security; ``security`` says whether a changed security.yml may be stored (see
        :class:`SecurityWrite`: by default it may not). ``payload`` replaces the event's default
        payload, ``source_fields`` are added to its source."""
        row = await self.get_row(workspace_id)
        if not source.index:
            current_doc = await self.document(row.id, row.revision)
            source.index = {k: v for k, v in current_doc.items()
                            if k not in ("automations", "imports", "pages", "security")}
        validate_workspace(source)
        for validator in self.validators:
            validator(source)
        doc = self._document_of(source)
        doc["slug"] = doc.get("slug") or row.slug
        doc.pop("id", None)
        if doc["slug"] != row.slug:
            async with self.db.session() as session:
                owner = await self._slug_owner(session, doc["slug"])
            if owner is not None and owner != row.id:
                raise AlreadyUsedError(f"Workspace slug '{doc['slug']}' is already used", {"slug": doc["slug"]})
        current = await self.document(row.id, row.revision)
        apply_security_write(doc, current, security)
        if digest(current) == digest(doc):
            return row, False
        await self._check_custom_domains(doc, row.id, custom_domains(current))
        if self.import_checker is not None and source.imports:
            await self.import_checker(row.id, source, current.get("imports") or {})

        def events(new: Workspace) -> Sequence[Event]:
            body = payload if payload is not None else {"workspace": self.summary(new, doc), "revision": new.revision}
            return [change_event(new.id, event, body, actor, source_fields),
                    *(change_event(new.id, kind, extra, actor) for kind, extra in more_events)]

        row = await self._write_revision(row, doc, source.base_revision, events)
        await self._changed(row.id)
        return row, True

    async def patch(self, workspace_id: str, patch: dict[str, Any], *, actor: str | None = None) -> dict[str, Any]:
        return await self._retrying(self._patch, workspace_id, patch, actor=actor)  # type: ignore[no-any-return]

    async def save_automation(self, workspace_id: str, automation: Any, *, slug: str | None = None,
                              actor: str | None = None) -> dict[str, Any]:
        return await self._retrying(  # type: ignore[no-any-return]
            self._save_automation, workspace_id, automation, slug=slug, actor=actor)

    async def delete_automation(self, workspace_id: str, slug: str, *, actor: str | None = None) -> None:
        await self._retrying(self._delete_automation, workspace_id, slug, actor=actor)

    async def _retrying(self, operation: Callable[..., Awaitable[Any]], workspace_id: str, *args: Any,
                        **kwargs: Any) -> Any:
        """Read-modify-write operations: serialized per workspace in this process, and re-read and
        retried when a writer in another process got in between."""
        lock = self._locks.setdefault(workspace_id, asyncio.Lock())
        async with lock:
            for attempt in range(8):
                try:
                    return await operation(workspace_id, *args, **kwargs)
                except ConflictError:
                    if attempt == 7:
                        raise
                    await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        return None

    async def _patch(self, workspace_id: str, patch: dict[str, Any], *, actor: str | None = None) -> dict[str, Any]:
        if not isinstance(patch, dict):
            raise InvalidWorkspaceError("The body must be an object", [{"path": "body", "message": "must be an object"}])
        unknown = sorted(set(patch) - set(INDEX_FIELDS) - {"id"})
        if unknown:
            raise InvalidWorkspaceError(f"Unknown workspace field(s): {', '.join(unknown)}",
                                        [{"path": f"body.{k}", "message": "unknown field"} for k in unknown])
        src = await self.source(workspace_id)
        old_config, old_slug, old_blocks = src.index.get("config"), src.index.get("slug"), src.index.get("blocks")
        old_paths = config_secret_paths(src.index)
        src.index.update({k: v for k, v in patch.items() if k != "id"})
        paths = sorted({*old_paths, *config_secret_paths(src.index)})
        root = self.dsul_root(workspace_id, src.index)
        payload: dict[str, Any] = {"workspace": {**root, "config": hide_config_secrets(root.get("config"), paths)}
                                   if "config" in root else root}
        if src.index.get("slug") != old_slug:
            payload["oldSlug"] = old_slug
        more: list[tuple[str, dict[str, Any]]] = []
        if "blocks" in patch and patch["blocks"] != old_blocks:
            slug = src.index.get("slug") or (await self.get_row(workspace_id)).slug
            more.append(("workspaces.blocks.updated", {"blocks": patch["blocks"], "workspaceSlug": slug}))
        if "config" in patch and patch["config"] != old_config:
            more.append(("workspaces.configured", {"config": hide_config_secrets(patch["config"], paths),
                                                   "oldConfig": hide_config_secrets(old_config, paths)}))
        await self.replace(workspace_id, src, actor=actor, event="workspaces.updated", payload=payload,
                           more_events=more)
        return await self.detail(workspace_id)

    async def delete(self, workspace_id: str, *, actor: str | None = None) -> None:
        row = await self.get_row(workspace_id)
        async with self.db.session() as session:
            await session.exec(update(Workspace).where(col(Workspace.id) == row.id)  # type: ignore[call-overload]
                               .values(deleted_at=datetime.now(UTC)))
            await session.commit()
        self._rows.pop(row.id, None)
        await self._record(row.id, "workspaces.deleted", {"workspaceId": row.id, "workspaceSlug": row.slug}, actor)
        await self._changed(row.id)

    async def purge(self, workspace_id: str) -> None:
        """Hard delete: the workspace, its revisions, events, contexts and waits (retention, tests)."""
        from sqlalchemy import delete

        self._rows.pop(workspace_id, None)
        from core.infra.tables import ApiKey, Context, Wait, WorkspaceMember, WorkspaceVersion
        from core.infra.tables import Event as EventRow

        async with self.db.session() as session:
            await session.exec(delete(EventRow).where(col(EventRow.workspace_id) == workspace_id))  # type: ignore[call-overload]
            await session.exec(delete(Wait).where(col(Wait.workspace_id) == workspace_id))  # type: ignore[call-overload]
            await session.exec(delete(WorkspaceMember).where(  # type: ignore[call-overload]
                col(WorkspaceMember.workspace_id) == workspace_id))
            await session.exec(delete(ApiKey).where(col(ApiKey.workspace_id) == workspace_id))  # type: ignore[call-overload]
            await session.exec(delete(Context).where(  # type: ignore[call-overload]
                (col(Context.workspace_id) == workspace_id) | col(Context.workspace_id).startswith(f"{workspace_id}:")))
            await session.exec(delete(WorkspaceRevision).where(  # type: ignore[call-overload]
                col(WorkspaceRevision.workspace_id) == workspace_id))
            await session.exec(delete(WorkspaceVersion).where(  # type: ignore[call-overload]
                col(WorkspaceVersion.workspace_id) == workspace_id))
            await session.exec(delete(Workspace).where(col(Workspace.id) == workspace_id))  # type: ignore[call-overload]
            await session.commit()
        for key in [k for k in self._documents if k[0] == workspace_id]:
            self._documents.pop(key, None)
        for ckey in [k for k in self._compiled if k[0] == workspace_id]:
            self._compiled.pop(ckey, None)
        await self._changed(workspace_id)

    async def upsert(self, source: WorkspaceSource, *, actor: str | None = None) -> tuple[Workspace, str]:
        """Create by slug, or store a new revision if it changed: 'created' | 'updated' | 'unchanged'."""
        slug = source.index.get("slug")
        if slug:
            async with self.db.session() as session:
                owner = await self._slug_owner(session, slug)
            if owner is not None:  # the examples of `tideway run`: the operator's own files
                row, changed = await self.replace(owner, source, actor=actor, security=SecurityWrite.ALLOW)
                return row, "updated" if changed else "unchanged"
        return await self.create(source, actor=actor), "created"

    # -- automations ------------------------------------------------------------------
    async def _save_automation(self, workspace_id: str, automation: Any, *, slug: str | None = None,
                              actor: str | None = None) -> dict[str, Any]:
        """Create (slug None) or replace automation ``slug`` (a different ``slug`` field renames)."""
        if not isinstance(automation, dict):
            raise InvalidWorkspaceError("The automation must be an object",
                                        [{"path": "body", "message": "must be an object"}])
        given = automation.get("slug")
        problem = slug_problem(given, "automation") if given is not None else None
        if problem:  # checked before its first use: the slug is a key and a path
            raise InvalidWorkspaceError(f"Invalid automation: body.slug: {problem}",
                                        [{"path": "body.slug", "message": problem}])
        src = await self.source(workspace_id)
        automation = dict(automation)
        if slug is not None and slug not in src.automations:
            raise ObjectNotFoundError(f"Automation '{slug}' not found", {"slug": slug})
        new_slug = given or slug or automation_slug_from(
            str(automation.get("name") or "automation"), set(src.automations))
        if new_slug != slug and new_slug in src.automations:
            raise AlreadyUsedError(f"Automation slug '{new_slug}' is already used", {"slug": new_slug})
        automation["slug"] = new_slug
        others = {k: v for k, v in src.automations.items() if k != slug}
        validate_automation(new_slug, automation, others=others)
        if slug is not None and slug != new_slug:
            src.automations.pop(slug)
        src.automations[new_slug] = automation
        event = "workspaces.automations.created" if slug is None else "workspaces.automations.updated"
        payload: dict[str, Any] = {"slug": new_slug, "automation": automation,
                                   "events": automation_events(automation)}
        if slug is not None and slug != new_slug:
            payload["oldSlug"] = slug
        await self.replace(workspace_id, src, actor=actor, event=event, payload=payload)
        return automation

    async def _delete_automation(self, workspace_id: str, slug: str, *, actor: str | None = None) -> None:
        src = await self.source(workspace_id)
        if slug not in src.automations:
            raise ObjectNotFoundError(f"Automation '{slug}' not found", {"slug": slug})
        src.automations.pop(slug)
        await self.replace(workspace_id, src, actor=actor, event="workspaces.automations.deleted",
                           payload={"automationSlug": slug})

    # -- duplication ------------------------------------------------------------------
    async def duplicate(self, workspace_id: str, *, revision: int | None = None,
                        actor: str | None = None, owner: str | None = None) -> Workspace:
        """Copy a workspace definition (current or ``revision``) under a new name and slug, owned
        by ``owner`` like any new workspace (nobody's role on the original is copied); secrets,
        contexts and events stay behind. Emits ``workspaces.duplicated`` into the copy."""
        row = await self.get_row(workspace_id)
        doc = copy.deepcopy(await self.document(row.id, revision or row.revision))
        doc["name"] = f"{str(doc.get('name') or row.name)[:55].rstrip()} copy"
        for key in ("slug", "id", "customDomains"):
            doc.pop(key, None)
        new = await self.create(WorkspaceSource.from_document(doc), actor=actor, owner=owner)
        new_doc = await self.document(new.id, new.revision)
        await self._record(new.id, "workspaces.duplicated", {
            "workspace": self.dsul_root(new.id, new_doc),
            "fromWorkspace": {"name": row.name, "slug": row.slug, "id": row.id}}, actor)
        return new

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _document_of(source: WorkspaceSource) -> dict[str, Any]:
        doc = source.to_document()
        for slug, automation in (doc.get("automations") or {}).items():
            automation.setdefault("slug", slug) if isinstance(automation, dict) else None
        return doc

    async def domain_owners(self, domains: set[str], *, exclude: str | None = None) -> dict[str, tuple[str, str]]:
        """Normalized domain -> (id, slug) of the live workspace listing it in ``customDomains``.
        One query: a LIKE on the current revisions' JSON narrows the rows, Python confirms."""
        wanted = {normalize_domain(d) for d in domains} - {""}
        if not wanted:
            return {}
        text = func.lower(cast(WorkspaceRevision.document, Text))
        like = [text.like("%" + d.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
                          escape="\\") for d in wanted]
        stmt = (select(Workspace.id, Workspace.slug, WorkspaceRevision.document)
                .join(WorkspaceRevision, (col(WorkspaceRevision.workspace_id) == col(Workspace.id))
                      & (col(WorkspaceRevision.revision) == col(Workspace.revision)))
                .where(col(Workspace.deleted_at).is_(None), or_(*like))
                .order_by(col(Workspace.created_at)))
        if exclude is not None:
            stmt = stmt.where(col(Workspace.id) != exclude)
        async with self.db.session() as session:
            rows = (await session.exec(stmt)).all()
        owners: dict[str, tuple[str, str]] = {}
        for workspace_id, slug, document in rows:
            for domain in custom_domains(document if isinstance(document, dict) else {}) & wanted:
                owners.setdefault(domain, (workspace_id, slug))
        return owners

    async def _check_custom_domains(self, doc: dict[str, Any], workspace_id: str | None,
                                    previous: set[str]) -> None:
        """``customDomains`` are unique across live workspaces (spec §1.2). Only the domains this
        write adds are looked up, so most writes cost nothing. Two concurrent writes adding the
        same domain can both pass: the page lookup then serves the older workspace."""
        added = custom_domains(doc) - previous
        if not added:
            return
        owners = await self.domain_owners(added, exclude=workspace_id)
        if owners:
            domain = sorted(owners)[0]
            other_slug = owners[domain][1]
            raise AlreadyUsedError(f"Custom domain '{domain}' is already used by workspace '{other_slug}'",
                                   {"customDomain": domain, "workspaceSlug": other_slug})

    async def _slug_owner(self, session: Any, slug: str) -> str | None:
        stmt = select(Workspace.id).where(Workspace.slug == slug, col(Workspace.deleted_at).is_(None))
        return (await session.exec(stmt)).first()

    async def _free_slug(self, base: str) -> str:
        slug, n = base, 2
        async with self.db.session() as session:
            while await self._slug_owner(session, slug) is not None:
                slug, n = f"{base}-{n}", n + 1
        return slug

    async def _write_revision(self, row: Workspace, doc: dict[str, Any], expected: int | None,
                              events: Callable[[Workspace], Sequence[Event]]) -> Workspace:
        """Append a revision and its ``events`` (given the new row) in one transaction. With
        ``expected`` (the revision the change was based on) a concurrent write in between is a
        ConflictError; without it (whole imports) the newest import wins."""
        for _ in range(5):
            async with self.db.session() as session:
                fresh = await session.get(Workspace, row.id)
                assert fresh is not None
                base = fresh.revision if expected is None else expected
                if fresh.revision != base:
                    break
                nxt = base + 1
                new = Workspace(**{**fresh.model_dump(), "revision": nxt, "slug": doc["slug"],
                                   "name": doc.get("name", fresh.name), "updated_at": datetime.now(UTC)})
                try:
                    session.add(WorkspaceRevision(workspace_id=row.id, revision=nxt, digest=digest(doc),
                                                  document=doc))
                    await session.flush()
                    result = await session.exec(  # type: ignore[call-overload]
                        update(Workspace).where(col(Workspace.id) == row.id, col(Workspace.revision) == base)
                        .values(revision=nxt, slug=new.slug, name=new.name, updated_at=new.updated_at))
                    written = result.rowcount == 1
                except IntegrityError:
                    written = False  # another writer took revision `nxt`
                if written:  # a failing event fails the whole write (never a retry: it is no conflict)
                    later = await self.changes.stage(session, events(new))
                    await session.commit()
                    self._rows.pop(row.id, None)
                    await self.changes.deliver(row.id, later)
                    return await self.get_row(row.id)
                await session.rollback()
            if expected is not None:
                break
        self._rows.pop(row.id, None)  # a retry must read the newest revision
        raise ConflictError("The workspace was modified concurrently; reload it and retry",
                            {"workspaceId": row.id})

    async def _changed(self, workspace_id: str) -> None:
        for hook in self.on_change:
            try:
                await hook(workspace_id)
            except Exception as exc:  # noqa: BLE001 - the change is made; the hook catches up later
                log.warning("change hook %s failed for workspace %s: %s", getattr(hook, "__qualname__", hook),
                            workspace_id, exc)

    async def _record(self, workspace_id: str, type_: str, payload: dict[str, Any], actor: str | None,
                      *, source: dict[str, Any] | None = None) -> None:
        """A native event on its own (writes that change no row, or were committed before)."""
        await self.changes.record(change_event(workspace_id, type_, payload, actor, source))
        if type_ in TREE_EVENTS:  # an imported app changed: the workspace's tree may have too
            await self._changed(workspace_id)

    async def redactor(self, workspace_id: str) -> Redactor:
        """The workspace's secret values (its secrets, its config fields declared secret) as a
        redactor for what it writes into events (every management event goes through it:
        ``ChangeEvents.stage``). A workspace that cannot be compiled (purged, or being created)
        has nothing to hide yet."""
        try:
            compiled = await self.compiled(workspace_id, include_deleted=True)
        except ObjectNotFoundError:
            return Redactor(())
        return Redactor(compiled.secrets)
