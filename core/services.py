"""The long-lived objects a process needs (api and worker), built once by the composition root
(``cli/composition.py``) and handed to the API (``app.state.services``) and the worker. This
module only declares what there is; nothing here builds or wires anything."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from core.access.apikeys import ApiKeyService
from core.access.identity import IdentityService
from core.access.login_limits import LoginLimiter
from core.access.members import MemberService
from core.apps.catalog import AppService
from core.apps.instances import AppInstanceService
from core.apps.tree import TreeService
from core.events.hub import EventHub
from core.files.service import FileService
from core.infra.db import Database
from core.infra.settings import Settings
from core.pages.service import PageService
from core.runs.blobs import BlobStore
from core.runs.launcher import RunLauncher
from core.runs.schedules import ScheduleService
from core.workspaces.automations import AutomationService
from core.workspaces.service import WorkspaceService
from core.workspaces.versions import VersionService


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    client: Client
    task_queue: str
    admin_token: str | None
    blobs: BlobStore
    launcher: RunLauncher
    workspaces: WorkspaceService
    automations: AutomationService
    apps: AppService
    app_instances: AppInstanceService
    trees: TreeService
    schedules: ScheduleService
    versions: VersionService
    pages: PageService
    members: MemberService
    api_keys: ApiKeyService
    identity: IdentityService
    login_limiter: LoginLimiter
    event_hub: EventHub  # one poller per process for every live event stream
    files: FileService  # workspace files (docs/files.md)
