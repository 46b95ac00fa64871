"""The long-lived objects a process needs, built once and shared (api and worker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from core.access.identity import signing_key
from core.access.login_limits import LoginLimiter
from core.apps.catalog import AppService
from core.apps.instances import AppInstanceService
from core.apps.tree import TreeService
from core.events.hub import EventHub
from core.infra.db import Database
from core.infra.settings import Settings
from core.runs.blobs import BlobStore
from core.runs.launcher import RunLauncher
from core.runs.schedules import ScheduleService
from core.workspaces.secrets import SecretStore
from core.workspaces.service import WorkspaceService
from core.workspaces.versions import VersionService
from schemas.events import Event


@dataclass
class Services:
    settings: Settings
    db: Database
    client: Client
    workspaces: WorkspaceService
    blobs: BlobStore
    launcher: RunLauncher
    admin_token: str | None = None
    task_queue: str = field(default="tideway")
    apps: AppService = field(init=False)
    app_instances: AppInstanceService = field(init=False)
    trees: TreeService = field(init=False)
    schedules: ScheduleService = field(init=False)
    versions: VersionService = field(init=False)
    event_hub: EventHub = field(init=False)
    login_limiter: LoginLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.apps = AppService(self.db, self.workspaces)
        self.app_instances = AppInstanceService(self.workspaces, self.apps)  # also hooks import checks
        self.trees = TreeService(self.workspaces, self.apps)
        # Schedules follow every revision and delete (core/runs/schedules.py); crons are checked on save.
        self.schedules = ScheduleService(self.db, self.client, self.trees, self.workspaces, self.settings,
                                         self.task_queue)
        self.workspaces.validators.append(self.schedules.validate_source)
        from core.pages.service import (
            validate_pages,  # core.pages.service needs Services: imported when built
        )

        self.workspaces.validators.append(validate_pages)  # pages/<slug>.yml (docs/pages.md)
        self.workspaces.on_change.append(self.schedules.workspace_changed)
        self.versions = VersionService(self.workspaces, self.settings.maximum_workspace_version)
        # One poller per process for every live event stream (core/events/hub.py).
        self.event_hub = EventHub(self.db, max_per_process=self.settings.events_stream_max_per_process,
                                  max_per_caller=self.settings.events_stream_max_per_caller)
        # Failed-login limits, counted in the database (core/access/login_limits.py).
        self.login_limiter = LoginLimiter(self.db, self.settings, signing_key(self.settings))

    @classmethod
    def build(cls, settings: Settings, db: Database, client: Client, *, admin_token: str | None,
              task_queue: str | None = None) -> Services:
        blobs = BlobStore(db)
        queue = task_queue or settings.temporal_task_queue
        launcher = RunLauncher(client, settings, blobs, queue)

        async def dispatch(workspace_id: str, events: list[Event]) -> None:
            await launcher.dispatch(workspace_id, events)

        workspaces = WorkspaceService(db, dispatch, SecretStore(db, settings.tideway_secrets_key))
        return cls(settings=settings, db=db, client=client, workspaces=workspaces, blobs=blobs,
                   launcher=launcher, admin_token=admin_token, task_queue=queue)
