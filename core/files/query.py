"""``GET …/files`` filters and order (docs/files.md, "Listing"): ``query`` is a JSON object of
equalities on ``name``, ``mimetype`` and ``metadata.<key>[.<key>…]``; ``sort`` one field,
``-`` first for descending. Anything else is a 400 naming it, never ignored."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import ColumnElement, and_, cast, func, literal, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col

from core.infra.tables import WorkspaceFile
from schemas.errors import ValidationError
from schemas.strict_json import JsonDocumentError, loads

SORTS: dict[str, Any] = {"createdAt": WorkspaceFile.created_at, "name": WorkspaceFile.name,
                         "size": WorkspaceFile.size, "mimetype": WorkspaceFile.mimetype}
DEFAULT_SORT = "-createdAt"
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MAX_DEPTH = 5


def _refused(name: str, message: str) -> ValidationError:
    return ValidationError(f"Invalid {name}: {message}", [{"path": f"query.{name}", "message": message}])


def order_by(sort: str | None) -> list[Any]:
    text = (sort or DEFAULT_SORT).strip()
    field = text.lstrip("-+")
    if field not in SORTS:
        raise _refused("sort", f"unknown field {field!r} (one of {', '.join(sorted(SORTS))}, '-' first for "
                               "descending)")
    column = col(SORTS[field])
    descending = text.startswith("-")
    # The id breaks ties so that pages neither repeat nor skip a file.
    return [column.desc(), col(WorkspaceFile.id).desc()] if descending else [column.asc(), col(WorkspaceFile.id).asc()]


def _metadata_condition(path: list[str], value: Any, dialect: str) -> ColumnElement[bool]:
    """Equality with a JSON scalar, of the same JSON type (``"1"`` never equals ``1``, ``1`` never
    ``true``); ``null`` matches a null or absent value. Never a cast of the stored value, which
    would fail on a value of another type."""
    column = col(WorkspaceFile.file_metadata)
    if dialect == "postgresql":
        element = column[tuple(path)]
        if value is None:
            return or_(element.is_(None), element == cast(literal("null"), JSONB))
        return element == cast(literal(json.dumps(value)), JSONB)
    where = "$" + "".join(f'."{part}"' for part in path)  # keys are checked: no quote inside
    kind, extracted = func.json_type(column, where), func.json_extract(column, where)
    if value is None:
        return extracted.is_(None)
    if isinstance(value, bool):
        return kind == ("true" if value else "false")
    if isinstance(value, int | float):
        return and_(kind.in_(("integer", "real")), extracted == value)
    return and_(kind == "text", extracted == value)


def conditions(query: str | None, dialect: str) -> list[ColumnElement[bool]]:
    if not query:
        return []
    try:
        parsed = loads(query.encode("utf-8", "surrogatepass"))
    except JsonDocumentError as exc:
        raise _refused("query", f"must be a JSON object ({exc.message})") from None
    if not isinstance(parsed, dict):
        raise _refused("query", "must be a JSON object of field: value equalities")
    found: list[ColumnElement[bool]] = []
    for key, value in parsed.items():
        if isinstance(value, dict | list):
            raise _refused("query", f"{key}: only equality with a string, number, boolean or null is supported")
        if key in ("name", "mimetype"):
            if not isinstance(value, str):
                raise _refused("query", f"{key}: must be a string")
            found.append(col(WorkspaceFile.name if key == "name" else WorkspaceFile.mimetype) == value)
            continue
        head, _, rest = key.partition(".")
        path = rest.split(".") if rest else []
        if head != "metadata" or not path or len(path) > MAX_DEPTH or not all(_KEY.match(p) for p in path):
            raise _refused("query", f"unsupported field {key!r} (name, mimetype or metadata.<key>)")
        found.append(_metadata_condition(path, value, dialect))
    return found
