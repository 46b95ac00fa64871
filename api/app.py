"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.errors import install_error_handlers
from api.openapi import install_openapi
from api.routers import (
    activity,
    app_instances,
    apps,
    auth,
    automations,
    codec,
    emit,
    events,
    files,
    health,
    install_form,
    pages,
    platform_events,
    run_records,
    runs,
    search,
    security,
    versions,
    workspaces,
)
from api.workspace_slugs import WorkspaceSlugPaths
from core.services import Services

# install_form before app_instances: its GET /apps/{slug:path} would take /apps/install/<app>.
ROUTERS = tuple(module.router for module in (
    health, workspaces, automations, apps, install_form, app_instances, runs, run_records, events, emit, versions,
    platform_events, security, auth, activity, codec, pages, files, search))


def operation_id(route: APIRoute) -> str:
    """The route's function name (unique: tests/api/test_route_permissions.py), so generated
    clients get ``create_workspace`` rather than ``create_workspace_v2_workspaces_post``."""
    return route.name


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Tideway", version="0.1.0",
                  description="Prisme.ai-style workspaces run as durable Temporal workflows (docs/api.md)",
                  generate_unique_id_function=operation_id)
    app.state.services = services
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(pages.domain_router)  # last: /{path} on custom domains, never shadows a route
    install_openapi(app)
    app.add_middleware(WorkspaceSlugPaths)  # /v2/workspaces/slug:<slug>/… → the workspace's id
    return app
