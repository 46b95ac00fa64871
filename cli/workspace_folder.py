"""A workspace folder on disk (the reference layout, docs/cli.md): reading it as the import reads
an archive, and writing what ``tideway pull`` fetched.

Two top-level folders are the CLI's own and never part of the workspace: ``tests/`` (automation
tests, cli/workspace_tests) and ``apps/`` (apps vendored for offline checks, cli/offline_checks.py).
They are neither sent by ``push`` nor touched by ``pull``."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.workspaces.security_write import same_security
from schemas.archive import EXTENSIONS, parse_archive
from schemas.dsul import SECTIONS, WorkspaceSource
from schemas.errors import InvalidWorkspaceError
from schemas.yaml_io import YamlDocumentError, dump_yaml, load_yaml

CLI_FOLDERS = ("tests", "apps")


def hidden(parts: tuple[str, ...]) -> bool:
    """What the import ignores anyway (dot files, macOS resource forks): not worth zipping."""
    return parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)


def workspace_files(folder: Path) -> list[Path]:
    """The folder's files the import would read or check, sorted (paths relative to ``folder``)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        dirs[:] = sorted(d for d in dirs if not hidden((d,)) and not (base == Path(".") and d in CLI_FOLDERS))
        found += [base / name for name in sorted(files) if not hidden((name,))]
    return sorted(found, key=lambda p: p.as_posix())


def zip_workspace(folder: Path, advance: Callable[[int], None] | None = None) -> bytes:
    """The folder as the import takes it: a zip of its workspace files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in workspace_files(folder):
            data = (folder / relative).read_bytes()
            archive.writestr(relative.as_posix(), data)
            if advance is not None:
                advance(len(data))
    return buffer.getvalue()


def read_workspace(folder: Path) -> WorkspaceSource:
    """The folder read exactly as ``POST …/import`` reads its zip (``InvalidWorkspaceError`` for
    unreadable files, every one listed)."""
    return parse_archive(zip_workspace(folder))


def file_key(relative: Path) -> str | None:
    """``index``, ``security`` or ``<section>/<slug>`` of a workspace file, None for other files."""
    parts = relative.parts
    ext = next((e for e in EXTENSIONS if parts[-1].endswith(e) and len(parts[-1]) > len(e)), None)
    if ext is None or not parts or parts[0] in CLI_FOLDERS:
        return None
    stem = parts[-1][: -len(ext)]
    if len(parts) == 1 and stem in ("index", "security"):
        return stem
    if len(parts) >= 2 and parts[0] in SECTIONS and stem != "__index__":
        return "/".join([*parts[:-1], stem])
    return None


class _FileDumper(yaml.SafeDumper):
    """List items indented under their key (``do:\n  - set: …``), as the DSUL is written by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Templates and code keep their lines: a literal block (`|`) rather than "…\n…" escapes.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_FileDumper.add_representer(str, _text)


def render(value: Any, suffix: str) -> str:
    """A file's text in its format: YAML (keys in order, block style, lines never folded) or JSON
    for a ``.json`` file. The export's own YAML when the nicer one would not read back the same."""
    if suffix == ".json":
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    text = yaml.dump(value, Dumper=_FileDumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=1 << 30)
    try:
        if load_yaml(text) == value:
            return text
    except YamlDocumentError:
        pass
    return dump_yaml(value)


def own_slug_dropped(section: str, slug: str, value: Any) -> Any:
    """An entry without a ``slug`` field that only repeats its file name (the server stores one in
    every automation): what a folder and the server are compared on."""
    if section in SECTIONS and isinstance(value, dict) and value.get("slug") == slug:
        return {k: v for k, v in value.items() if k != "slug"}
    return value


def parsed(path: Path) -> Any:
    """A file's content, or a marker that equals nothing when it cannot be read."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        return json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except (OSError, UnicodeDecodeError, ValueError, YamlDocumentError):
        return _UNREADABLE


_UNREADABLE = object()


def wanted_files(source: WorkspaceSource) -> dict[str, Any]:
    """``key → content`` of every file of ``source`` (see :func:`file_key`)."""
    files: dict[str, Any] = {"index": source.index}
    if source.security is not None:
        files["security"] = source.security
    for section in SECTIONS:
        files.update({f"{section}/{slug}": own_slug_dropped(section, slug, value) if section == "automations"
                      else value for slug, value in getattr(source, section).items()})
    return files


@dataclass
class PullResult:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "removed": self.removed, "unchanged": len(self.unchanged)}


def write_workspace(source: WorkspaceSource, folder: Path, advance: Callable[[], None] | None = None) -> PullResult:
    """Make ``folder`` hold ``source``: a file whose content is already right is left as it is
    (its formatting too, so a pull after a push changes nothing), others are written in the
    export's format, files of automations, pages and imports that are gone are removed (and
    their empty folders). ``tests/`` and ``apps/`` are never touched. A folder without
    security.yml keeps none while the workspace has the initial security."""
    folder.mkdir(parents=True, exist_ok=True)
    existing: dict[str, list[Path]] = {}
    for relative in workspace_files(folder):
        key = file_key(relative)
        if key is not None:
            existing.setdefault(key, []).append(relative)
    if "security" not in existing and source.security is not None and same_security({"security": source.security}, {}):
        source = dataclasses.replace(source, security=None)  # the initial security: no security.yml stands for it
    result = PullResult()
    for key, content in sorted(wanted_files(source).items()):
        found = sorted(existing.pop(key, []), key=lambda p: (p.suffix != ".yml", p.as_posix()))  # .yml first
        keep = next((p for p in found if same_file(key, parsed(folder / p), content)), None)
        target = keep or (found[0] if found else Path(f"{key}.yml"))
        for duplicate in found:  # two files for one slug (hello.yml and hello.yaml): the import refuses it
            if duplicate != target:
                (folder / duplicate).unlink()
                result.removed.append(duplicate.as_posix())
        if keep is not None:
            result.unchanged.append(keep.as_posix())
        else:
            (folder / target).parent.mkdir(parents=True, exist_ok=True)
            (folder / target).write_text(render(content, target.suffix), encoding="utf-8")
            result.written.append(target.as_posix())
        if advance is not None:
            advance()
    for paths in existing.values():  # on disk, no longer in the workspace
        for relative in paths:
            (folder / relative).unlink()
            result.removed.append(relative.as_posix())
            remove_empty_parents(folder, relative)
    return result


def same_file(key: str, on_disk: Any, wanted: Any) -> bool:
    section, _, slug = key.partition("/")
    return own_slug_dropped(section, slug, on_disk) == own_slug_dropped(section, slug, wanted)


def remove_empty_parents(folder: Path, relative: Path) -> None:
    parent = relative.parent
    while parent != Path(".") and parent.parts[0] in SECTIONS:
        directory = folder / parent
        if any(directory.iterdir()):
            return
        directory.rmdir()
        parent = parent.parent


def problems_of(error: InvalidWorkspaceError) -> list[tuple[str, str]]:
    """``(path, message)`` of each detail of an invalid workspace."""
    details = error.details if isinstance(error.details, list) else []
    found = [(str(d.get("path", "")), str(d.get("message", ""))) for d in details if isinstance(d, dict)]
    return found or [("", error.message)]
