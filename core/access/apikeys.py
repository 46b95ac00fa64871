"""Workspace REST API keys (spec §8.5): ``{name, rules}`` added to the permissions of any request
that sends the key in ``x-prismeai-api-key``.

Only the key's SHA-256 digest is stored (a key is a credential, like a password): the key itself is
returned once, by the creation, and never again; routes address a key by its ``id``. Events about
keys carry the id, never the key (docs/security.md, "API keys").
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from core.access.permissions.dsul import validate_api_key_rules
from core.events.changes import BeforeCommit
from core.infra.db import Database
from core.infra.tables import ApiKey, iso, utcnow
from schemas.errors import InvalidWorkspaceError, ObjectNotFoundError

KEY_PREFIX = "twk_"  # recognisable in logs and secret scanners


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyGrant:
    """The rules a presented key adds, on its workspace only."""

    id: str
    workspace_id: str
    rules: list[dict[str, Any]]
    name: str = ""


def _public(row: ApiKey, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "name": row.name, "subjectType": "workspaces",
                            "subjectId": row.workspace_id, "rules": row.rules, "disabled": row.disabled,
                            "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at)}
    if key is not None:
        body["apiKey"] = key
    return body


def _checked(body: Any) -> tuple[str, list[dict[str, Any]], bool | None]:
    """``(name, rules, disabled)``, or one error listing every problem of the body."""
    if not isinstance(body, dict):
        raise InvalidWorkspaceError("An API key must be an object {name, rules}",
                                    [{"path": "body", "message": "must be an object"}])
    problems: list[dict[str, str]] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append({"path": "name", "message": "required string of 1 to 200 characters"})
    rules = body.get("rules", [])
    rule_problems = validate_api_key_rules(rules)
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        problems.append({"path": "disabled", "message": "must be a boolean"})
    if rule_problems:  # named InvalidSecurity, as security.yml rules are
        first = rule_problems[0]
        raise InvalidWorkspaceError(f"Invalid API key rules: {first['path']}: {first['message']}",
                                    [*rule_problems, *problems], name="InvalidSecurity")
    if problems:
        raise InvalidWorkspaceError(f"Invalid API key: {problems[0]['path']}: {problems[0]['message']}", problems)
    assert isinstance(name, str)
    return name.strip(), list(rules), disabled


class ApiKeyService:
    def __init__(self, db: Database):
        self.db = db

    async def create(self, workspace_id: str, body: Any, *, before_commit: BeforeCommit | None = None) -> dict[str, Any]:
        """``before_commit`` gets the session and the public key (no secret) to add its event."""
        name, rules, disabled = _checked(body)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(id=uuid.uuid4().hex, workspace_id=workspace_id, name=name, digest=digest(key),
                     rules=rules, disabled=bool(disabled))
        async with self.db.session() as session:
            session.add(row)
            await session.flush()
            await session.refresh(row)
            if before_commit is not None:
                await before_commit(session, _public(row))
            await session.commit()
            await session.refresh(row)
        return _public(row, key)

    async def listing(self, workspace_id: str) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = (await session.exec(select(ApiKey).where(col(ApiKey.workspace_id) == workspace_id)
                                       .order_by(col(ApiKey.created_at)))).all()
        return [_public(r) for r in rows]

    async def _row(self, session: Any, workspace_id: str, key_id: str) -> ApiKey:
        row = await session.get(ApiKey, key_id)
        if row is None or row.workspace_id != workspace_id:
            raise ObjectNotFoundError(f"No API key '{key_id}' on this workspace", {"apiKey": key_id})
        return row  # type: ignore[no-any-return]

    async def update(self, workspace_id: str, key_id: str, body: Any, *,
                     before_commit: BeforeCommit | None = None) -> dict[str, Any]:
        name, rules, disabled = _checked(body)
        async with self.db.session() as session:
            row = await self._row(session, workspace_id, key_id)
            row.name, row.rules, row.updated_at = name, rules, utcnow()
            if disabled is not None:
                row.disabled = disabled
            session.add(row)
            await session.flush()
            if before_commit is not None:
                await before_commit(session, _public(row))
            await session.commit()
            await session.refresh(row)
        return _public(row)

    async def delete(self, workspace_id: str, key_id: str, *, before_commit: BeforeCommit | None = None) -> None:
        async with self.db.session() as session:
            row = await self._row(session, workspace_id, key_id)
            await session.delete(row)
            if before_commit is not None:
                await before_commit(session, {"id": key_id})
            await session.commit()

    async def grant(self, key: str) -> KeyGrant | None:
        """The rules of a presented key; an unknown or disabled key grants nothing (ignored, as
        the reference's ``as()``)."""
        if not key.startswith(KEY_PREFIX):
            return None
        async with self.db.session() as session:
            row = (await session.exec(select(ApiKey).where(col(ApiKey.digest) == digest(key)))).first()
        if row is None or row.disabled:
            return None
        return KeyGrant(row.id, row.workspace_id, list(row.rules), row.name)

    async def rules_by_id(self, key_id: str | None, workspace_id: str) -> list[dict[str, Any]] | None:
        """A run's key (carried by id, never the key itself), if still enabled on that workspace."""
        if not key_id:
            return None
        async with self.db.session() as session:
            row = await session.get(ApiKey, key_id)
        if row is None or row.disabled or row.workspace_id != workspace_id:
            return None
        return list(row.rules)
