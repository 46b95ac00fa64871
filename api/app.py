"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import (
    activity,
    app_instances,
    apps,
    auth,
    automations,
    codec,
    emit,
    events,
    health,
    install_form,
    pages,
    platform_events,
    runs,
    security,
    versions,
    workspaces,
)
from core.services import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Tideway", version="0.1.0",
                  description="Prisme.ai-style workspaces run as durable Temporal workflows")
    app.state.services = services
    install_error_handlers(app)
    # install_form before app_instances: its GET /apps/{slug:path} would take /apps/install/<app>.
    for module in (health, workspaces, automations, apps, install_form, app_instances, runs, events, emit,
                   versions, platform_events, security, auth, activity, codec):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.include_router(pages.domain_router)  # last: /{path} on custom domains, never shadows a route
    return app
