"""DSUL models: pydantic views of validated definitions, and the ``WorkspaceSource`` container.

``WorkspaceSource`` is the plain, JSON-serialisable form every import path produces (zip
archive or single document) and export consumes. The pydantic models are typed *views* for
code that runs definitions; unknown fields are dropped on read (``validation.py`` reports them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.checks import format_path
from schemas.errors import InvalidWorkspaceError

LocalizedText = str | dict[str, str]

SECTIONS: tuple[str, ...] = ("automations", "imports", "pages")
"""Folder sections of a workspace: one file per slug."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class When(_Model):
    events: list[str] | None = None
    endpoint: bool | str | None = None
    schedules: list[str] | None = None


class Authorizations(_Model):
    action: str | None = None


class Automation(_Model):
    """An automation (spec §2.1). ``output``: check ``"output" in model_fields_set`` to tell an
    absent output (``{}``) from an explicit ``null`` (DECISIONS 12), or use ``output_or_default``."""

    slug: str | None = None
    name: LocalizedText
    description: LocalizedText | None = None
    arguments: dict[str, Any] | None = None
    validate_arguments: bool = Field(default=False, alias="validateArguments")
    when: When | None = None
    do: list[dict[str, Any]] = Field(default_factory=list)
    output: Any = None
    private: bool = False
    disabled: bool = False
    authorizations: Authorizations | None = None
    labels: list[str] = Field(default_factory=list)
    events: dict[str, Any] | None = None
    id: str | None = None
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    created_by: str | None = Field(default=None, alias="createdBy")
    updated_by: str | None = Field(default=None, alias="updatedBy")

    @classmethod
    def from_source(cls, slug: str, value: dict[str, Any]) -> Automation:
        """Read a (validated) automation dict stored under ``slug``."""
        model = cls.model_validate(value)
        model.slug = slug
        return model

    @property
    def has_output(self) -> bool:
        return "output" in self.model_fields_set

    def output_or_default(self) -> Any:
        return self.output if self.has_output else {}

    @property
    def endpoint(self) -> str | None:
        return endpoint_name(
            self.slug or "", {"when": self.when.model_dump() if self.when else None}
        )


class AppInstance(_Model):
    """An app instance (``imports/<slug>.yml``, spec §1.5)."""

    app_slug: str = Field(alias="appSlug")
    slug: str | None = None
    app_version: str | None = Field(default=None, alias="appVersion")
    config: Any = None
    disabled: bool = False
    app_name: LocalizedText | None = Field(default=None, alias="appName")
    labels: list[str] = Field(default_factory=list)


class WorkspaceIndex(_Model):
    """Root fields of ``index.yml`` (spec §1.2)."""

    name: str
    slug: str | None = None
    id: str | None = None
    description: LocalizedText | None = None
    photo: str | None = None
    config: dict[str, Any] | None = None
    secrets: dict[str, Any] | None = None
    custom_domains: list[str] = Field(default_factory=list, alias="customDomains")
    labels: list[str] = Field(default_factory=list)
    register_workspace: bool = Field(default=False, alias="registerWorkspace")
    repositories: dict[str, Any] | None = None
    blocks: Any = None


def endpoint_name(slug: str, automation: dict[str, Any]) -> str | None:
    """The webhook name of an automation: ``when.endpoint: true`` → its slug, a non-empty string →
    that string, anything else → None (spec §2.3)."""
    when = automation.get("when") if isinstance(automation, dict) else None
    if not isinstance(when, dict):
        return None
    endpoint = when.get("endpoint")
    if endpoint is True:
        return slug
    if isinstance(endpoint, str) and endpoint:
        return endpoint
    return None


@dataclass
class WorkspaceSource:
    """A workspace definition as files: ``index`` (root fields), one dict per automation, app
    instance and page (keyed by slug), and ``security`` (None when there is no security.yml).

    ``origin`` and ``paths`` only serve error messages (which file a slug came from) and take no
    part in equality."""

    index: dict[str, Any] = field(default_factory=dict)
    automations: dict[str, dict[str, Any]] = field(default_factory=dict)
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)
    security: dict[str, Any] | None = None
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: Literal["archive", "document"] = field(default="archive", compare=False)
    # The workspace revision this source was read from: a write based on it fails (409) if
    # another writer got in between, instead of silently undoing that writer's change.
    base_revision: int | None = field(default=None, compare=False)
    paths: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def locate(
        self, section: str, slug: str | None = None, inner: list[str | int] | None = None
    ) -> str:
        """The ``path`` of an error detail: ``automations/hello.yml: do[2].conditions`` for
        archives, ``document: automations.hello.do[2].conditions`` for single documents.
        ``section`` is ``index``, ``security`` or one of ``SECTIONS``."""
        inner = inner or []
        if self.origin == "document":
            base: list[str | int] = []
            if section != "index":
                base.append(section)
            if slug is not None:
                base.append(slug)
            rendered = format_path([*base, *inner])
            return f"document: {rendered}" if rendered else "document"
        key = section if slug is None else f"{section}/{slug}"
        file = self.paths.get(key) or f"{key}.yml"
        rendered = format_path(inner)
        return f"{file}: {rendered}" if rendered else file

    def to_document(self) -> dict[str, Any]:
        """Single-document form: the index fields plus ``automations``, ``imports``, and
        ``security`` / ``pages`` when present."""
        doc: dict[str, Any] = dict(self.index)
        doc["automations"] = dict(self.automations)
        doc["imports"] = dict(self.imports)
        if self.security is not None:
            doc["security"] = self.security
        if self.pages:
            doc["pages"] = dict(self.pages)
        return doc

    @classmethod
    def from_document(cls, document: Any) -> WorkspaceSource:
        """Split a single document into a source; shape errors raise ``InvalidWorkspaceError``
        with ``document: …`` paths. Contents are checked by ``validate_workspace``."""
        source = cls(origin="document")
        if not isinstance(document, dict):
            raise InvalidWorkspaceError(
                "Invalid workspace document",
                details=[{"path": "document", "message": "the document must be an object"}],
            )
        details: list[dict[str, str]] = []
        for key, value in document.items():
            if key in SECTIONS:
                if value is None:
                    continue
                if not isinstance(value, dict):
                    details.append(
                        {
                            "path": f"document: {key}",
                            "message": f"{key} must be an object keyed by slug",
                        }
                    )
                    continue
                target: dict[str, dict[str, Any]] = getattr(source, key)
                for slug, item in value.items():
                    if not isinstance(item, dict):
                        details.append(
                            {"path": source.locate(key, str(slug)), "message": "must be an object"}
                        )
                        continue
                    target[str(slug)] = item
            elif key == "security":
                if value is not None and not isinstance(value, dict):
                    details.append(
                        {"path": "document: security", "message": "security must be an object"}
                    )
                elif value is not None:
                    source.security = value
            else:
                source.index[key] = value
        if details:
            raise InvalidWorkspaceError("Invalid workspace document", details=details)
        return source
