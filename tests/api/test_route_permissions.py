"""Every route declares what it needs of its caller (api/permissions.py), and the declarations
give the permission table the path inference used to give (issue 15, item 4)."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from fastapi import Depends, FastAPI

from api.app import ROUTERS, create_app
from api.permissions import (
    Access,
    AnyCaller,
    CheckedInRoute,
    FilteredEventRead,
    OnNamedWorkspace,
    Public,
    RegisteredUser,
    Require,
    SignedIn,
    Superadmin,
    access_table,
    api_routes,
    declared_access,
    require,
    required_permission,
)

WS = "/v2/workspaces/{workspace_id}"


def undeclared(app: FastAPI) -> list[str]:
    """The routes of ``app`` without an ``Access`` dependency."""
    return sorted(f"{sorted(route.methods or ())} {route.path}" for route in api_routes(app.routes)
                  if declared_access(route) is None)


def test_every_route_declares_its_access() -> None:
    assert undeclared(create_app(None)) == []  # type: ignore[arg-type]


def test_a_route_without_a_declaration_is_found() -> None:
    app = FastAPI()

    @app.get("/declared", dependencies=[Depends(Public("test"))])
    async def declared() -> dict[str, Any]:
        return {}

    @app.get("/forgotten")
    async def forgotten() -> dict[str, Any]:
        return {}

    assert undeclared(app) == ["['GET'] /forgotten"]


def inferred_permission(method: str, route: str) -> tuple[str, str] | None:
    """The path inference the declarations replace (core.access.operations.route_permission
    before issue 15), kept here as the oracle of the workspace routes' table: (action, subject
    type), or None for the event reads it let through to be filtered per event."""
    tail = route.split("{workspace_id}", 1)[1]
    if method == "GET" and (tail in {"/events", "/events/stream"} or tail.startswith("/runs")):
        return None  # runs are read by the events' rule (docs/runs.md)
    if method == "POST" and tail == "/search":
        return None  # an event read, filtered per event (docs/search.md)
    if tail.endswith("/rerun"):
        return ("test", "automations")  # a re-run starts the automation, as /test does
    if tail.endswith("/reemit"):
        return ("create", "events")
    if tail.startswith("/security/secrets"):
        return ("read" if method == "GET" else "update", "secrets")
    if tail.startswith("/security/apikeys") or tail.startswith("/security/roles"):
        return ("manage_permissions", "workspaces")
    if tail.startswith("/security"):
        return ("manage_security", "workspaces")
    if tail.startswith("/permissions"):
        return ("manage_permissions", "workspaces")
    if tail.startswith("/test/"):
        return ("test", "automations")
    if tail == "/events" and method == "POST":
        return ("create", "events")
    if tail == "" and method == "DELETE":
        return ("delete", "workspaces")
    if method == "GET" or tail.endswith("/export") or tail.endswith("/duplicate"):
        return ("read", "workspaces")
    return ("update", "workspaces")


def test_workspace_routes_need_what_the_path_inference_gave() -> None:
    table = access_table(create_app(None).routes)  # type: ignore[arg-type]
    checked = 0
    for (method, path), access in table.items():
        if not path.startswith(WS) or method == "HEAD":
            continue
        if "/webhooks/" in path:
            assert isinstance(access, Public), (method, path)
            continue
        expected = inferred_permission(method, path)
        if expected is None:
            assert isinstance(access, FilteredEventRead), (method, path, access)
            continue
        if isinstance(access, CheckedInRoute):  # the HTML pages check in the route what they declare
            access = access.access
        assert isinstance(access, Require), (method, path, access)
        assert (access.action, access.subject) == expected, (method, path, access)
        checked += 1
    assert checked >= 45


def test_routes_outside_a_workspace() -> None:
    table = access_table(create_app(None).routes)  # type: ignore[arg-type]
    kinds: dict[tuple[str, str], type[Access]] = {
        ("GET", "/healthz"): Public,
        ("POST", "/v2/workspaces/import"): SignedIn, ("POST", "/v2/workspaces"): SignedIn,
        ("GET", "/v2/workspaces"): SignedIn,
        ("GET", "/v2/apps"): SignedIn, ("GET", "/v2/apps/{slug:path}"): SignedIn,
        ("GET", "/v2/apps/{slug:path}/versions"): SignedIn,
        ("POST", "/v2/apps"): OnNamedWorkspace, ("DELETE", "/v2/apps/{slug:path}"): OnNamedWorkspace,
        ("GET", "/v2/events"): Superadmin, ("POST", "/v2/users"): Superadmin,
        ("POST", "/v2/login"): Public, ("POST", "/v2/logout"): Public, ("POST", "/v2/login/anonymous"): Public,
        ("GET", "/v2/user/accessTokens"): RegisteredUser, ("POST", "/v2/user/accessTokens"): RegisteredUser,
        ("DELETE", "/v2/user/accessTokens/{token_id}"): RegisteredUser,
        ("GET", "/v2/me"): AnyCaller,
        ("POST", "/codec/{path:path}"): CheckedInRoute, ("OPTIONS", "/codec/{path:path}"): Public,
        ("GET", "/pages/{path:path}"): CheckedInRoute, ("HEAD", "/pages/{path:path}"): CheckedInRoute,
        ("GET", "/v2/activity/static/{name}"): Public,
        ("GET", "/{path:path}"): CheckedInRoute, ("HEAD", "/{path:path}"): CheckedInRoute,
    }
    outside = {key: type(access) for key, access in table.items() if not key[1].startswith(WS)}
    assert outside == kinds
    # OnNamedWorkspace is a SignedIn: anonymous sessions and API keys alone are refused first.
    assert isinstance(table[("POST", "/v2/apps")], SignedIn)
    codec = table[("POST", "/codec/{path:path}")]
    assert isinstance(codec, CheckedInRoute) and isinstance(codec.access, Superadmin)


def test_conformance_operations_read_the_declarations() -> None:
    routes = [route for router in ROUTERS for route in router.routes]
    assert required_permission(routes, "configure_app", "w1") == {
        "action": "update", "subject_type": "workspace", "subject_id": "w1"}
    assert required_permission(routes, "create_workspace", None)["action"] == "create"  # type: ignore[index]
    assert required_permission(routes, "delete_app", "w1")["action"] == "update"  # type: ignore[index]
    assert required_permission(routes, "compute_emitted_events", None) is None


def test_permissions_are_checked_when_declared() -> None:
    """A typo in an action or a subject type fails at import time, not on a request."""
    for bad in (lambda: require("updat"), lambda: require("read", subject="secret")):
        try:
            bad()
        except ValueError as exc:
            assert "unknown" in str(exc)
        else:
            raise AssertionError("accepted")


def test_operation_ids_are_unique() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns on a duplicate operation id
        document = create_app(None).openapi()  # type: ignore[arg-type]
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def _sync_dependencies(dependant: Any, where: str) -> list[str]:
    found = []
    for sub in dependant.dependencies:
        call = sub.call
        method = call if inspect.isfunction(call) else type(call).__call__  # a function, or an instance's
        if call is not None and not inspect.iscoroutinefunction(method):
            found.append(f"{where}: {getattr(call, '__qualname__', type(call).__qualname__)}")
        found += _sync_dependencies(sub, where)
    return found


def test_every_dependency_is_async() -> None:
    """FastAPI runs a plain ``def`` dependency in its thread pool: a thread hand-off on every
    request of the route (``get_services`` was one, on every webhook)."""
    app = create_app(None)  # type: ignore[arg-type]
    found = [problem for route in api_routes(app.routes)
             for problem in _sync_dependencies(route.dependant, f"{sorted(route.methods or ())} {route.path}")]
    assert found == []
