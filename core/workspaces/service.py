"""Workspace service: definitions, revisions and the resolved revision used on the hot path.

Every change writes a new immutable revision; runs pin the revision they started with.
``compiled()`` (a ``ResolvedWorkspace``) is cached per (workspace, revision), so any process sees
an edit as soon as the workspace row's revision moves.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.access.permissions.defaults import OWNER
from core.events.changes import ChangeEvents, Dispatcher, change_event
from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceMember, WorkspaceRevision, iso
from core.workspaces.documents import custom_domains, digest
from core.workspaces.domains import check_custom_domains
from core.workspaces.locks import WriteLocks
from core.workspaces.resolved import ResolvedWorkspace, resolve
from core.workspaces.secrets import SecretStore
from core.workspaces.security_write import SecurityWrite, apply_security_write
from core.workspaces.slugs import new_id, workspace_slug_from
from language.secrets import Redactor
from schemas.api.listing import WorkspaceQuery
from schemas.dsul import WorkspaceSource
from schemas.errors import AlreadyUsedError, ConflictError, ObjectNotFoundError
from schemas.events import Event
from schemas.validation import CheckReport, KnownAutomation, SourceCheck, validate_workspace

log = logging.getLogger("tideway.workspaces")
ROW_TTL = 1.0  # seconds a workspace row (its current revision) is cached in a process
# Checks the app instances of a source being stored: (workspace id or None, source, the
# previous imports). Set by core.apps.instances (unknown apps, configs, cycles).
ImportChecker = Callable[[str | None, WorkspaceSource, dict[str, Any], CheckReport | None], Awaitable[None]]
# The automations a call may name besides the workspace's own: those of its installed apps
# (wired to core.apps.instances by the composition root).
CallTargets = Callable[[WorkspaceSource], Awaitable[dict[str, KnownAutomation]]]
# Extra checks of a source being stored (e.g. schedules: core.runs.schedules); raise a TidewayError.
SourceValidator = SourceCheck
# Called with the workspace id after every new revision, a delete, a purge, and when an app the
# workspace imports is published or deleted (e.g. schedule reconciliation). Errors are logged.
ChangeHook = Callable[[str], Awaitable[None]]
TREE_EVENTS = frozenset({"apps.published", "apps.deleted"})
AUTOMATION_SUMMARY = ("name", "description", "arguments", "private", "disabled", "when", "labels")
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
        self.write_locks = WriteLocks(db)  # one import at a time per workspace, across processes
        self._rows: dict[str, tuple[float, Workspace]] = {}
        self._documents: dict[tuple[str, int], dict[str, Any]] = {}
        self._compiled: dict[tuple[str, int, str], ResolvedWorkspace] = {}
        self.import_checker: ImportChecker | None = None
        # Moves literal values of app-config fields declared secret to the workspace's secrets
        # (AppInstanceService.externalize_secrets, wired by the composition root).
        self.secret_config: Callable[[dict[str, dict[str, Any]]], Awaitable[dict[str, Any]]] | None = None
        self.call_targets: CallTargets | None = None
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
                       max_age: float = 0.0) -> ResolvedWorkspace:
        row = await self.get_row(workspace_id, include_deleted=include_deleted, max_age=max_age)
        return await self._compile(row.id, row.revision, row.slug, row.name, row.updated_at.isoformat())

    async def compiled_revision(self, workspace_id: str, revision: int) -> ResolvedWorkspace:
        """A given revision (runs are pinned to one), even of a deleted workspace."""
        hit = self._compiled.get((workspace_id, revision, ""))
        if hit is not None:
            return hit
        doc = await self.document(workspace_id, revision)
        return await self._compile(workspace_id, revision, str(doc.get("slug") or workspace_id),
                                   str(doc.get("name") or workspace_id))

    async def _compile(self, workspace_id: str, revision: int, slug: str, name: str,
                       stamp: str = "") -> ResolvedWorkspace:
        # ``stamp`` (the row's updated_at) moves when secrets change without a new revision.
        key = (workspace_id, revision, stamp)
        hit = self._compiled.get(key)
        if hit is not None:
            return hit
        doc = await self.document(workspace_id, revision)
        secret_values = await self.secrets.values(workspace_id, slug) if self.secrets is not None else {}
        compiled = resolve(workspace_id, slug, name, revision, doc, secret_values)
        if len(self._compiled) > 500:
            self._compiled.clear()
        self._compiled[key] = compiled
        return compiled

    async def list(self, query: WorkspaceQuery | None = None, *, among: set[str] | None = None) -> list[dict[str, Any]]:
        """Live workspaces matching ``query`` (all of its filters), ``among`` the given ids (a
        user's own), sorted and paged. ``slug``, ``name`` and ``ids`` filter in SQL; ``search``
        (name, slug, description) and ``labels`` on the definitions."""
        query = query or WorkspaceQuery()
        stmt = select(Workspace).where(col(Workspace.deleted_at).is_(None))
        if query.slug:
            stmt = stmt.where(Workspace.slug == query.slug)
        if query.name:
            stmt = stmt.where(col(Workspace.name).ilike(f"%{query.name}%"))
        ids = set(query.ids) if query.ids else None
        if among is not None:
            ids = among if ids is None else ids & among
        if ids is not None:
            stmt = stmt.where(col(Workspace.id).in_(sorted(ids)))
        async with self.db.session() as session:
            rows = (await session.exec(stmt.order_by(col(Workspace.created_at)))).all()
        listed = [self.summary(r, await self.document(r.id, r.revision)) for r in rows]
        listed = [w for w in listed if query.matches(w)]
        return query.page_of(listed)

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

    def forget(self, workspace_id: str) -> None:
        """Drop what this process cached of a workspace (after a hard delete)."""
        self._rows.pop(workspace_id, None)
        for key in [k for k in self._documents if k[0] == workspace_id]:
            self._documents.pop(key, None)
        for ckey in [k for k in self._compiled if k[0] == workspace_id]:
            self._compiled.pop(ckey, None)

    # -- writes -----------------------------------------------------------------------
    async def check(self, source: WorkspaceSource, report: CheckReport | None) -> None:
        """Every check of a source about to be stored (schemas/validation.py and the validators
        the composition root adds): errors raise ``InvalidWorkspaceError`` listing each one,
        warnings go to ``report``."""
        known = await self.call_targets(source) if self.call_targets is not None else None
        validate_workspace(source, known=known, report=report, checks=self.validators)

    async def create(self, source: WorkspaceSource, *, actor: str | None = None,
                     workspace_id: str | None = None, validate: bool = True, owner: str | None = None,
                     report: CheckReport | None = None) -> Workspace:
        """Create a workspace (revision 1), its ``owner`` member (a user id) and its
        ``workspaces.created`` event in one transaction; the checks' warnings go to ``report``.
        ``workspace_id`` and ``validate=False`` are for internal callers (the conformance runner
        loads reference runtime models as they are)."""
        if validate:
            await self.check(source, report)
        workspace_id = workspace_id or new_id()
        await self._store_config_secrets(workspace_id, source)
        doc = self._document_of(source)
        slug = doc.get("slug") or await self._free_slug(workspace_slug_from(doc["name"]))
        doc["slug"] = slug
        doc.pop("id", None)
        if validate and self.import_checker is not None and source.imports:
            await self.import_checker(workspace_id, source, {}, report)
        await check_custom_domains(self.db, doc, workspace_id, set())
        async with self.db.session() as session:
            if await self._slug_owner(session, slug) is not None:
                raise AlreadyUsedError(f"Workspace slug '{slug}' is already used", {"slug": slug})
            row = Workspace(id=workspace_id, slug=slug, name=doc["name"], revision=1)
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
        await self.changed(row.id)
        return row

    async def replace(self, workspace_id: str, source: WorkspaceSource, *, actor: str | None = None,
                      event: str = "workspaces.imported", payload: dict[str, Any] | None = None,
                      source_fields: dict[str, Any] | None = None,
                      security: SecurityWrite = SecurityWrite.REFUSE,
                      more_events: Sequence[tuple[str, dict[str, Any]]] = (),
                      report: CheckReport | None = None) -> tuple[Workspace, bool]:
        """Store ``source`` as a new revision (nothing when unchanged), with its ``event`` (and
        ``more_events``) in the same transaction. Returns (row, changed). An archive without
        ``index.yml`` keeps the current root fields, one without ``security.yml`` the current
        security; ``security`` says whether a changed security.yml may be stored (see
        :class:`SecurityWrite`: by default it may not). ``payload`` replaces the event's default
        payload, ``source_fields`` are added to its source; the checks' warnings go to ``report``."""
        row = await self.get_row(workspace_id)
        if not source.index:
            current_doc = await self.document(row.id, row.revision)
            source.index = {k: v for k, v in current_doc.items()
                            if k not in ("automations", "imports", "pages", "security")}
        await self.check(source, report)
        secrets_changed = await self._store_config_secrets(row.id, source)
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
        if digest(current) == digest(doc) and not secrets_changed:
            return row, False
        await check_custom_domains(self.db, doc, row.id, custom_domains(current))
        if self.import_checker is not None and source.imports:
            await self.import_checker(row.id, source, current.get("imports") or {}, report)

        def events(new: Workspace) -> Sequence[Event]:
            body = payload if payload is not None else {"workspace": self.summary(new, doc), "revision": new.revision}
            return [change_event(new.id, event, body, actor, source_fields),
                    *(change_event(new.id, kind, extra, actor) for kind, extra in more_events)]

        row = await self._write_revision(row, doc, source.base_revision, events)
        await self.changed(row.id)
        return row, True

    async def _store_config_secrets(self, workspace_id: str, source: WorkspaceSource) -> bool:
        """Literal values of secret app-config fields go to the encrypted secrets before the
        definition that now refers to them is stored (a failed write after this leaves the
        user's own values stored, encrypted, and nothing in clear). Whether a stored value
        changed: then the definition gets a new revision even if it reads the same, since runs
        resolve app configs per revision."""
        if self.secret_config is None or self.secrets is None or not source.imports:
            return False
        moved = await self.secret_config(source.imports)
        if not moved:
            return False
        stored = await self.secrets.values(workspace_id, "")
        changed = {name: value for name, value in moved.items() if stored.get(name) != value}
        if changed:
            await self.secrets.write(workspace_id, {name: {"value": value} for name, value in changed.items()},
                                     replace_all=False)
            self._rows.pop(workspace_id, None)  # its updated_at moved: compiled configs refresh
        return bool(changed)

    async def retrying(self, operation: Callable[..., Awaitable[Any]], workspace_id: str, *args: Any,
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

    async def delete(self, workspace_id: str, *, actor: str | None = None) -> None:
        row = await self.get_row(workspace_id)
        async with self.db.session() as session:
            await session.exec(update(Workspace).where(col(Workspace.id) == row.id)  # type: ignore[call-overload]
                               .values(deleted_at=datetime.now(UTC)))
            await session.commit()
        self._rows.pop(row.id, None)
        await self._record(row.id, "workspaces.deleted", {"workspaceId": row.id, "workspaceSlug": row.slug}, actor)
        await self.changed(row.id)

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

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _document_of(source: WorkspaceSource) -> dict[str, Any]:
        doc = source.to_document()
        for slug, automation in (doc.get("automations") or {}).items():
            automation.setdefault("slug", slug) if isinstance(automation, dict) else None
        return doc

    async def id_of_slug(self, slug: str) -> str:
        """The live workspace a slug names (``/v2/workspaces/slug:<slug>/…``); 404 otherwise. One
        indexed read on the calling thread (``Database.run_sync``): webhooks use it."""
        def find(session: Any) -> str | None:
            table = Workspace.__table__  # type: ignore[attr-defined]
            return session.connection().execute(sa_select(table.c.id).where(
                table.c.slug == slug, table.c.deleted_at.is_(None))).scalar()

        found = await self.db.run_sync(find)
        if found is None:
            raise ObjectNotFoundError(f"No workspace with slug '{slug}'", {"slug": slug})
        return str(found)

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

    async def changed(self, workspace_id: str) -> None:
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
            await self.changed(workspace_id)

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
