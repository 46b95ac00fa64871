"""Workspace secrets, encrypted at rest with Fernet (spec §8.6).

Values are readable only through ``values()`` (config interpolation: ``{{secret.X}}``) and,
on explicit request, by the routes; every value is redacted from native events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import update
from sqlmodel import col, delete, select

from core.events.changes import BeforeCommit
from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceSecret, iso
from schemas.errors import InvalidWorkspaceError, ObjectNotFoundError, TidewayError
from schemas.requests import SecretsBody, parse_body


class SecretsKeyError(TidewayError):
    """The encryption key is missing or does not match the stored secrets (a startup error)."""

    status = 500
    default_message = "Secrets key error"


def env_secrets(slug: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``WORKSPACE_SECRET_{slug without spaces}_{KEY}`` environment variables."""
    environ = os.environ if environ is None else environ
    prefix = f"WORKSPACE_SECRET_{slug.replace(' ', '')}_"
    return {k[len(prefix):]: v for k, v in environ.items() if k.startswith(prefix) and len(k) > len(prefix)}


class SecretStore:
    def __init__(self, db: Database, key: str | None):
        self.db = db
        self._fernet: Fernet | None = None
        if key:
            try:
                self._fernet = Fernet(key.encode())
            except (ValueError, TypeError) as exc:
                raise SecretsKeyError(f"TIDEWAY_SECRETS_KEY is not a valid Fernet key: {exc}") from None

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            raise SecretsKeyError("Secrets need TIDEWAY_SECRETS_KEY (a Fernet key); `make run` generates one "
                                  "in .data/secrets.key")
        return self._fernet

    def _decrypt(self, row: WorkspaceSecret) -> Any:
        try:
            return json.loads(self.fernet.decrypt(row.value))
        except InvalidToken:
            raise SecretsKeyError(
                f"TIDEWAY_SECRETS_KEY cannot decrypt secret '{row.name}' of workspace '{row.workspace_id}': "
                "the key changed or was lost") from None

    async def check_key(self) -> None:
        """At start-up: a stored secret must decrypt with the configured key (never silent garbage)."""
        async with self.db.session() as session:
            row = (await session.exec(select(WorkspaceSecret).limit(1))).first()
        if row is not None:
            self._decrypt(row)

    async def values(self, workspace_id: str, slug: str) -> dict[str, Any]:
        """Environment secrets under the stored ones (the stored value wins)."""
        async with self.db.session() as session:
            rows = (await session.exec(select(WorkspaceSecret).where(
                WorkspaceSecret.workspace_id == workspace_id))).all()
        stored = {row.name: self._decrypt(row) for row in rows} if rows else {}
        return {**env_secrets(slug), **stored}

    async def describe(self, workspace_id: str, *, reveal: bool = False) -> dict[str, Any]:
        async with self.db.session() as session:
            rows = (await session.exec(select(WorkspaceSecret).where(
                WorkspaceSecret.workspace_id == workspace_id).order_by(col(WorkspaceSecret.name)))).all()
        out: dict[str, Any] = {}
        for row in rows:
            item: dict[str, Any] = {"type": row.type, "description": row.description,
                                    "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at)}
            if reveal:
                item["value"] = self._decrypt(row)
            out[row.name] = item
        return out

    async def write(self, workspace_id: str, body: Any, *, replace_all: bool,
                    before_commit: BeforeCommit | None = None) -> dict[str, list[str]]:
        """PUT (``replace_all``: secrets not listed are deleted) or PATCH (upsert). Returns the names
        created, updated and deleted (the ``workspaces.secrets.updated`` payload). The whole body
        is checked before anything is written; the write, and what ``before_commit`` adds with
        the changes (the event), is one transaction."""
        secrets = parse_body(SecretsBody, body, what="secrets (expected {name: {value, description?}})",
                             error=InvalidWorkspaceError).root
        now = datetime.now(UTC)
        changes: dict[str, list[str]] = {"created": [], "updated": [], "deleted": []}
        async with self.db.session() as session:
            existing = {r.name: r for r in (await session.exec(select(WorkspaceSecret).where(
                WorkspaceSecret.workspace_id == workspace_id))).all()}
            for name, spec in secrets.items():
                token = self.fernet.encrypt(json.dumps(spec.value).encode())
                kind = "object" if isinstance(spec.value, dict | list) else "string"
                row = existing.get(name)
                if row is None:
                    session.add(WorkspaceSecret(workspace_id=workspace_id, name=name, value=token, type=kind,
                                                description=spec.description, created_at=now, updated_at=now))
                    changes["created"].append(name)
                else:
                    row.value, row.type, row.updated_at = token, kind, now
                    if "description" in spec.model_fields_set:
                        row.description = spec.description
                    session.add(row)
                    changes["updated"].append(name)
            if replace_all:
                for name in sorted(set(existing) - set(secrets)):
                    await session.delete(existing[name])
                    changes["deleted"].append(name)
            await self._touch(session, workspace_id, now)
            if before_commit is not None:
                await before_commit(session, changes)
            await session.commit()
        return changes

    async def remove(self, workspace_id: str, name: str, *, before_commit: BeforeCommit | None = None) -> None:
        async with self.db.session() as session:
            result = await session.exec(delete(WorkspaceSecret).where(  # type: ignore[call-overload]
                col(WorkspaceSecret.workspace_id) == workspace_id, col(WorkspaceSecret.name) == name))
            if result.rowcount == 0:
                raise ObjectNotFoundError(f"Secret '{name}' not found", {"secretName": name})
            await self._touch(session, workspace_id, datetime.now(UTC))
            if before_commit is not None:
                await before_commit(session, {"created": [], "updated": [], "deleted": [name]})
            await session.commit()

    @staticmethod
    async def _touch(session: Any, workspace_id: str, now: datetime) -> None:
        # Compiled workspaces are cached by (revision, updated_at): every process recompiles its
        # config with the new secrets.
        await session.exec(update(Workspace).where(col(Workspace.id) == workspace_id).values(updated_at=now))
