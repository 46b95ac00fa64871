"""All runtime settings, read once from the environment (pydantic-settings).

Every field is documented in the README's Settings table; names are the
environment variable names (case-insensitive).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from schemas.run_settings import RunSettings


class RunSettingsEnvironment(PydanticBaseSettingsSource):
    """``Settings.run`` from the environment: each RunSettings field under its own variable name
    (``MAX_STEPS_PER_RUN``, ``MAXIMUM_SUCCESSIVE_CALLS``…), as when they were flat settings."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        names = RunSettings.environment_names()
        found = {names[key.upper()]: value for key, value in os.environ.items() if key.upper() in names}
        return {"run": found} if found else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, RunSettingsEnvironment(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _run_fields_into_run(cls, values: Any) -> Any:
        """``Settings(max_steps_per_run=5)`` sets ``run.max_steps_per_run`` (flat overrides win)."""
        if not isinstance(values, dict):
            return values
        names = RunSettings.environment_names()
        fields = set(RunSettings.model_fields)
        flat = {}
        for key in list(values):
            name = key if key in fields else names.get(key.upper()) if isinstance(key, str) else None
            if name is not None and key != "run":
                flat[name] = values.pop(key)
        if flat:
            run = values.get("run")
            base = run.model_dump() if isinstance(run, RunSettings) else dict(run or {})
            values["run"] = {**base, **flat}
        return values

    # Processes and addresses
    tideway_host: str = "127.0.0.1"
    tideway_port: int = 8000
    tideway_data_dir: Path = Path(".data")
    tideway_public_url: str | None = None  # base URL used in printed hints and global.apiUrl
    database_url: str | None = None  # default: sqlite under the data dir
    temporal_address: str | None = None  # default: start a dev server (make run) / localhost:7233
    temporal_namespace: str = "default"
    temporal_task_queue: str = "tideway"
    temporal_ui_port: int = 8233
    temporal_http_port: int = 7243  # the frontend's HTTP API (the dev server is started with it)
    # TLS to the Temporal frontend (mTLS with cert + key): PEM files; any of them turns TLS on.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    tideway_admin_token: str | None = None
    tideway_secrets_key: str | None = None  # Fernet key: workspace secrets at rest, Temporal payloads
    # Browser origins (comma-separated) whose superadmin session cookie may call /codec/decode:
    # the Temporal UI. Empty: the dev server's UI, http://127.0.0.1|localhost:<temporal_ui_port>.
    tideway_codec_origins: str = ""

    # The limits and defaults of runs (schemas/run_settings.py): the same environment variables,
    # read into one model that each run receives in its memo.
    run: RunSettings = Field(default_factory=RunSettings)

    # Egress policy of fetch (activities/egress.py, docs/fetch.md): comma-separated `host`,
    # `host:port`, IP, CIDR, `CIDR:port`, `[IPv6]:port` admitted besides public addresses.
    fetch_allowed_hosts: str = ""
    # Lifetime of the token a fetch with auth.prismeai.forwardWorkspaceAuth sends to Tideway's own
    # API (core/access/forwarded.py): long enough for one request, short enough to be useless later.
    fetch_forwarded_token_ttl_seconds: int = Field(300, gt=0, le=3600)
    # Engine processes a worker runs Custom Code functions in at once (0: one per CPU).
    custom_code_processes: int = Field(0, ge=0, le=64)

    # Rate limits per workspace, shared by all workers (spec §9): rate per second and burst.
    rate_limit_disabled: bool = False
    rate_limit_automations: float = 100
    rate_limit_automations_burst: float = 400
    rate_limit_emits: float = 30
    rate_limit_emits_burst: float = 100
    rate_limit_fetchs: float = 50
    rate_limit_fetchs_burst: float = 200
    rate_limit_repeats: float = 1000
    rate_limit_repeats_burst: float = 4000

    # HTTP limits
    max_json_body_bytes: int = Field(100 * 1024, alias="MAX_JSON_BODY_BYTES")  # JSON/urlencoded (413 above)
    uploads_max_size: int = Field(10 * 1024 * 1024, alias="UPLOADS_MAX_SIZE")  # one multipart file (413 above)
    uploads_max_parts: int = Field(50, alias="UPLOADS_MAX_PARTS")  # fields + files of one multipart body
    uploads_max_field_bytes: int = Field(1024 * 1024, alias="UPLOADS_MAX_FIELD_BYTES")  # one multipart field
    # A whole multipart webhook body: without it 50 parts of UPLOADS_MAX_SIZE could be held at once.
    uploads_max_total_size: int = Field(25 * 1024 * 1024, alias="UPLOADS_MAX_TOTAL_SIZE")
    max_import_bytes: int = 20 * 1024 * 1024
    webhook_timeout_seconds: float = Field(60.0, gt=0)  # a webhook caller gets 504 past it; the run goes on


    # Run workflow code in Temporal's sandbox. Off by default: it costs ~30 % of the hot path
    # (issue 9: seq p50 37 -> 26 ms, c10 46 -> 68 req/s without it); the test suite runs sandboxed,
    # which is where a non-deterministic change would be caught.
    tideway_workflow_sandbox: bool = False


    # Worker tuning (measured: 10 pollers / 50 concurrent tasks helped throughput)
    worker_workflow_pollers: int = 10
    worker_activity_pollers: int = 10
    worker_max_concurrent_workflow_tasks: int = 200  # slots free for eager starts under load (README)
    # Runs a worker keeps in memory between their tasks (Temporal's sticky cache); the rest are
    # replayed from history when their next task comes. Bounds the worker's memory whatever the
    # number of runs parked in `wait` (docs/scaling.md).
    worker_max_cached_workflows: int = Field(1000, ge=2)

    # Schedules (DECISIONS 4, 21): one Temporal Schedule per (workspace, instance, automation, cron)
    schedule_min_interval_minutes: int = 15  # a cron that can fire more often is refused (400)

    # Retention (DECISIONS 3): a RetentionWorkflow on a Temporal Schedule; -1 turns a rule off
    retention_enabled: bool = True
    retention_cron: str = "0 3 * * *"  # UTC, daily
    events_retention_days: int = 3 * 365  # events older than this are deleted
    events_cleanup_workspace_inactivity_days: int = 15  # with ...
    events_cleanup_workspace_max_events: int = 100  # ... fewer events than this: all deleted
    events_scheduled_deletion_days: int = 180  # events of a deleted workspace kept this long
    retention_batch_size: int = 5000  # rows per delete statement (one heartbeat each)

    # Workspace files (docs/files.md): their bytes live in the database, so both are bounded.
    files_max_size: int = Field(10 * 1024 * 1024, gt=0, alias="FILES_MAX_SIZE")  # one file (413 above)
    # All the files of one workspace together (413 QuotaExceededError above); -1: no quota.
    files_workspace_quota_bytes: int = Field(1024 * 1024 * 1024, ge=-1, alias="FILES_WORKSPACE_QUOTA_BYTES")

    # Workspace versions (spec §10)
    maximum_workspace_version: int = 20  # versions kept per workspace, the oldest go first

    # Identity (issue 6): signed session and access tokens (HS256 JWTs)
    tideway_jwt_secret: str | None = None  # signing key; unset: derived from TIDEWAY_ADMIN_TOKEN
    tideway_session_ttl_seconds: int = 30 * 24 * 3600  # login and anonymous sessions
    tideway_access_token_ttl_seconds: int = 365 * 24 * 3600  # personal access tokens
    tideway_password_min_length: int = 8

    # Login rate limits (docs/security.md "Login attempts"): failed logins counted in the
    # database, so every api process shares them.
    login_rate_per_address: int = 10  # failed logins per (account, client address) per window
    login_rate_per_account: int = 100  # failed logins per account per window, all addresses together
    login_rate_window_seconds: int = 900

    # The client address: the peer, unless the peer is one of these proxies (comma-separated IPs
    # or CIDRs); then the right-most X-Forwarded-For entry that is not a trusted proxy.
    trusted_proxies: str = ""

    # Live event streams (SSE): one poller per process fans events out to its subscribers.
    events_stream_max_per_caller: int = 20  # per user id, API key or anonymous client address
    events_stream_max_per_process: int = 1000

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        from core.access.client_address import parse_networks

        parse_networks(value)  # a bad entry stops start-up, naming it
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.tideway_data_dir / 'tideway.db').resolve()}"

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or "127.0.0.1:7233"

    @property
    def public_url(self) -> str:
        return self.tideway_public_url or f"http://{self.tideway_host}:{self.tideway_port}"

    @model_validator(mode="after")
    def _deployment_urls(self) -> Settings:
        """The run's ``global.apiUrl``/``studioUrl`` are where this deployment answers."""
        base = self.public_url.rstrip("/")
        self.run.api_url = self.run.api_url or base
        self.run.studio_url = self.run.studio_url or base
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
