"""What each route needs of its caller, declared on the route itself.

Every route takes one ``Access`` as a dependency (a parameter such as ``actor: CanUpdate``, or
``dependencies=[Depends(PUBLIC)]``): the dependency is the check, and the same object is what
``/openapi.json`` (``x-tideway-access``, ``security``), the conformance runner
(``required_permission``) and tests/api/test_route_permissions.py read. A route without one fails
that test; nothing is inferred from the path.

* ``Require(action, subject)``: a permission on the workspace of the path (``{workspace_id}``),
  checked against the caller's role, security.yml and API key (403; 404 for an unknown workspace).
* ``FilteredEventRead``: event reads, open to every caller and filtered event by event.
* ``SignedIn``: any registered user (not an anonymous session, not an API key alone).
* ``OnNamedWorkspace``: a signed-in user whose rights on a workspace the request names in its
  body, or that is found through another object, the route checks with ``check``.
* ``Superadmin``, ``RegisteredUser`` (a user's own token: its access tokens), ``Public``.
* ``CheckedInRoute(access)``: routes that answer their own errors (HTML pages, the codec's CORS
  answers) declare what they check and call ``access.check`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from api.authorization import Actor, check_permission, require_on_workspace
from api.deps import ActorDep, ServicesDep, bearer_token
from core.access.identity import Caller
from core.access.operations import WorkspacePermission
from core.services import Services
from schemas.errors import ForbiddenError, UnauthorizedError

BEARER: dict[str, list[str]] = {"bearerAuth": []}
API_KEY: dict[str, list[str]] = {"apiKey": []}


class Access:
    """Base of the declarations. ``statuses`` are the error statuses the check itself may answer
    (documented on the route's operation)."""

    statuses: tuple[int, ...] = (401, 403)
    security: tuple[dict[str, list[str]], ...] = (BEARER,)

    def describe(self) -> str:
        raise NotImplementedError

    @property
    def workspace_permission(self) -> WorkspacePermission | None:
        """The permission on a workspace this declaration stands for, if any (conformance)."""
        return None


@dataclass(frozen=True)
class Public(Access):
    """No caller needed; ``reason`` says why (shown in the OpenAPI document)."""

    reason: str
    statuses = ()
    security = ()

    async def __call__(self) -> None:
        return None

    def describe(self) -> str:
        return f"public: {self.reason}"


@dataclass(frozen=True)
class Require(Access):
    """``action`` on ``subject`` of the workspace named by the path's ``workspace_id``."""

    action: str
    subject: str = "workspaces"
    statuses = (401, 403, 404)
    security = (BEARER, API_KEY)

    def __post_init__(self) -> None:
        self.workspace_permission  # noqa: B018 - an unknown action or subject fails at import time

    @property
    def workspace_permission(self) -> WorkspacePermission:
        return WorkspacePermission(self.action, self.subject)

    async def __call__(self, request: Request, services: ServicesDep, actor: ActorDep) -> Actor:
        await self.check(services, actor, request.path_params["workspace_id"])
        return actor

    async def check(self, services: Services, actor: Actor, workspace_id: str) -> None:
        await check_permission(services, actor, workspace_id, self.workspace_permission)

    def describe(self) -> str:
        return f"{self.action} on the workspace" if self.subject == "workspaces" else \
            f"{self.action} on the workspace's {self.subject}"


def require(action: str, subject: str = "workspaces") -> Require:
    return Require(action, subject)


@dataclass(frozen=True)
class FilteredEventRead(Access):
    """Any caller (401 without credentials); the route shows only the events the caller may read
    (spec §8.4 "Events read"). An unknown workspace is a 404."""

    statuses = (401, 404)
    security = (BEARER, API_KEY)

    async def __call__(self, request: Request, services: ServicesDep, actor: ActorDep) -> Actor:
        if not actor.superadmin:
            await services.workspaces.get_row(request.path_params["workspace_id"])
        return actor

    def describe(self) -> str:
        return "any caller; events filtered by what the caller may read"


@dataclass(frozen=True)
class SignedIn(Access):
    """A registered user, or a superadmin. ``action`` names the platform-level right every user
    holds here (``create`` on workspaces), for the record."""

    action: str | None = None
    subject: str = "workspaces"

    async def __call__(self, actor: ActorDep) -> Actor:
        self.admit(actor)
        return actor

    @staticmethod
    def admit(actor: Actor) -> None:
        if actor.anonymous:
            raise ForbiddenError("This route needs a registered user (not an anonymous session or an API key alone)")

    def describe(self) -> str:
        what = f" ({self.action} on {self.subject} is granted to every user)" if self.action else ""
        return f"a signed-in user{what}"


@dataclass(frozen=True)
class OnNamedWorkspace(SignedIn):
    """A signed-in user; the route then calls ``check`` with the workspace it acts on (named in
    the body, ``where`` says how, or found through the object it changes)."""

    where: str = ""
    statuses = (401, 403, 404)

    @property
    def workspace_permission(self) -> WorkspacePermission:
        assert self.action is not None
        return WorkspacePermission(self.action, self.subject)

    async def check(self, services: Services, actor: Actor, workspace_id: str) -> None:
        assert self.action is not None
        await require_on_workspace(services, actor, workspace_id, self.action)

    def describe(self) -> str:
        return f"a signed-in user with {self.action} on the workspace {self.where}"


@dataclass(frozen=True)
class AnyCaller(Access):
    """Any caller with a valid credential: a user or anonymous session token, the admin token, an
    API key (401 without one): routes about the caller themself (``GET /v2/me``)."""

    statuses = (401,)
    security = (BEARER, API_KEY)

    async def __call__(self, actor: ActorDep) -> Actor:
        return actor

    def describe(self) -> str:
        return "any caller with a valid token or API key"


@dataclass(frozen=True)
class Superadmin(Access):
    async def __call__(self, actor: ActorDep) -> Actor:
        if not actor.superadmin:
            raise ForbiddenError("This route is reserved to superadmins")
        return actor

    def describe(self) -> str:
        return "superadmins only"


@dataclass(frozen=True)
class RegisteredUser(Access):
    """A user's own token (session or access token, not an anonymous one, not the admin token):
    routes about the user themself."""

    statuses = (401,)

    async def __call__(self, request: Request, services: ServicesDep) -> Caller:
        token = bearer_token(request)
        if not token:
            raise UnauthorizedError("Missing bearer token (Authorization: Bearer <token>)")
        caller = await services.identity.verify(token)
        if caller.anonymous:
            raise UnauthorizedError("This route needs a registered user")
        return caller

    def describe(self) -> str:
        return "a registered user's own token"


@dataclass(frozen=True)
class CheckedInRoute(Access):
    """The route checks ``access`` itself (see the module docstring)."""

    access: Access

    @property
    def statuses(self) -> tuple[int, ...]:  # type: ignore[override]
        return self.access.statuses

    @property
    def security(self) -> tuple[dict[str, list[str]], ...]:  # type: ignore[override]
        return self.access.security

    @property
    def workspace_permission(self) -> WorkspacePermission | None:
        return self.access.workspace_permission

    async def __call__(self) -> None:
        return None

    async def check(self, services: Services, actor: Actor, workspace_id: str) -> None:
        """The check of a workspace permission, for the route to call."""
        if not isinstance(self.access, Require):
            raise TypeError(f"{self.access.describe()}: not a workspace permission the route can check")
        await self.access.check(services, actor, workspace_id)

    def describe(self) -> str:
        return f"{self.access.describe()} (checked by the route)"


PUBLIC_WEBHOOK = Public("webhooks are called by anyone; the automation decides")
CanRead = Annotated[Actor, Depends(require("read"))]
CanUpdate = Annotated[Actor, Depends(require("update"))]
CanDelete = Annotated[Actor, Depends(require("delete"))]
CanManageSecurity = Annotated[Actor, Depends(require("manage_security"))]
CanManagePermissions = Annotated[Actor, Depends(require("manage_permissions"))]
CanReadSecrets = Annotated[Actor, Depends(require("read", subject="secrets"))]
CanUpdateSecrets = Annotated[Actor, Depends(require("update", subject="secrets"))]
CanTest = Annotated[Actor, Depends(require("test", subject="automations"))]
CanSendEvents = Annotated[Actor, Depends(require("create", subject="events"))]
EventReader = Annotated[Actor, Depends(FilteredEventRead())]
AnyUser = Annotated[Actor, Depends(SignedIn())]
Authenticated = Annotated[Actor, Depends(AnyCaller())]
SuperadminOnly = Annotated[Actor, Depends(Superadmin())]
UserOwnToken = Annotated[Caller, Depends(RegisteredUser())]


# -- reading the declarations --------------------------------------------------------------------
def declared_access(route: APIRoute) -> Access | None:
    """The route's declaration, wherever it sits in its dependency tree; None when it has none."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop(0)
        if isinstance(dependency.call, Access):
            return dependency.call
        pending.extend(dependency.dependencies)
    return None


def api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """The FastAPI routes of an app or router, included routers flattened."""
    for context in iter_route_contexts(routes):
        if isinstance(context.original_route, APIRoute):
            yield context.original_route


def access_table(routes: list[BaseRoute]) -> dict[tuple[str, str], Access | None]:
    """``(method, path) -> declaration`` of every route."""
    return {(method, route.path): declared_access(route) for route in api_routes(routes)
            for method in sorted(route.methods or ())}


# The corpus's operations (tests/conformance) as the requests that perform them: the permission
# each checks is the one its route declares.
WORKSPACE_ROUTE = "/v2/workspaces/{workspace_id}"
OPERATION_ROUTES: dict[str, tuple[str, str]] = {
    "create_workspace": ("POST", "/v2/workspaces"),
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
    "publish_app": ("POST", "/v2/apps"),
    "delete_app": ("DELETE", "/v2/apps/{slug:path}"),
}


def required_permission(routes: list[BaseRoute], operation: str, subject_id: str | None) -> dict[str, Any] | None:
    """``{action, subject_type, subject_id}`` a corpus operation checks (the reference names
    subject types in the singular, ``workspace``), or None for operations without a route."""
    if operation not in OPERATION_ROUTES:
        return None
    access = access_table(routes)[OPERATION_ROUTES[operation]]
    if isinstance(access, SignedIn) and access.action:
        action, subject_type = access.action, access.subject
    elif access is not None and access.workspace_permission is not None:
        action, subject_type = access.workspace_permission.action, access.workspace_permission.subject_type
    else:
        raise AssertionError(f"{operation}: its route declares no workspace permission ({access})")
    return {"action": action, "subject_type": subject_type.rstrip("s"), "subject_id": subject_id}
