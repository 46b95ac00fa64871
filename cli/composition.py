"""The composition root: every service of a process built once, and wired here only (which
checks run on a workspace save, what follows a change). ``tideway run|api|worker``, the tests'
stacks and the benchmarks all build their services with :func:`build_services`."""

from __future__ import annotations

from temporalio.client import Client

from core.access.apikeys import ApiKeyService
from core.access.identity import IdentityService, signing_key
from core.access.login_limits import LoginLimiter
from core.access.members import MemberService
from core.apps.catalog import AppService
from core.apps.custom_code_checks import custom_code_findings
from core.apps.instances import AppInstanceService
from core.apps.tree import TreeService
from core.events.hub import EventHub
from core.files.service import FileService
from core.infra.db import Database
from core.infra.settings import Settings
from core.pages.service import PageService, page_findings
from core.runs.blobs import BlobStore
from core.runs.launcher import RunLauncher
from core.runs.schedules import ScheduleService
from core.services import Services
from core.workspaces.automations import AutomationService
from core.workspaces.expression_checks import expression_findings
from core.workspaces.secrets import SecretStore
from core.workspaces.service import WorkspaceService
from core.workspaces.versions import VersionService
from schemas.validation import SourceCheck


def source_checks(schedules: ScheduleService) -> list[SourceCheck]:
    """What a workspace save checks besides schemas/validation.py: its crons, its pages, its
    templates, its Custom Code functions. ``tideway validate`` runs the same list offline."""
    return [schedules.schedule_findings, page_findings, expression_findings, custom_code_findings]


def build_services(settings: Settings, db: Database, client: Client, *, admin_token: str | None,
                   task_queue: str | None = None) -> Services:
    queue = task_queue or settings.temporal_task_queue
    blobs = BlobStore(db)
    launcher = RunLauncher(client, settings, blobs, queue)
    # Triggering native events of management writes are handed to a DispatchWorkflow.
    workspaces = WorkspaceService(db, launcher.dispatch, SecretStore(db, settings.tideway_secrets_key))
    apps = AppService(db, workspaces)
    app_instances = AppInstanceService(workspaces, apps)
    trees = TreeService(workspaces, apps)
    schedules = ScheduleService(db, client, trees, workspaces, settings, queue)
    # What a workspace save checks besides its own validation: the app instances it installs
    # (unknown apps, configs, cycles), its crons, its pages; schedules follow every change.
    workspaces.import_checker = app_instances.checks.check_source
    workspaces.secret_config = app_instances.externalize_secrets
    workspaces.call_targets = app_instances.checks.known_automations
    workspaces.validators += source_checks(schedules)
    workspaces.on_change.append(schedules.workspace_changed)
    login_limiter = LoginLimiter(db, settings, signing_key(settings))
    return Services(
        settings=settings, db=db, client=client, task_queue=queue, admin_token=admin_token, blobs=blobs,
        launcher=launcher, workspaces=workspaces, automations=AutomationService(workspaces), apps=apps, app_instances=app_instances, trees=trees,
        schedules=schedules, versions=VersionService(workspaces, settings.maximum_workspace_version),
        pages=PageService(db, workspaces, trees, launcher), members=MemberService(db), api_keys=ApiKeyService(db),
        identity=IdentityService(db, settings, login_limiter), login_limiter=login_limiter,
        event_hub=EventHub(db, max_per_process=settings.events_stream_max_per_process,
                           max_per_caller=settings.events_stream_max_per_caller),
        files=FileService(db, settings, workspaces))
