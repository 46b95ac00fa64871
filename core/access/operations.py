"""The permission each management request checks (spec §8.4, §10): one table, used by the API
(``api/authorization.py``) for every route and by the conformance runner for the corpus's named
operations, which are mapped to their routes here.
"""

from __future__ import annotations

from typing import Any

from schemas.events import EMIT_TOPIC

WORKSPACE_ROUTE = "/v2/workspaces/{workspace_id}"


def route_permission(method: str, route: str, workspace_id: str) -> tuple[str, str, dict[str, Any]]:
    """(action, subject type, subject) a route under ``/v2/workspaces/{workspace_id}`` needs:
    reads ``read``, writes ``update``, deleting the workspace ``delete``, ``security.yml``
    ``manage_security``, sharing, API keys and roles ``manage_permissions``, secrets the
    ``secrets`` subject, the test route ``test``, sending events ``create`` on events."""
    tail = route.split("{workspace_id}", 1)[1]
    workspace = {"id": workspace_id}
    if tail.startswith("/security/secrets"):
        return ("read" if method == "GET" else "update", "secrets", {"workspaceId": workspace_id})
    if tail.startswith("/security/apikeys") or tail.startswith("/security/roles"):
        return ("manage_permissions", "workspaces", workspace)
    if tail.startswith("/security"):
        return ("manage_security", "workspaces", workspace)
    if tail.startswith("/permissions"):
        return ("manage_permissions", "workspaces", workspace)
    if tail.startswith("/test/"):
        return ("test", "automations", {"runningWorkspaceId": workspace_id, "authorizations": {}})
    if tail == "/events" and method == "POST":
        return ("create", "events", {"source": {"workspaceId": workspace_id, "serviceTopic": EMIT_TOPIC}})
    if tail == "" and method == "DELETE":
        return ("delete", "workspaces", workspace)
    if method == "GET" or tail.endswith("/export") or tail.endswith("/duplicate"):
        return ("read", "workspaces", workspace)
    return ("update", "workspaces", workspace)


# The corpus's operations (tests/conformance) as the requests that perform them.
OPERATION_ROUTES: dict[str, tuple[str, str]] = {
    "get_workspace": ("GET", WORKSPACE_ROUTE),
    "update_workspace": ("PATCH", WORKSPACE_ROUTE),
    "delete_workspace": ("DELETE", WORKSPACE_ROUTE),
    "duplicate_workspace": ("POST", WORKSPACE_ROUTE + "/duplicate"),
    "create_automation": ("POST", WORKSPACE_ROUTE + "/automations"),
    "update_automation": ("PATCH", WORKSPACE_ROUTE + "/automations/{slug}"),
    "delete_automation": ("DELETE", WORKSPACE_ROUTE + "/automations/{slug}"),
    "install_app": ("POST", WORKSPACE_ROUTE + "/apps"),
    "configure_app": ("PATCH", WORKSPACE_ROUTE + "/apps/{slug:path}"),
    "uninstall_app": ("DELETE", WORKSPACE_ROUTE + "/apps/{slug:path}"),
    "get_app_instance": ("GET", WORKSPACE_ROUTE + "/apps/{slug:path}"),
    "list_app_instances": ("GET", WORKSPACE_ROUTE + "/apps"),
}
# Requests outside a workspace: creating one needs `create`; publishing and deleting an app check
# `update` on the app's workspace (api/routers/apps.py).
OUTSIDE_WORKSPACE: dict[str, str] = {"create_workspace": "create", "publish_app": "update", "delete_app": "update"}


def required_permission(operation: str, subject_id: str | None) -> dict[str, Any] | None:
    """``{action, subject_type, subject_id}`` a corpus operation checks (the reference names the
    subject type ``workspace``), or None for pure ones."""
    if operation in OUTSIDE_WORKSPACE:
        return {"action": OUTSIDE_WORKSPACE[operation], "subject_type": "workspace", "subject_id": subject_id}
    if operation not in OPERATION_ROUTES:
        return None
    method, route = OPERATION_ROUTES[operation]
    action, subject_type, _ = route_permission(method, route, subject_id or "")
    return {"action": action, "subject_type": subject_type.rstrip("s"), "subject_id": subject_id}
