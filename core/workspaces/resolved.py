"""A workspace revision resolved for running (built once per revision by WorkspaceService)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from core.apps.tree import index_automations, mentions_contexts
from core.workspaces.config_interpolation import interpolate_config
from core.workspaces.documents import digest
from language.secrets import find_secret_paths, find_secret_values
from schemas.runs import WorkspaceRef


@dataclass(frozen=True)
class ResolvedWorkspace:
    """One revision of a workspace, ready to run: its document, its config interpolated (secrets
    resolved), the index of its endpoints and listeners, the secret values its events hide."""

    id: str
    slug: str
    name: str
    revision: int
    document: dict[str, Any]
    config: dict[str, Any]
    endpoints: dict[str, str] = field(default_factory=dict)  # endpoint name -> automation slug
    listeners: dict[str, list[str]] = field(default_factory=dict)  # event type -> automation slugs
    uses_contexts: bool = True
    secrets: list[str] = field(default_factory=list)  # config values declared secret in config.schema
    digest: str = ""  # of the document
    # The workspace's secrets by name: its own app instances' configs refer to them
    # (``{{secret.app.<instance>.<field>}}``, core/apps/secret_config.py). Never leaves the process.
    secret_values: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def secrets_digest(self) -> str:
        """Changes when a secret does: cached instance trees (whose configs read them) key on it."""
        return digest(self.secret_values)

    def ref(self) -> WorkspaceRef:
        return WorkspaceRef(id=self.id, slug=self.slug, name=self.name, revision=self.revision, config=self.config,
                            uses_contexts=self.uses_contexts, secrets=self.secrets, endpoints=sorted(self.endpoints))

    @property
    def automations(self) -> dict[str, dict[str, Any]]:
        return self.document.get("automations") or {}


def resolve(workspace_id: str, slug: str, name: str, revision: int, doc: dict[str, Any],
            secret_values: dict[str, Any]) -> ResolvedWorkspace:
    """A revision's document resolved: its config interpolated with the workspace's secrets, its
    endpoints and listeners indexed, the secret values its events must hide (the secrets and the
    config fields declared ``secret: true``)."""
    config_doc = doc.get("config")
    config = config_doc.get("value") if isinstance(config_doc, dict) else None
    schema = config_doc.get("schema") if isinstance(config_doc, dict) else None
    endpoints, listeners = index_automations(doc.get("automations") or {})
    values = interpolate_config(config, slug=slug, secrets=secret_values)
    secrets = find_secret_values(values, find_secret_paths(schema))
    secrets += [v for v in secret_values.values() if isinstance(v, str) and v.strip() and v not in secrets]
    return ResolvedWorkspace(workspace_id, slug, name, revision, doc, values, endpoints, listeners,
                             mentions_contexts(doc.get("automations")), secrets, digest(doc), dict(secret_values))
