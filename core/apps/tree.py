"""The tree of app instances a run sees (spec §1.4–1.5, §7.4).

A root workspace imports app instances; each instance runs an app version (pinned with
``appVersion`` or the latest when the root run starts) which may import more instances.
Every node has a full slug (``''`` for the root, ``nlu``, ``nlu.french``), its own merged
config, automations, endpoints and listeners. Version documents are immutable, so nodes
are cached by (app, version, parent config); the map ``{full slug: version}`` pins a run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from core.workspaces.config_interpolation import interpolate_config
from language import render
from language.secrets import find_secret_paths, find_secret_values
from language.values import strip_undefined
from schemas.automations import Automation, load_automation
from schemas.dsul import endpoint_name
from schemas.runs import InstanceInfo

VersionLoader = Callable[[str, str | None], Awaitable[tuple[str, dict[str, Any]]]]
LatestLoader = Callable[[Iterable[str]], Awaitable[dict[str, str]]]


@dataclass
class Node:
    info: InstanceInfo
    document: dict[str, Any]
    endpoints: dict[str, str] = field(default_factory=dict)
    listeners: dict[str, list[str]] = field(default_factory=dict)
    _models: dict[str, Automation] = field(default_factory=dict)

    def model(self, slug: str) -> Automation | None:
        """The typed automation ``slug``, parsed once per node (a node belongs to one workspace
        revision and app versions, so its facts are computed once, not per request)."""
        found = self._models.get(slug)
        if found is None:
            raw = self.automations.get(slug)
            if not isinstance(raw, dict):
                return None
            found = self._models[slug] = load_automation(raw)
        return found

    @property
    def automations(self) -> dict[str, dict[str, Any]]:
        autos = self.document.get("automations") or {}
        return autos if isinstance(autos, dict) else {}

    @property
    def imports(self) -> dict[str, dict[str, Any]]:
        return enabled_imports(self.document)


def enabled_imports(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The app instances a workspace document imports, by slug, but for the disabled ones."""
    imports = document.get("imports") or {}
    return {k: v for k, v in imports.items() if isinstance(v, dict) and not v.get("disabled")} if isinstance(
        imports, dict) else {}


def index_automations(automations: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Endpoint names and event listeners of enabled automations."""
    endpoints: dict[str, str] = {}
    listeners: dict[str, list[str]] = {}
    for slug, automation in automations.items():
        if not isinstance(automation, dict) or automation.get("disabled"):
            continue
        name = endpoint_name(slug, automation)
        if name:
            endpoints[name] = slug
        when = automation.get("when")
        for event_type in (when.get("events") if isinstance(when, dict) else None) or []:
            if isinstance(event_type, str) and slug not in listeners.setdefault(event_type, []):
                listeners[event_type].append(slug)
    return endpoints, listeners


def app_env(kind: str, app_slug: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``APP_{kind}_{appSlug without spaces}_{KEY}`` environment variables: ``CONFIG`` values sit
    below every other config source (spec §1.4); ``SECRET`` values are the app's ``secret.KEY``
    (an app never sees the secrets stored in the workspace it was published from)."""
    environ = os.environ if environ is None else environ
    prefix = f"APP_{kind}_{app_slug.replace(' ', '')}_"
    return {k[len(prefix):]: v for k, v in environ.items() if k.startswith(prefix) and len(k) > len(prefix)}


def instance_config(app_document: dict[str, Any], instance: dict[str, Any], app_slug: str,
                    parent_config: dict[str, Any], secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Instance config (interpolated in the parent's config, and for the workspace's own instances
    its ``secret``s: core/apps/secret_config.py) over the app's own config.value over the app's
    environment variables — shallow merges, unresolved variables left (spec §1.5)."""
    config_doc = app_document.get("config")
    defaults = config_doc.get("value") if isinstance(config_doc, dict) else None
    # The app's own config sees its APP_SECRET_ values as `secret`, not its APP_CONFIG_ ones.
    own = interpolate_config(defaults, slug="\0", environ={}, secrets=app_env("SECRET", app_slug))
    given = instance.get("config")
    rendered: Any = {}
    scope = {"config": parent_config, **({"secret": secrets} if secrets else {})}
    if isinstance(given, dict | str):  # a string: e.g. config: '{{config}}' hands the parent's config down
        rendered = render(given, scope, undefined_vars="leave", eval_expressions=False)
    rendered = strip_undefined(rendered) if isinstance(rendered, dict) else {}
    return {**app_env("CONFIG", app_slug), **own, **rendered}


# Persisted contexts read or written by name; run.* built-ins are computed, not persisted.
CONTEXT_REFERENCE = re.compile(
    r"\b(global|user|session|socket)\b|\brun\.(?!(date|depth|correlationId|trigger|automationSlug)\b)")


def mentions_contexts(automations: Any) -> bool:
    """Whether any automation names a persisted context (if none does, runs skip loading them)."""
    return bool(CONTEXT_REFERENCE.search(json.dumps(automations or {})))


def config_secret_paths(document: dict[str, Any]) -> list[str]:
    """Dotted paths of a workspace's (or app's) config fields declared ``secret: true``."""
    config_doc = document.get("config")
    return find_secret_paths(config_doc.get("schema") if isinstance(config_doc, dict) else None)


def secrets_of(document: dict[str, Any], config: dict[str, Any], app_slug: str | None = None) -> list[str]:
    """The secret values an instance's events hide: its config fields declared secret and the
    app's APP_SECRET_ values."""
    found = find_secret_values(config, config_secret_paths(document))
    env = [v for v in app_env("SECRET", app_slug).values() if v.strip()] if app_slug else []
    return found + [v for v in env if v not in found]


class AppTree:
    """Resolves and caches instance nodes under one root workspace revision."""

    def __init__(self, root: Node, versions: dict[str, str], nodes: dict[str, Node]):
        self.root = root
        self.versions = versions  # full slug -> version name (the run's pin)
        self.nodes = nodes  # full slug -> node ('' is the root)

    def node(self, full_slug: str) -> Node | None:
        return self.nodes.get(full_slug)

    def child_of(self, parent: str, slug: str) -> str:
        return f"{parent}.{slug}" if parent else slug

    def resolve_call(self, caller: str, name: str) -> tuple[str, str] | None:
        """(instance full slug, automation slug) of a call ``name`` made inside ``caller``;
        dotted names walk down the caller's imports (DECISIONS 9: any depth)."""
        *path, automation = name.split(".")
        current = caller
        for segment in path:
            target = self.child_of(current, segment)
            if target not in self.nodes:
                return None
            current = target
        return current, automation

    def missing_app(self, caller: str, name: str) -> tuple[str, str] | None:
        """(instance full slug, app slug) when ``name`` calls into an instance of ``caller`` that is
        declared but has no node: its app is not on this Tideway (kept by ``missingApps=allow``)."""
        current = caller
        for segment in name.split(".")[:-1]:
            target = self.child_of(current, segment)
            if target not in self.nodes:
                declared = self.nodes[current].imports.get(segment) if current in self.nodes else None
                app = declared.get("appSlug") if isinstance(declared, dict) else None
                return (target, app) if isinstance(app, str) else None
            current = target
        return None

    def resolve_endpoint(self, name: str) -> tuple[str, str] | None:
        """Endpoint ``name`` of the root, or ``instance.name`` inside an instance (recursively)."""
        current = ""
        remaining = name
        while True:
            node = self.nodes[current]
            if remaining in node.endpoints:
                return current, node.endpoints[remaining]
            first, dot, rest = remaining.partition(".")
            child = self.child_of(current, first)
            if not dot or child not in self.nodes:
                return None
            current, remaining = child, rest

    def listeners(self, event_type: str, source_instance: str | None = None,
                  trigger_type: str | None = None) -> list[Listener]:
        """The automations an event of the root's log starts (spec §7.4), each with the name the
        event has where that automation runs: the root's own listeners, then prefixed names routed
        down into instances (``toolbox.executed`` is ``executed`` inside ``toolbox``); an event
        whose source is an instance is also delivered to that instance under its own name."""
        found: list[Listener] = []

        def add(instance: str, name: str) -> None:
            for slug in self.nodes[instance].listeners.get(name, ()):
                if all((f.instance, f.automation) != (instance, slug) for f in found):
                    found.append(Listener(instance, slug, name))

        current, remaining = "", event_type
        while True:
            add(current, remaining)
            if current == "" and remaining == "runtime.interactions.triggered" and trigger_type in ALIASES:
                add("", ALIASES[trigger_type])
            first, dot, rest = remaining.partition(".")
            child = self.child_of(current, first)
            if dot and child in self.nodes:
                current, remaining = child, rest
                continue
            break
        if event_type == "workspaces.deleted":
            # The root's deletion reaches its direct imports (spec §6.3), which also run their
            # `workspaces.apps.uninstalled` listeners.
            for child in self.children(""):
                add(child, event_type)
                add(child, "workspaces.apps.uninstalled")
        owner = source_instance if source_instance in self.nodes else ""
        if owner and not event_type.startswith(owner + "."):
            # Native lifecycle events (workspaces.apps.*, apps.*) reach the instance itself.
            add(owner, event_type)
        if event_type in PARENT_LIFECYCLE:
            # An app's publish or deletion reaches its instances (the event is recorded with the
            # instance as source) and the instances they import: "the current OR the parent
            # workspace is published / deleted". A root that publishes itself reaches its imports.
            for child in self.children(owner):
                add(child, event_type)
        return found

    def children(self, full_slug: str) -> list[str]:
        """Full slugs of the enabled imports of a node."""
        return [self.child_of(full_slug, slug) for slug in self.nodes[full_slug].info.children
                if self.child_of(full_slug, slug) in self.nodes]


class Listener(NamedTuple):
    instance: str  # full slug of the app instance ('' = the root)
    automation: str
    name: str  # the event's name where the automation runs (its trigger.value)


ALIASES = {"endpoint": "runtime.webhooks.triggered", "schedule": "runtime.schedules.triggered"}
PARENT_LIFECYCLE = frozenset({"apps.published", "apps.deleted"})


@dataclass(frozen=True)
class Placement:
    """An import resolved to an app version, before its node is built."""

    parent: str  # the parent's full slug ('' = the root)
    slug: str
    full: str
    declared: dict[str, Any]  # the import as the parent declares it
    app_slug: str
    version: str
    document: dict[str, Any]


async def place_imports(document: Mapping[str, Any], load_version: VersionLoader, latest: LatestLoader | None,
                        pinned: Mapping[str, str] | None = None, max_depth: int = 10) -> list[Placement]:
    """The imports of the workspace ``document``'s tree, breadth first, each with its version.
    With ``pinned`` (a run's map) versions come from it; otherwise unpinned instances take their
    app's latest version (one query per level). Cheap: versions' documents are cached, nothing
    is rendered."""
    placed: list[Placement] = []
    level: list[tuple[str, dict[str, dict[str, Any]], tuple[str, ...]]] = [("", enabled_imports(document), ())]
    depth = 0
    while level and depth < max_depth:
        depth += 1
        wanted = {inst["appSlug"] for _, imports, _ in level for inst in imports.values()
                  if isinstance(inst.get("appSlug"), str)}
        newest = await latest(wanted) if latest is not None and pinned is None else {}
        following: list[tuple[str, dict[str, dict[str, Any]], tuple[str, ...]]] = []
        for parent_slug, imports, ancestors in level:
            for slug, inst in imports.items():
                app_slug = inst.get("appSlug")
                if not isinstance(app_slug, str) or app_slug in ancestors:
                    continue  # an import cycle is skipped (install refuses it up front)
                full = f"{parent_slug}.{slug}" if parent_slug else slug
                requested = inst.get("appVersion")
                if pinned is not None:
                    version = pinned.get(full)
                elif isinstance(requested, str) and requested not in ("", "current", "latest"):
                    version = requested
                else:
                    version = newest.get(app_slug)
                if version is None:
                    continue  # unknown or deleted-without-versions app: not loaded
                try:
                    version, document = await load_version(app_slug, version)
                except Exception:  # noqa: BLE001 - a broken instance must not break its parent
                    continue
                placed.append(Placement(parent_slug, slug, full, inst, app_slug, version, document))
                following.append((full, enabled_imports(document), (*ancestors, app_slug)))
        level = following
    return placed


def grow_tree(root: Node, placed: Iterable[Placement], root_secrets: dict[str, Any] | None = None) -> AppTree:
    """The tree of ``root`` and its placed imports: each instance's config rendered from its
    parent's, its secrets, endpoints and listeners indexed. ``root_secrets``: the workspace's
    secrets, which its own instances' configs may name."""
    nodes: dict[str, Node] = {"": root}
    versions: dict[str, str] = {}
    for p in placed:
        parent = nodes[p.parent]
        config = instance_config(p.document, p.declared, p.app_slug, parent.info.config,
                                 secrets=None if p.parent else root_secrets)
        info = InstanceInfo(
            full_slug=p.full, slug=p.slug, app_slug=p.app_slug, version=p.version, depth=parent.info.depth + 1,
            parent_app_slug=parent.info.app_slug, config=config, secrets=secrets_of(p.document, config, p.app_slug),
            children=[], scope=f"{root.info.scope}:{p.full}",
            uses_contexts=mentions_contexts(p.document.get("automations")))
        endpoints, listeners = index_automations(p.document.get("automations") or {})
        info.endpoints = sorted(f"{p.full}.{name}" for name in endpoints)
        nodes[p.full] = Node(info=info, document=p.document, endpoints=endpoints, listeners=listeners)
        versions[p.full] = p.version
        parent.info.children.append(p.slug)
    return AppTree(root, versions, nodes)


async def build_tree(root: Node, load_version: VersionLoader, latest: LatestLoader | None,
                     pinned: Mapping[str, str] | None = None, max_depth: int = 10,
                     root_secrets: dict[str, Any] | None = None) -> AppTree:
    """:func:`place_imports`, then :func:`grow_tree`."""
    return grow_tree(root, await place_imports(root.document, load_version, latest, pinned, max_depth), root_secrets)


class TreeService:
    """Instance trees of workspaces: the current one (latest versions, when a run starts or an
    event is dispatched) and pinned ones (a run's ``{full slug: version}`` map, in the worker)."""

    def __init__(self, workspaces: Any, apps: Any):
        self.workspaces = workspaces  # core.workspaces.service.WorkspaceService
        self.apps = apps  # core.apps.catalog.AppService
        self._pinned: dict[tuple[str, int, str, tuple[tuple[str, str], ...]], AppTree] = {}

    def _root(self, compiled: Any) -> Node:
        info = InstanceInfo(full_slug="", config=compiled.config, secrets=compiled.secrets, scope=compiled.id,
                            uses_contexts=compiled.uses_contexts, endpoints=sorted(compiled.endpoints))
        # The compiled workspace already indexed its endpoints and listeners.
        return Node(info=info, document=compiled.document, endpoints=compiled.endpoints,
                    listeners=compiled.listeners)

    async def current(self, workspace_id: str, *, include_deleted: bool = False,
                      revision: int | None = None, max_age: float = 0.0) -> tuple[Any, AppTree]:
        """The tree with the latest app versions, of the current revision or of ``revision``
        (an uninstalled instance's listeners run in the last revision that had it)."""
        if revision is not None:
            compiled = await self.workspaces.compiled_revision(workspace_id, revision)
        else:
            compiled = await self.workspaces.compiled(workspace_id, include_deleted=include_deleted, max_age=max_age)
        if not compiled.document.get("imports"):
            return compiled, await self._cached(compiled, {})
        # The tree is a function of the revision and the versions its imports resolve to: find
        # those (cached documents, one query per level), and build the tree only when they moved.
        placed = await place_imports(compiled.document, self.apps.version_document, self.apps.latest_versions)
        key = self._key(compiled, {p.full: p.version for p in placed})
        tree = self._pinned.get(key)
        if tree is None:
            tree = self._keep(key, grow_tree(self._root(compiled), placed, getattr(compiled, "secret_values", None)))
        return compiled, tree

    async def pinned(self, workspace_id: str, revision: int, versions: Mapping[str, str]) -> AppTree:
        row = await self.workspaces.compiled_revision(workspace_id, revision)
        return await self._cached(row, versions)

    async def _cached(self, compiled: Any, versions: Mapping[str, str]) -> AppTree:
        key = self._key(compiled, versions)
        tree = self._pinned.get(key)
        if tree is None:
            tree = self._keep(key, await build_tree(self._root(compiled), self.apps.version_document, None,
                                                    pinned=versions,
                                                    root_secrets=getattr(compiled, "secret_values", None)))
        return tree

    @staticmethod
    def _key(compiled: Any, versions: Mapping[str, str]) -> tuple[str, int, str, tuple[tuple[str, str], ...]]:
        # The digest keeps a purged and re-created workspace from reusing a stale tree.
        return (compiled.id, compiled.revision, compiled.digest + getattr(compiled, "secrets_digest", ""),
                tuple(sorted(versions.items())))

    def _keep(self, key: tuple[str, int, str, tuple[tuple[str, str], ...]], tree: AppTree) -> AppTree:
        if len(self._pinned) > 500:
            self._pinned.clear()
        return self._pinned.setdefault(key, tree)
