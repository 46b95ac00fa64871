"""What a push would change: the folder's workspace against the server's current export, as the
import applies it (``prune``: what the folder leaves out is deleted, else kept; a folder
without ``index.yml`` or ``security.yml`` keeps the server's)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from cli.workspace_folder import own_slug_dropped, render
from core.workspaces.security_write import same_security
from schemas.dsul import SECTIONS, WorkspaceSource


@dataclass
class SectionChanges:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # on the server, not in the folder, not pruned

    def to_json(self) -> dict[str, list[str]]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed, "kept": self.kept}


@dataclass
class Changes:
    create: bool
    prune: bool
    index: bool = False
    security: bool = False
    sections: dict[str, SectionChanges] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.index) + int(self.security) + sum(
            len(s.added) + len(s.changed) + len(s.removed) for s in self.sections.values())

    def to_json(self) -> dict[str, Any]:
        return {"create": self.create, "prune": self.prune, "count": self.count, "index": self.index,
                "security": self.security, **{name: s.to_json() for name, s in self.sections.items()}}


def local_index(local: WorkspaceSource, remote: WorkspaceSource) -> dict[str, Any]:
    """The root fields the server would store: the folder's, its slug defaulting to the current one."""
    return {**local.index, "slug": local.index.get("slug") or remote.index.get("slug")}


def compare(local: WorkspaceSource, remote: WorkspaceSource | None, *, prune: bool = True) -> Changes:
    if remote is None:
        return Changes(create=True, prune=prune, index=True, security=local.security is not None,
                       sections={s: SectionChanges(added=sorted(getattr(local, s))) for s in SECTIONS})
    changes = Changes(create=False, prune=prune)
    changes.index = bool(local.index) and local_index(local, remote) != remote.index
    changes.security = local.security is not None and not same_security(
        {"security": local.security}, {"security": remote.security} if remote.security is not None else {})
    for section in SECTIONS:
        mine: dict[str, Any] = getattr(local, section)
        theirs: dict[str, Any] = getattr(remote, section)
        gone = sorted(set(theirs) - set(mine))
        changes.sections[section] = SectionChanges(
            added=sorted(set(mine) - set(theirs)),
            changed=sorted(slug for slug in set(mine) & set(theirs)
                           if own_slug_dropped(section, slug, mine[slug]) != own_slug_dropped(section, slug, theirs[slug])),
            removed=gone if prune else [], kept=[] if prune else gone)
    return changes


def summary(changes: Changes, local: WorkspaceSource) -> list[tuple[str, str]]:
    """``(line, style)`` per change: ``+ automations/new.yml``, ``~ index.yml``, ``- pages/old.yml``."""
    def where(section: str, slug: str) -> str:
        return local.paths.get(f"{section}/{slug}") or f"{section}/{slug}.yml"

    lines: list[tuple[str, str]] = []
    if changes.index:
        lines.append((f"{'+' if changes.create else '~'} {local.paths.get('index', 'index.yml')}",
                      "added" if changes.create else "changed"))
    if changes.security:
        lines.append((f"{'+' if changes.create else '~'} {local.paths.get('security', 'security.yml')}",
                      "added" if changes.create else "changed"))
    for section, part in changes.sections.items():
        lines += [(f"+ {where(section, slug)}", "added") for slug in part.added]
        lines += [(f"~ {where(section, slug)}", "changed") for slug in part.changed]
        lines += [(f"- {section}/{slug}.yml", "removed") for slug in part.removed]
        lines += [(f"= {section}/{slug}.yml (kept: --no-prune)", "dim") for slug in part.kept]
    return lines


def counts(changes: Changes) -> str:
    added = sum(len(s.added) for s in changes.sections.values()) + (
        int(changes.index) + int(changes.security) if changes.create else 0)
    changed = sum(len(s.changed) for s in changes.sections.values()) + (
        0 if changes.create else int(changes.index) + int(changes.security))
    removed = sum(len(s.removed) for s in changes.sections.values())
    return f"{added} added, {changed} changed, {removed} removed"


def patch(changes: Changes, local: WorkspaceSource, remote: WorkspaceSource | None) -> list[str]:
    """A unified diff per change, of the files as the export writes them (``server`` → ``folder``)."""
    empty = WorkspaceSource()
    theirs = remote or empty
    pairs: list[tuple[str, Any, Any]] = []
    if changes.index:
        pairs.append(("index.yml", theirs.index if remote else None, local_index(local, theirs)))
    if changes.security:
        pairs.append(("security.yml", theirs.security, local.security))
    for section, part in changes.sections.items():
        for slug in [*part.added, *part.changed, *part.removed]:
            pairs.append((f"{section}/{slug}.yml", own_slug_dropped(section, slug, getattr(theirs, section).get(slug)),
                          own_slug_dropped(section, slug, getattr(local, section).get(slug))))
    out: list[str] = []
    for name, before, after in pairs:
        old = render(before, ".yml").splitlines(keepends=True) if before is not None else []
        new = render(after, ".yml").splitlines(keepends=True) if after is not None else []
        out += [text.rstrip("\n") for text in difflib.unified_diff(
            old, new, f"server/{name}" if before is not None else "/dev/null",
            f"folder/{name}" if after is not None else "/dev/null")]
    return out
