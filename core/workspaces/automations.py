"""Automations one at a time (the automation routes): each change is a new workspace revision
with its ``workspaces.automations.*`` event, checked like an import (warnings to ``report``)."""

from __future__ import annotations

from typing import Any

from core.events.declared import automation_events
from core.workspaces.service import WorkspaceService
from core.workspaces.slugs import automation_slug_from
from schemas.automations import slug_problem
from schemas.errors import AlreadyUsedError, InvalidWorkspaceError, ObjectNotFoundError
from schemas.validation import CheckReport, validate_automation


class AutomationService:
    def __init__(self, workspaces: WorkspaceService):
        self.workspaces = workspaces

    async def save(self, workspace_id: str, automation: Any, *, slug: str | None = None,
                   actor: str | None = None, report: CheckReport | None = None) -> dict[str, Any]:
        """Create (``slug`` None) or replace one automation; the checks' warnings go to ``report``."""
        return await self.workspaces.retrying(  # type: ignore[no-any-return]
            self._save, workspace_id, automation, slug=slug, actor=actor, report=report)

    async def delete(self, workspace_id: str, slug: str, *, actor: str | None = None) -> None:
        await self.workspaces.retrying(self._delete, workspace_id, slug, actor=actor)

    async def _save(self, workspace_id: str, automation: Any, *, slug: str | None = None,
                    actor: str | None = None, report: CheckReport | None = None) -> dict[str, Any]:
        """Create (slug None) or replace automation ``slug`` (a different ``slug`` field renames)."""
        if not isinstance(automation, dict):
            raise InvalidWorkspaceError("The automation must be an object",
                                        [{"path": "body", "message": "must be an object"}])
        given = automation.get("slug")
        problem = slug_problem(given, "automation") if given is not None else None
        if problem:  # checked before its first use: the slug is a key and a path
            raise InvalidWorkspaceError(f"Invalid automation: body.slug: {problem}",
                                        [{"path": "body.slug", "message": problem}])
        src = await self.workspaces.source(workspace_id)
        automation = dict(automation)
        if slug is not None and slug not in src.automations:
            raise ObjectNotFoundError(f"Automation '{slug}' not found", {"slug": slug})
        new_slug = given or slug or automation_slug_from(
            str(automation.get("name") or "automation"), set(src.automations))
        if new_slug != slug and new_slug in src.automations:
            raise AlreadyUsedError(f"Automation slug '{new_slug}' is already used", {"slug": new_slug})
        automation["slug"] = new_slug
        others = {k: v for k, v in src.automations.items() if k != slug}
        known = await self.workspaces.call_targets(src) if self.workspaces.call_targets is not None else None
        validate_automation(new_slug, automation, others=others, known=known,
                            strict=src.index.get("strict") is True, report=report, checks=self.workspaces.validators)
        if slug is not None and slug != new_slug:
            src.automations.pop(slug)
        src.automations[new_slug] = automation
        event = "workspaces.automations.created" if slug is None else "workspaces.automations.updated"
        payload: dict[str, Any] = {"slug": new_slug, "automation": automation,
                                   "events": automation_events(automation)}
        if slug is not None and slug != new_slug:
            payload["oldSlug"] = slug
        await self.workspaces.replace(workspace_id, src, actor=actor, event=event, payload=payload)
        return automation

    async def _delete(self, workspace_id: str, slug: str, *, actor: str | None = None) -> None:
        src = await self.workspaces.source(workspace_id)
        if slug not in src.automations:
            raise ObjectNotFoundError(f"Automation '{slug}' not found", {"slug": slug})
        src.automations.pop(slug)
        await self.workspaces.replace(workspace_id, src, actor=actor, event="workspaces.automations.deleted",
                                      payload={"automationSlug": slug})
