"""Custom domains (spec §1.2): unique across live workspaces."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, func, or_
from sqlmodel import col, select

from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceRevision
from core.workspaces.documents import custom_domains, normalize_domain
from schemas.errors import AlreadyUsedError


async def domain_owners(db: Database, domains: set[str], *, exclude: str | None = None
                        ) -> dict[str, tuple[str, str]]:
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
    async with db.session() as session:
        rows = (await session.exec(stmt)).all()
    owners: dict[str, tuple[str, str]] = {}
    for workspace_id, slug, document in rows:
        for domain in custom_domains(document if isinstance(document, dict) else {}) & wanted:
            owners.setdefault(domain, (workspace_id, slug))
    return owners

async def check_custom_domains(db: Database, doc: dict[str, Any], workspace_id: str | None,
                               previous: set[str]) -> None:
    """``customDomains`` are unique across live workspaces (spec §1.2). Only the domains this
    write adds are looked up, so most writes cost nothing. Two concurrent writes adding the
    same domain can both pass: the page lookup then serves the older workspace."""
    added = custom_domains(doc) - previous
    if not added:
        return
    owners = await domain_owners(db, added, exclude=workspace_id)
    if owners:
        domain = sorted(owners)[0]
        other_slug = owners[domain][1]
        raise AlreadyUsedError(f"Custom domain '{domain}' is already used by workspace '{other_slug}'",
                               {"customDomain": domain, "workspaceSlug": other_slug})
