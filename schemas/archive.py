"""Workspace import/export: zip archives of the Prisme.ai folder layout and single documents.

Layout: ``index.yml``, ``security.yml``, ``automations/<slug>.yml``, ``imports/<slug>.yml``,
``pages/<slug>.yml`` (``.yaml`` and ``.json`` accepted on import), at the archive root or under
one top-level folder. Parsing only builds a ``WorkspaceSource``; ``validate_workspace`` checks it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from typing import Any

from schemas import strict_json
from schemas.dsul import SECTIONS, WorkspaceSource
from schemas.errors import InvalidWorkspaceError
from schemas.yaml_io import YamlDocumentError, dump_yaml, load_yaml

MAX_TOTAL_SIZE = 20 * 1024 * 1024
MAX_FILES = 2000
EXTENSIONS = (".yml", ".yaml", ".json")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_DRIVE = re.compile(r"^[A-Za-z]:")

__all__ = [
    "MAX_FILES",
    "MAX_TOTAL_SIZE",
    "export_archive",
    "parse_archive",
    "parse_document",
    "parse_import",
]


def _fail(
    path: str, message: str, summary: str = "Invalid workspace archive"
) -> InvalidWorkspaceError:
    return InvalidWorkspaceError(
        f"{summary}: {path}: {message}", details=[{"path": path, "message": message}]
    )


def _ignored(parts: list[str]) -> bool:
    return parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def _entry_parts(name: str) -> list[str]:
    """Split a zip entry name, rejecting absolute and parent-directory paths."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE.match(normalized) or "\x00" in normalized:
        raise _fail(name, "absolute path in archive entry name")
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise _fail(name, "path traversal ('..') in archive entry name")
    return parts


def _split_ext(name: str) -> tuple[str, str] | None:
    for ext in EXTENSIONS:
        if name.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], ext
    return None


def _stem(name: str) -> str | None:
    split = _split_ext(name)
    return split[0] if split else None


def _strip_top_folder(files: dict[tuple[str, ...], zipfile.ZipInfo]) -> int:
    """How many leading components to drop: 1 when every file sits under one top-level folder
    that is not itself a section folder (or that holds an index file), else 0."""
    tops = {parts[0] for parts in files if len(parts) > 1}
    at_root = any(len(parts) == 1 for parts in files)
    if at_root or len(tops) != 1:
        return 0
    (top,) = tops
    has_index = any(len(p) == 2 and _stem(p[1]) == "index" for p in files)
    return 1 if has_index or top not in SECTIONS else 0


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    try:
        with zf.open(info) as handle:
            data = handle.read(budget + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(info.filename, f"corrupt archive entry ({exc})") from exc
    except (NotImplementedError, RuntimeError) as exc:  # unknown compression, encryption
        raise _fail(info.filename, f"unreadable archive entry ({exc})") from exc
    if len(data) > budget:
        raise _fail(info.filename, "archive expands beyond its uncompressed size limit")
    return data


def _parse_file(path: str, ext: str, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlDocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if ext == ".json":
        return _load_json(text)
    return load_yaml(text)


def _load_json(text: str) -> Any:
    try:
        return strict_json.loads(text)
    except strict_json.JsonDocumentError as exc:
        raise YamlDocumentError(f"invalid JSON: {exc.message}") from None


def parse_archive(
    data: bytes, *, max_total_size: int = MAX_TOTAL_SIZE, max_files: int = MAX_FILES
) -> WorkspaceSource:
    """Read a workspace zip. Raises ``InvalidWorkspaceError`` for a non-zip body, unsafe entry
    names, an archive over ``max_files`` files or ``max_total_size`` uncompressed bytes, and
    unreadable files (every one listed, with line and column for YAML/JSON syntax errors)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _fail("archive", f"the body is not a valid zip archive ({exc})") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > max_files:
            raise _fail("archive", f"too many files in archive ({len(infos)} > {max_files})")
        declared = sum(i.file_size for i in infos)
        if declared > max_total_size:
            raise _fail(
                "archive",
                f"archive expands to {declared} bytes, over the {max_total_size} bytes limit",
            )
        files: dict[tuple[str, ...], zipfile.ZipInfo] = {}
        for info in infos:
            parts = _entry_parts(info.filename)
            if parts and not _ignored(parts):
                files[tuple(parts)] = info
        drop = _strip_top_folder(files)
        source = WorkspaceSource(origin="archive")
        details: list[dict[str, str]] = []
        budget = max_total_size
        for key_parts in sorted(files):
            info = files[key_parts]
            rel = key_parts[drop:]
            target = _target(rel)
            if target is None:
                misplaced = _misplaced_automation(zf, info, rel)
                if misplaced:
                    details.append({"path": "/".join(rel), "message": misplaced})
                continue
            section, slug, ext = target
            path = "/".join(rel)
            key = section if slug is None else f"{section}/{slug}"
            if key in source.paths:
                details.append({"path": path, "message": f"duplicate of {source.paths[key]}"})
                continue
            source.paths[key] = path
            raw = _read(zf, info, budget)
            budget -= len(raw)
            try:
                content = _parse_file(path, ext, raw)
            except YamlDocumentError as exc:
                details.append({"path": path, "message": str(exc)})
                continue
            _store(source, section, slug, content, path, details)
    if details:
        raise InvalidWorkspaceError(
            f"Invalid workspace archive: {details[0]['path']}: {details[0]['message']}",
            details=details,
        )
    return source


def _misplaced_automation(zf: zipfile.ZipFile, info: zipfile.ZipInfo, rel: tuple[str, ...]) -> str | None:
    """Why a file Tideway does not read is refused: an automation outside ``automations/`` (an
    archive whose automations sit at its root would otherwise import as a workspace without
    them). Other unknown files are ignored, as the reference does."""
    split = _split_ext(rel[-1])
    if split is None or split[0] == "__index__" or info.file_size > MAX_MISPLACED_PEEK:
        return None
    try:
        content = _parse_file("/".join(rel), split[1], zf.read(info))
    except YamlDocumentError:
        return None
    if not isinstance(content, dict) or not isinstance(content.get("do"), list):
        return None
    expected = f"automations/{split[0]}{split[1]}"
    return (f"this file holds an automation (it has `do`), but Tideway reads automations only from "
            f"automations/<slug>.yml: move it to {expected} (index.yml, security.yml, automations/, imports/ "
            f"and pages/ are read; other files are ignored)")


MAX_MISPLACED_PEEK = 1024 * 1024  # larger unknown files are not inspected


def _target(rel: tuple[str, ...]) -> tuple[str, str | None, str] | None:
    """``(section, slug, ext)`` of a file inside the workspace folder, None when ignored."""
    split = _split_ext(rel[-1])
    if split is None or split[0] == "__index__":
        return None
    stem, ext = split
    if len(rel) == 1 and stem in ("index", "security"):
        return stem, None, ext
    if len(rel) >= 2 and rel[0] in SECTIONS:
        return rel[0], "/".join([*rel[1:-1], stem]), ext
    return None


def _store(
    source: WorkspaceSource,
    section: str,
    slug: str | None,
    content: Any,
    path: str,
    details: list[dict[str, str]],
) -> None:
    if content is None and section in ("index", "security"):
        content = {}
    if not isinstance(content, dict):
        kind = "null (empty file)" if content is None else type(content).__name__
        details.append(
            {"path": path, "message": f"the file must hold an object (mapping), got {kind}"}
        )
        return
    if section == "index":
        source.index = content
    elif section == "security":
        source.security = content
    else:
        getattr(source, section)[slug] = content


def parse_document(data: bytes | str, content_type: str) -> WorkspaceSource:
    """Read a single JSON or YAML document ``{<index fields>, automations, imports, security?,
    pages?}``. JSON when ``content_type`` mentions json, YAML otherwise (YAML accepts JSON too)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail(
                "document",
                f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                "Invalid workspace document",
            ) from exc
    else:
        text = data
    try:
        if "json" in content_type.lower():
            document = _load_json(text)
        else:
            document = load_yaml(text)
    except YamlDocumentError as exc:
        raise _fail("document", str(exc), "Invalid workspace document") from exc
    return WorkspaceSource.from_document(document)


def parse_import(data: bytes, content_type: str | None) -> WorkspaceSource:
    """Dispatch an import body: a zip (by content type or by its ``PK`` signature) or a single
    JSON/YAML document."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if "zip" in ctype or data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return parse_archive(data)
    if ctype == "application/octet-stream":
        raise _fail("archive", "the body is not a valid zip archive")
    return parse_document(data, ctype or "application/yaml")


def _yaml_bytes(value: Any) -> bytes:
    return dump_yaml(value).encode("utf-8")


def export_archive(source: WorkspaceSource, folder: str | None = None) -> bytes:
    """Zip ``source`` in the folder layout (optionally under ``folder/``). Deterministic: sorted
    entries, fixed timestamps and attributes. ``parse_archive(export_archive(x)) == x``."""
    entries: dict[str, bytes] = {"index.yml": _yaml_bytes(source.index)}
    if source.security is not None:
        entries["security.yml"] = _yaml_bytes(source.security)
    for section in SECTIONS:
        for slug, value in getattr(source, section).items():
            entries[f"{section}/{slug}.yml"] = _yaml_bytes(value)
    prefix = f"{folder.strip('/')}/" if folder and folder.strip("/") else ""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(
                posixpath.join(prefix, name) if prefix else name, date_time=_ZIP_DATE
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, entries[name])
    return buffer.getvalue()
