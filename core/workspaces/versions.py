"""Workspace versions (spec §10): named snapshots of a workspace's definition.

A version copies the current revision's document. Pulling one stores it as a new revision
(runs in flight keep theirs), keeping the workspace's current slug. At most
``MAXIMUM_WORKSPACE_VERSION`` are kept; publishing past it deletes the oldest.
Events: ``workspaces.versions.published {version}``, ``workspaces.versions.deleted {version}``,
and on pull ``workspaces.imported`` (when the definition changes, as the reference does) plus
``workspaces.versions.rollback {version}`` (as its docs say, DECISIONS 23).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select

from core.events.changes import change_event
from core.infra.tables import WorkspaceVersion
from core.workspaces.security_write import SecurityWrite
from schemas.archive import export_archive
from schemas.dsul import WorkspaceSource
from schemas.errors import (
    AlreadyUsedError,
    InvalidVersionError,
    ObjectNotFoundError,
)

NAME_PATTERN = r"^[a-zA-Z0-9_.-]{1,64}$"
RESERVED = ("current", "latest")
FIELDS = ("name", "description")


def iso(moment: Any) -> str:
    from core.workspaces.service import iso as ws_iso

    return ws_iso(moment)


def public(row: WorkspaceVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name, "createdAt": iso(row.created_at), "revision": row.revision}
    if row.description is not None:
        out["description"] = row.description
    return out


class VersionService:
    def __init__(self, workspaces: Any, max_versions: int = 20):
        self.workspaces = workspaces  # core.workspaces.service.WorkspaceService
        self.max_versions = max(1, max_versions)

    @property
    def db(self) -> Any:
        return self.workspaces.db

    async def list(self, workspace_id: str) -> list[dict[str, Any]]:
        await self.workspaces.get_row(workspace_id)
        async with self.db.session() as session:
            rows = (await session.exec(select(WorkspaceVersion).where(WorkspaceVersion.workspace_id == workspace_id)
                                       .order_by(col(WorkspaceVersion.seq)))).all()
        return [public(r) for r in rows]

    async def get(self, workspace_id: str, version: str) -> WorkspaceVersion:
        await self.workspaces.get_row(workspace_id)
        stmt = select(WorkspaceVersion).where(WorkspaceVersion.workspace_id == workspace_id)
        if version == "latest":
            stmt = stmt.order_by(col(WorkspaceVersion.seq).desc()).limit(1)
        else:
            stmt = stmt.where(WorkspaceVersion.name == version)
        async with self.db.session() as session:
            row = (await session.exec(stmt)).first()
        if row is None:
            raise ObjectNotFoundError(f"Workspace version '{version}' not found",
                                      {"workspaceId": workspace_id, "version": version})
        return row

    @staticmethod
    def _body(body: Any) -> tuple[str | None, Any]:
        if not isinstance(body, dict):
            raise InvalidVersionError("The body must be an object {name?, description?}",
                                      [{"path": "body", "message": "must be an object"}])
        if body.get("repository") is not None:
            raise InvalidVersionError("Versions in outside repositories are not supported",
                                      [{"path": "body.repository", "message": "not supported"}])
        unknown = sorted(set(body) - set(FIELDS) - {"repository"})
        if unknown:
            raise InvalidVersionError(f"Unknown version field(s): {', '.join(unknown)}",
                                      [{"path": f"body.{k}", "message": "unknown field"} for k in unknown])
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not re.match(NAME_PATTERN, name)
                                 or name in RESERVED):
            raise InvalidVersionError(f"Invalid version name {name!r}: it must match {NAME_PATTERN} and not be "
                                      f"'current' or 'latest'", [{"path": "body.name", "message": "invalid name"}])
        description = body.get("description")
        if description is None or description == "":
            return name, None  # the message of a version is optional (the reference's docs)
        if not (isinstance(description, str) or isinstance(description, dict)
                and all(isinstance(text, str) for text in description.values())):
            raise InvalidVersionError("description must be a text or a localized text object {lang: text}",
                                      [{"path": "body.description",
                                        "message": "must be a string or an object of strings"}])
        return name, description

    async def publish(self, workspace_id: str, body: Any, *, actor: str | None = None) -> dict[str, Any]:
        name, description = self._body(body)
        row = await self.workspaces.get_row(workspace_id)
        document = {**copy.deepcopy(await self.workspaces.document(row.id, row.revision)),
                    "slug": row.slug, "name": row.name}
        async with self.db.session() as session:
            taken = {n for n in (await session.exec(select(WorkspaceVersion.name).where(
                WorkspaceVersion.workspace_id == row.id))).all()}
            if name is None:  # v<n>, n = the versions kept + 1 (the first free one)
                n = len(taken) + 1
                while f"v{n}" in taken:
                    n += 1
                name = f"v{n}"
            elif name in taken:
                raise AlreadyUsedError(f"Workspace version '{name}' already exists", {"version": name})
            version = WorkspaceVersion(workspace_id=row.id, name=name, description=description,
                                       revision=row.revision, document=document)
            session.add(version)
            await session.flush()
            await session.refresh(version)
            # The new version, the oldest ones past the limit and the events: one transaction.
            old = (await session.exec(select(WorkspaceVersion).where(WorkspaceVersion.workspace_id == row.id)
                                      .order_by(col(WorkspaceVersion.seq).desc()).offset(self.max_versions))).all()
            if old:
                await session.exec(delete(WorkspaceVersion).where(  # type: ignore[call-overload]
                    col(WorkspaceVersion.seq).in_([o.seq for o in old])))
            result = public(version)
            events = [change_event(row.id, "workspaces.versions.published", {"version": result}, actor)]
            events += [change_event(row.id, "workspaces.versions.deleted", {"version": gone.name}, actor)
                       for gone in sorted(old, key=lambda o: o.seq or 0)]
            later = await self.workspaces.changes.stage(session, events)
            await session.commit()
        await self.workspaces.changes.deliver(row.id, later)
        return result

    async def delete(self, workspace_id: str, version: str, *, actor: str | None = None) -> dict[str, Any]:
        if version in RESERVED:
            raise InvalidVersionError(f"Version '{version}' cannot be deleted", {"version": version})
        row = await self.get(workspace_id, version)
        async with self.db.session() as session:
            await session.exec(delete(WorkspaceVersion).where(  # type: ignore[call-overload]
                col(WorkspaceVersion.seq) == row.seq))
            await session.commit()
        await self.workspaces._record(workspace_id, "workspaces.versions.deleted", {"version": row.name}, actor)
        return {"id": row.name}

    async def pull(self, workspace_id: str, version: str, *, actor: str | None = None,
                   security: SecurityWrite = SecurityWrite.REFUSE) -> dict[str, Any]:
        """Store the version as the current definition (a new revision)."""
        if version == "current":
            raise InvalidVersionError("Pull a published version (or 'latest'), not 'current'",
                                      {"version": version})
        found = await self.get(workspace_id, version)
        current = await self.workspaces.get_row(workspace_id)
        document = {**copy.deepcopy(found.document), "slug": current.slug}
        source = WorkspaceSource.from_document(document)
        payload = {"workspace": self.workspaces.dsul_root(workspace_id, document), "version": found.name,
                   "files": [], "deleted": [], "errors": []}
        row, changed = await self.workspaces.replace(workspace_id, source, actor=actor, event="workspaces.imported",
                                                     payload=payload, security=security)
        await self.workspaces._record(workspace_id, "workspaces.versions.rollback",
                                      {"version": found.name, "revision": row.revision}, actor)
        return {"workspace": await self.workspaces.detail(workspace_id), "version": public(found),
                "changed": changed, "revision": row.revision, "errors": []}

    async def export(self, workspace_id: str, version: str) -> tuple[bytes, str]:
        """The version as a workspace zip under ``<version>/`` (``current``: the current definition)."""
        if version == "current":
            source = await self.workspaces.source(workspace_id)
            name = "current"
        else:
            found = await self.get(workspace_id, version)
            source = WorkspaceSource.from_document(copy.deepcopy(found.document))
            name = found.name
        slug = source.index.get("slug") or workspace_id
        # The reference's layout: the files under a folder named after the version (`current/…`),
        # which its client's pull extracts; an import takes it as it takes a flat archive.
        return export_archive(source, folder=name), f"{slug}-{name}.zip"
