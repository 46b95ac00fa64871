"""Apps (spec §7): the catalogue of published workspaces, and their instances in a workspace."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed, LocalizedText, Open


class AppVersionItem(Closed):
    name: str
    description: LocalizedText | None = None
    createdAt: str


class AppSummary(Closed):
    id: str
    slug: str
    name: str
    description: LocalizedText | None = None
    photo: str | None = None
    labels: list[str]
    workspaceId: str | None = Field(default=None, description="absent for platform apps")
    createdAt: str
    updatedAt: str
    deleted: bool | None = None
    builtIn: bool | None = Field(default=None, description="shipped with Tideway (Custom Code): reserved slug")


class AppListItem(AppSummary):
    version: str | None = Field(description="the latest version's name")


class PublishedApp(AppSummary):
    versions: list[AppVersionItem]


class AppAutomation(Closed):
    """An automation an app exposes (not private, not disabled)."""

    slug: str
    name: LocalizedText
    description: LocalizedText | None = None
    arguments: dict[str, Any] | None = None


class AppDetail(AppSummary):
    """An app version: what workspaces installing it see."""

    version: str
    config: dict[str, Any] = Field(description="`{schema?, block?}` of the app's config")
    automations: list[AppAutomation]
    blocks: list[dict[str, Any]]
    events: dict[str, list[Any]] = Field(description="`{emit, listen, autocomplete}`")
    documentation: dict[str, Any] | None = None
    versions: list[AppVersionItem]


class InstanceFields(Open):
    """An app instance's own fields (``imports/<slug>.yml``; an imported one may carry more)."""

    appSlug: str | None = Field(default=None, min_length=1)
    slug: str | None = None
    appVersion: str | None = Field(default=None, description="pins a version; the latest otherwise")
    config: Any = Field(default=None, description="the instance's config, checked against the app's config.schema")
    disabled: bool | None = None
    appName: LocalizedText | None = None
    labels: list[str] | None = None


class InstallBody(InstanceFields):
    """``POST …/apps``: install app ``appSlug`` as instance ``slug``."""

    appSlug: str = Field(min_length=1)
    slug: str | None = Field(None, description="the instance's slug; the app's slug when left out")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"appSlug": "greeter", "slug": "greeter", "config": {"greeting": "Hi"}}]})


class InstancePatch(InstanceFields):
    """``PATCH …/apps/{slug}``: the fields to change (``slug`` renames the instance)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"config": {"greeting": "Hey"}}]})


class AppConfigPatch(Open):
    """``PATCH …/apps/{slug}/config``: fields merged into the instance's config (one level)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"greeting": "Hello"}]})


class InstalledApp(InstanceFields):
    """An installed instance as stored, without its bookkeeping fields."""

    appSlug: str
    slug: str


class ConfiguredApp(InstalledApp):
    """A configured instance: ``config`` is ``{value}``."""

    config: dict[str, Any]


class AppInstanceDetail(Open):
    """One instance: its fields, ``config`` as ``{schema?, block?, value}``, the app version it
    runs (``resolvedVersion``), or ``appMissing`` / ``appDeleted``."""

    appSlug: str
    slug: str
    config: dict[str, Any]
    resolvedVersion: str | None = None
    documentation: dict[str, Any] | None = None
    appMissing: bool | None = None
    appDeleted: bool | None = None


class AppInstanceListed(Open):
    """An instance in the workspace's list: with the app's name, photo, public automations,
    blocks (slugs prefixed with the instance's) and events."""

    appSlug: str
    slug: str
    appName: LocalizedText
    photo: str | None = None
    automations: list[AppAutomation]
    blocks: list[dict[str, Any]]
    events: dict[str, list[str]] = Field(description="`{emit, listen}`, emitted names prefixed with the slug")
    documentation: dict[str, Any] | None = None
    appDeleted: bool | None = None
