"""Turning an outside trigger into a run: shared by the HTTP routes and the conformance runner."""

from __future__ import annotations

from typing import Any

from core.errors import ObjectNotFoundError
from core.runs import RunOutcome
from core.services import Services
from schemas.runs import Trigger


async def trigger_webhook(services: Services, workspace_id: str, endpoint: str, *, method: str,
                          headers: dict[str, str], query: dict[str, Any], body: Any,
                          user_id: str | None = None, session_id: str | None = None,
                          http: dict[str, Any] | None = None, correlation_id: str | None = None) -> RunOutcome:
    """Run the automation behind ``endpoint`` (spec §2.3) and return its outcome."""
    compiled = await services.workspaces.compiled(workspace_id)
    slug = compiled.endpoints.get(endpoint)
    if slug is None:
        raise ObjectNotFoundError(f"No endpoint '{endpoint}' in workspace '{workspace_id}'", {"endpoint": endpoint})
    payload: dict[str, Any] = {"workspaceId": compiled.id, "automationSlug": slug, "method": method,
                               "headers": headers, "query": query, "body": body}
    return await services.launcher.run(
        compiled, slug, payload, Trigger(type="endpoint", value=endpoint), user_id=user_id,
        session_id=session_id, http=http, http_response=True, correlation_id=correlation_id)


async def trigger_test(services: Services, workspace_id: str, slug: str, payload: dict[str, Any], *,
                       user_id: str | None = None, session_id: str | None = None) -> RunOutcome:
    compiled = await services.workspaces.compiled(workspace_id)
    return await services.launcher.run(compiled, slug, payload, Trigger(type="test", value=slug),
                                       user_id=user_id, session_id=session_id)
