"""All runtime settings, read once from the environment (pydantic-settings).

Every field is documented in the README's Settings table; names are the
environment variable names (case-insensitive).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

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

    # Interpreter limits
    max_call_depth: int = Field(20, alias="MAXIMUM_SUCCESSIVE_CALLS")
    yield_every_steps: int = 500  # pure steps between two activation yields (counted, never timed)
    max_steps_per_run: int = 100_000
    max_payload_bytes: int = 256 * 1024  # Temporal payload limit; larger values travel by reference
    inline_value_bytes: int = 200 * 1024  # values above this are stored and passed by reference
    max_event_size: int = Field(100_000, alias="BROKER_EMIT_MAXLEN")
    fetch_timeout_seconds: float = 30.0
    fetch_stream_max_chunks: int = 10_000  # chunks (SSE events) of one streamed fetch response
    fetch_stream_max_bytes: int = 10 * 1024 * 1024  # bytes of one streamed fetch response
    # Egress policy of fetch (activities/egress.py, docs/fetch.md): comma-separated `host`,
    # `host:port`, IP, CIDR, `CIDR:port`, `[IPv6]:port` admitted besides public addresses.
    fetch_allowed_hosts: str = ""
    wait_default_timeout: int = Field(20, alias="WAIT_DEFAULT_TIMEOUT")
    context_quota_bytes: int = 100_000  # per persisted context object (DECISIONS 19)
    run_context_ttl: float = Field(60.0, alias="CONTEXT_RUN_EXPIRE_TIME")
    session_context_ttl: float = Field(3600.0, alias="CONTEXT_UNAUTHENTICATED_SESSION_EXPIRE_TIME")

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

    # Language defaults
    default_timezone: str = Field("Europe/Paris", alias="DEFAULT_TIMEZONE")
    default_locale: str = Field("en", alias="DEFAULT_LOCALE")

    # Run workflow code in Temporal's sandbox. Off by default: it costs ~30 % of the hot path
    # (issue 9: seq p50 37 -> 26 ms, c10 46 -> 68 req/s without it); the test suite runs sandboxed,
    # which is where a non-deterministic change would be caught.
    tideway_workflow_sandbox: bool = False

    # Custom search attributes (WorkspaceId, AutomationSlug, CorrelationId) on every run. Off by
    # default: they cost the dev server ~3 ms of CPU per run (+16 %, bench/temporal_floor.py) and
    # c50 throughput 12 % (README); runs are found by their workflow id prefix instead
    # (``WorkflowId STARTS_WITH "<workspaceId>/<slug>/"``) and by correlation id from the events.
    run_search_attributes: bool = False

    # Worker tuning (measured: 10 pollers / 50 concurrent tasks helped throughput)
    worker_workflow_pollers: int = 10
    worker_activity_pollers: int = 10
    worker_max_concurrent_workflow_tasks: int = 200  # slots free for eager starts under load (README)

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
