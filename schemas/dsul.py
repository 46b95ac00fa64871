"""A workspace's files: the ``WorkspaceSource`` container every import path produces (zip archive
or single document) and export consumes, and the typed models of its root fields, app instances and
security (automations are schemas/automations.py). ``schemas/validation.py`` checks a source against
them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from schemas.errors import InvalidWorkspaceError
from schemas.problems import format_path

LocalizedText = str | dict[str, str]

SECTIONS: tuple[str, ...] = ("automations", "imports", "pages")
"""Folder sections of a workspace: one file per slug."""


WORKSPACE_SLUG_PATTERN = r"^[/a-z0-9-]+$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class _Strict(BaseModel):
    # Strict: "3" is no number and "yes" no boolean.
    model_config = ConfigDict(strict=True, populate_by_name=True, frozen=True)


class ConfigSection(_Strict):
    model_config = ConfigDict(extra="allow")
    value: Any = None
    schema_: dict[str, dict[str, Any]] | None = Field(None, alias="schema")
    block: str | None = None


class TypedArguments(_Strict):
    model_config = ConfigDict(extra="allow")
    schema_: dict[str, dict[str, Any]] | None = Field(None, alias="schema")


class WorkspaceIndex(_Strict):
    """Root fields of ``index.yml`` (spec §1.2)."""

    model_config = ConfigDict(extra="forbid")
    # Spec §1.2 gives a pattern; Tideway only asks for a non-blank string (see README).
    name: Annotated[str, AfterValidator(_not_blank)]
    slug: Annotated[str, StringConstraints(pattern=WORKSPACE_SLUG_PATTERN)] | None = None
    id: str | None = None
    description: LocalizedText | None = None
    photo: str | None = None
    config: ConfigSection | None = None
    secrets: TypedArguments | None = None
    custom_domains: list[str] | None = Field(None, alias="customDomains")
    labels: list[str] | None = None
    register_workspace: bool | None = Field(None, alias="registerWorkspace")
    repositories: dict[str, dict[str, Any]] | None = None
    blocks: Any = None
    strict: bool = False  # unresolved calls are errors, not warnings (docs/language.md)
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    created_by: str | None = Field(None, alias="createdBy")
    updated_by: str | None = Field(None, alias="updatedBy")


INDEX_FIELDS: frozenset[str] = frozenset(f.alias or n for n, f in WorkspaceIndex.model_fields.items())


class AppInstance(_Strict):
    """An app instance (``imports/<slug>.yml``, spec §1.5); other fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    app_slug: Annotated[str, StringConstraints(min_length=1)] = Field(alias="appSlug")
    slug: str | None = None
    app_version: str | None = Field(None, alias="appVersion")
    config: Any = None
    disabled: bool = False
    app_name: LocalizedText | None = Field(None, alias="appName")
    labels: list[str] | None = None
    created_at: str | None = Field(None, alias="createdAt")
    updated_at: str | None = Field(None, alias="updatedAt")
    created_by: str | None = Field(None, alias="createdBy")
    updated_by: str | None = Field(None, alias="updatedBy")


class AppInstanceBody(AppInstance):
    """An app instance as the install/configure routes take it: no unknown field."""

    model_config = ConfigDict(extra="forbid")


class Authorizations(_Strict):
    model_config = ConfigDict(extra="allow")
    roles: dict[str, dict[str, Any] | None] | None = None
    rules: list[dict[str, Any]] | None = None


class SecurityDocument(_Strict):
    """The outer shape of ``security.yml``; its rules are checked by the permission engine
    (core/access/permissions/dsul.py)."""

    model_config = ConfigDict(extra="allow")
    authorizations: Authorizations | None = None
    authentication: dict[str, Any] | None = None


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

    def kept_over(self, current: WorkspaceSource) -> WorkspaceSource:
        """This archive imported with ``prune=false``: what it does not mention is kept from
        ``current`` — automations, app instances and pages it leaves out, root fields its
        ``index.yml`` does not set, the security it does not carry."""
        return dataclasses.replace(
            self, index={**current.index, **self.index},
            automations={**current.automations, **self.automations},
            imports={**current.imports, **self.imports}, pages={**current.pages, **self.pages},
            security=self.security if self.security is not None else current.security)

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
