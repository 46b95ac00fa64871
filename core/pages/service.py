"""Pages: ``pages/<slug>.yml`` of a workspace, rendered as HTML (docs/pages.md).

A page is ``{slug?, name?, template, automation?, public?}``: a Jinja2 template rendered in the
sandbox of ``core.pages.sandbox`` with ``data`` (the output of ``automation``, run with the
request's query string as ``query``), ``query``, ``page`` and ``workspace`` ({id, slug, name}).
Prisme.ai pages made of ``blocks`` are kept as they are (import and export unchanged) but not
rendered. Pages are served at ``/pages/{workspaceSlug}/{pageSlug}`` and, on a host listed in a
workspace's ``customDomains``, at ``/{pageSlug}``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError
from sqlmodel import col, select

from core.apps.tree import TreeService
from core.infra.db import Database
from core.infra.tables import Workspace
from core.pages.sandbox import RENDER_SECONDS, compile_template, render_bounded, template_line
from core.runs.launcher import RunLauncher
from core.workspaces.documents import normalize_domain
from core.workspaces.domains import domain_owners
from core.workspaces.resolved import ResolvedWorkspace
from core.workspaces.service import WorkspaceService
from schemas.dsul import WorkspaceSource
from schemas.errors import TidewayError
from schemas.problems import Finding
from schemas.runs import Trigger
from schemas.validation import SectionFinding

DOMAIN_TTL = 2.0  # seconds a Host -> workspace answer is reused in a process
INDEX_PAGE = "index"  # what ``/`` shows on a custom domain


class PageError(Exception):
    """A page that cannot be shown; the router renders it as an HTML error page."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


# -- validation (a ``WorkspaceService`` source validator) ---------------------------------------
@lru_cache(maxsize=512)
def syntax_problem(template: str) -> str | None:
    """Why ``template`` does not compile, or None. Cached: every write of a workspace checks all
    its pages, and templates rarely change."""
    try:
        compile_template(template)
    except TemplateSyntaxError as exc:
        return f"template syntax error at line {exc.lineno}: {exc.message}"
    except RecursionError:
        return "template nested too deeply"
    return None


def page_findings(source: WorkspaceSource) -> list[SectionFinding]:
    """Every problem of the pages of ``source``. Blocks pages are only required to have
    ``blocks``: whatever else a Prisme.ai page holds is kept as it is; a file under ``pages/``
    that is neither (the reference runs such a workspace without complaint) is a warning."""
    details: list[SectionFinding] = []
    for slug in sorted(source.pages):
        page = source.pages[slug]
        if not isinstance(page, dict):
            continue  # schemas.validation reports it

        def add(inner: list[str | int], message: str, slug: str = slug, severity: str = "error") -> None:
            details.append(SectionFinding("pages", slug, Finding(path=tuple(inner), message=message,
                                                                 severity=severity)))  # type: ignore[arg-type]

        template = page.get("template")
        if template is None:
            if page.get("blocks") is None:
                add([], f"pages/{slug}.yml is not a page: it has no `template` (a Jinja2 template Tideway "
                        "renders) nor `blocks` (a Prisme.ai blocks page, kept but not rendered); it is kept and "
                        "never served", severity="warning")
            continue
        problem = syntax_problem(template) if isinstance(template, str) else "must be a string (a Jinja2 template)"
        if problem:
            add(["template"], problem)
        if "slug" in page and page["slug"] != slug:
            add(["slug"], f"slug '{page['slug']}' differs from the file name '{slug}'")
        if "public" in page and not isinstance(page["public"], bool):
            add(["public"], "must be true or false")
        automation = page.get("automation")
        if automation is not None:
            instance, _, name = automation.rpartition(".") if isinstance(automation, str) else ("", "", "")
            if not isinstance(automation, str) or not name:
                add(["automation"], "must be the slug of an automation of this workspace")
            elif instance and instance not in source.imports:
                add(["automation"], f"no app instance '{instance}' in this workspace")
            elif not instance and automation not in source.automations:
                add(["automation"], f"no automation '{automation}' in this workspace")
    return details



# -- serving --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoundPage:
    workspace: ResolvedWorkspace
    slug: str
    page: dict[str, Any]

    @property
    def public(self) -> bool:
        return self.page.get("public") is True

    @property
    def is_blocks(self) -> bool:
        return not isinstance(self.page.get("template"), str)

    def summary(self) -> dict[str, Any]:
        """What a template sees as ``page`` (not the template itself)."""
        return {k: v for k, v in {"slug": self.slug, **self.page}.items()
                if k in ("slug", "name", "description", "public", "automation", "labels")}


class PageService:
    def __init__(self, db: Database, workspaces: WorkspaceService, trees: TreeService, launcher: RunLauncher):
        self.db = db
        self.workspaces = workspaces
        self.trees = trees
        self.launcher = launcher
        self._templates: dict[tuple[str, int, str], Template] = {}
        self._domains: dict[str, tuple[float, str | None]] = {}

    async def by_path(self, path: str) -> FoundPage:
        """``{workspaceSlug}/{pageSlug}``; both may contain ``/``, so every split is tried, the
        shortest workspace slug first, in one query."""
        parts = [p for p in path.split("/") if p]
        splits = [("/".join(parts[:k]), "/".join(parts[k:])) for k in range(1, len(parts))]
        if not splits:
            raise self._missing(path)
        stmt = select(Workspace.slug, Workspace.id).where(
            col(Workspace.slug).in_([w for w, _ in splits]), col(Workspace.deleted_at).is_(None))
        async with self.db.session() as session:
            ids = dict((await session.exec(stmt)).all())
        for workspace_slug, page_slug in splits:
            if workspace_slug in ids:
                found = await self._find(ids[workspace_slug], page_slug)
                if found is not None:
                    return found
        raise self._missing(path)

    async def by_domain(self, host: str, path: str) -> FoundPage | None:
        """The page ``path`` of the workspace whose ``customDomains`` lists ``host``; None when no
        workspace claims the host (the caller answers a plain 404)."""
        workspace_id = await self.domain_workspace(host)
        if workspace_id is None:
            return None
        slug = path.strip("/") or INDEX_PAGE
        found = await self._find(workspace_id, slug)
        if found is None:
            raise self._missing(slug)
        return found

    async def domain_workspace(self, host: str) -> str | None:
        domain = normalize_domain(host)
        if not domain:
            return None
        now = time.monotonic()
        cached = self._domains.get(domain)
        if cached is not None and now - cached[0] < DOMAIN_TTL:
            return cached[1]
        owners = await domain_owners(self.db, {domain})
        workspace_id = owners[domain][0] if domain in owners else None
        if len(self._domains) > 10_000:  # many hosts probing: start over rather than grow
            self._domains.clear()
        self._domains[domain] = (now, workspace_id)
        return workspace_id

    async def _find(self, workspace_id: str, slug: str) -> FoundPage | None:
        compiled = await self.workspaces.compiled(workspace_id)
        page = (compiled.document.get("pages") or {}).get(slug)
        return FoundPage(compiled, slug, page) if isinstance(page, dict) else None

    @staticmethod
    def _missing(path: str) -> PageError:
        return PageError(404, "Page not found", f"There is no page at '{path}'.")

    async def data(self, found: FoundPage, query: dict[str, Any], *, user_id: str | None,
                   session_id: str | None) -> Any:
        """The output of the page's automation (None without one), run like a webhook: a durable
        run of the current revision, for the caller (its ``authorizations`` apply)."""
        automation = found.page.get("automation")
        if not isinstance(automation, str) or not automation:
            return None
        compiled, tree = await self.trees.current(found.workspace.id)
        instance, _, slug = automation.rpartition(".")
        if instance and instance not in tree.nodes:
            raise PageError(500, "Page automation missing",
                            f"Page '{found.slug}': no app instance '{instance}' in this workspace.")
        payload = {"workspaceId": compiled.id, "automationSlug": slug, "page": found.slug, "query": query}
        try:
            outcome = await self.launcher.run(
                compiled, slug, payload, Trigger(type="page", value=found.slug), user_id=user_id,
                session_id=session_id, tree=tree, instance=instance)
        except TidewayError as exc:
            status = exc.status if exc.status in (401, 403, 503) else 500
            raise PageError(status, "Page data unavailable",
                            f"Page '{found.slug}': its automation '{automation}' failed: {exc.name}: "
                            f"{exc.message}") from None
        return outcome.output

    def template(self, found: FoundPage) -> Template:
        """The compiled template, cached per (workspace, revision, page): a revision never changes."""
        ws = found.workspace
        key = (ws.id, ws.revision, found.slug)
        cached = self._templates.get(key)
        if cached is None:
            try:
                cached = compile_template(str(found.page.get("template")))
            except TemplateSyntaxError as exc:  # stored before pages were validated
                raise PageError(500, "Page template error",
                                f"Page '{found.slug}' (pages/{found.slug}.yml), template line {exc.lineno}: "
                                f"{exc.message}") from None
            if len(self._templates) > 500:
                self._templates.clear()
            self._templates[key] = cached
        return cached

    async def render(self, found: FoundPage, data: Any, query: dict[str, Any]) -> str:
        """The page's HTML. Rendering runs in a worker thread (it is CPU work, bounded to
        ``RENDER_SECONDS``); any failure becomes a ``PageError`` naming the page and the line."""
        template = self.template(found)
        ws = found.workspace
        context = {"data": data, "query": query, "page": found.summary(),
                   "workspace": {"id": ws.id, "slug": ws.slug, "name": ws.name}}
        try:
            return await asyncio.to_thread(render_bounded, template, context, RENDER_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any template failure is the author's, shown as such
            line = template_line(exc)
            where = f", template line {line}" if line else ""
            message = str(exc) if not isinstance(exc, RecursionError) else "recursion too deep"
            raise PageError(500, "Page template error",
                            f"Page '{found.slug}' (pages/{found.slug}.yml){where}: "
                            f"{type(exc).__name__}: {message[:500]}") from None
