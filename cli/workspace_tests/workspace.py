"""The workspace folder as the offline runner sees it: read the way ``tideway push`` and the import
read it (cli/workspace_folder.py: ``tests/`` and ``apps/`` left out), resolved the way a run
resolves it (``core.workspaces.resolved.resolve`` for the root, ``core.apps.tree.build_tree`` for
its app instances). Apps come from Tideway's built-in apps and from the apps vendored in the folder
(the layout ``tideway validate`` checks them in, cli/offline_checks.py): ``apps/<app slug>/``
holding that app's own workspace folder (index.yml, automations/…).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.workspace_folder import problems_of, read_workspace
from core.apps.builtin import BUILTIN_APPS, BUILTIN_VERSION
from core.apps.tree import AppTree, Node, build_tree
from core.workspaces.resolved import ResolvedWorkspace, resolve
from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidWorkspaceError
from schemas.runs import InstanceInfo

VENDORED_VERSION = "vendored"  # a vendored app has one version: its folder


class WorkspaceFolderError(Exception):
    """The folder cannot be read as a workspace (every problem in ``problems``)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def read_source(folder: Path, label: str) -> WorkspaceSource:
    """The folder read as ``tideway push`` sends it and the import reads it (cli/workspace_folder.py)."""
    try:
        return read_workspace(folder)
    except InvalidWorkspaceError as exc:
        raise WorkspaceFolderError([f"{label}/{where}: {message}" if where else f"{label}: {message}"
                                    for where, message in problems_of(exc)]) from None


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: objects merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else value
        return merged
    return override


@dataclass
class OfflineWorkspace:
    """One workspace folder, ready to run offline; trees are built once per config override."""

    folder: Path
    source: WorkspaceSource
    apps: dict[str, dict[str, Any]]  # vendored app documents by app slug
    id: str
    slug: str
    name: str
    _trees: dict[str, tuple[ResolvedWorkspace, AppTree]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> OfflineWorkspace:
        folder = folder.resolve()
        problems: list[str] = []
        source = WorkspaceSource()
        try:
            source = read_source(folder, folder.name)
        except WorkspaceFolderError as exc:
            problems += exc.problems
        apps: dict[str, dict[str, Any]] = {}  # by folder name, which is the app's slug
        vendored = folder / "apps"
        for app_folder in sorted(p for p in vendored.iterdir() if p.is_dir() and not p.name.startswith(".")) \
                if vendored.is_dir() else []:
            try:
                apps[app_folder.name] = read_source(app_folder, f"{folder.name}/apps/{app_folder.name}").to_document()
            except WorkspaceFolderError as exc:
                problems += exc.problems
        if problems:
            raise WorkspaceFolderError(problems)
        index = source.index
        slug = str(index.get("slug") or folder.name)
        return cls(folder, source, apps, id=str(index.get("id") or f"offline-{slug}"), slug=slug,
                   name=str(index.get("name") or slug))

    def app_document(self, app_slug: str) -> tuple[str, dict[str, Any]] | None:
        if app_slug in self.apps:
            return VENDORED_VERSION, self.apps[app_slug]
        if app_slug in BUILTIN_APPS:
            return BUILTIN_VERSION, BUILTIN_APPS[app_slug]
        return None

    async def tree(self, config: dict[str, Any] | None = None,
                   secrets: dict[str, Any] | None = None) -> tuple[ResolvedWorkspace, AppTree]:
        """The revision and its instance tree, with ``config`` merged over ``config.value``."""
        key = json.dumps([config, secrets], sort_keys=True, default=str)
        found = self._trees.get(key)
        if found is not None:
            return found
        document = self.source.to_document()
        if config:
            config_doc = dict(document.get("config") or {})
            config_doc["value"] = deep_merge(config_doc.get("value") or {}, config)
            document["config"] = config_doc
        compiled = resolve(self.id, self.slug, self.name, 1, document, dict(secrets or {}))
        root = Node(info=InstanceInfo(full_slug="", config=compiled.config, secrets=compiled.secrets,
                                      scope=compiled.id, uses_contexts=compiled.uses_contexts,
                                      endpoints=sorted(compiled.endpoints)),
                    document=compiled.document, endpoints=compiled.endpoints, listeners=compiled.listeners)

        async def load_version(app_slug: str, version: str | None) -> tuple[str, dict[str, Any]]:
            found = self.app_document(app_slug)
            if found is None:
                raise LookupError(app_slug)
            return found

        async def latest(app_slugs: Any) -> dict[str, str]:
            return {slug: found[0] for slug in app_slugs if (found := self.app_document(slug)) is not None}

        tree = await build_tree(root, load_version, latest)
        self._trees[key] = (compiled, tree)
        return compiled, tree
