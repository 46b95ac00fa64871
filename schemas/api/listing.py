"""The query of ``GET /v2/workspaces`` (the reference's parameters: ``search``, ``name``, ``slug``,
``labels``, ``ids``, ``page``, ``limit``, ``sort``), read once from the query string."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from schemas.errors import InvalidArgumentsError

SORTABLE = ("name", "slug", "createdAt", "updatedAt")
DEFAULT_PAGE_SIZE = 50  # when `page` is given without `limit`
MAX_PAGE_SIZE = 500
MAX_PAGE = 100_000  # a page number past any real listing: page × limit stays a database integer


def _words(value: Any) -> str:
    if isinstance(value, dict):  # a localized text
        return " ".join(str(v) for v in value.values())
    return str(value) if value is not None else ""


class WorkspaceQuery(BaseModel):
    search: str | None = Field(None, description="words found in the name, slug or description (case-insensitive)")
    name: str | None = None
    slug: str | None = None
    labels: list[str] | None = Field(None, description="comma-separated: workspaces with every one of them")
    ids: list[str] | None = Field(None, description="comma-separated workspace ids")
    page: int | None = Field(None, description="from 0; pages of `limit` (50 when only `page` is given)")
    limit: int | None = Field(None, description=f"1–{MAX_PAGE_SIZE}; every matching workspace when absent")
    sort: str = Field("createdAt", description=f"one of {', '.join(SORTABLE)}, `-` in front for descending")

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> WorkspaceQuery:
        """Every problem of the query string at once, as a 400 naming the parameters."""
        problems: list[dict[str, str]] = []
        found: dict[str, Any] = {}
        for key in ("search", "name", "slug"):
            if params.get(key):
                found[key] = params[key]
        for key in ("labels", "ids"):
            if params.get(key):
                found[key] = [part.strip() for part in params[key].split(",") if part.strip()]
        for key, low, high in (("page", 0, MAX_PAGE), ("limit", 1, MAX_PAGE_SIZE)):
            raw = params.get(key)
            if raw is None or raw == "":
                continue
            try:
                number = int(raw)
            except ValueError:
                problems.append({"path": f"query.{key}", "message": f"must be an integer, got {raw!r}"})
                continue
            if not low <= number <= high:
                problems.append({"path": f"query.{key}", "message": f"must be between {low} and {high}"})
                continue
            found[key] = number
        sort = params.get("sort") or "createdAt"
        if sort.lstrip("-") not in SORTABLE:
            problems.append({"path": "query.sort", "message": f"must be one of {', '.join(SORTABLE)} "
                                                              f"(with '-' for descending), got {sort!r}"})
        found["sort"] = sort
        if problems:
            raise InvalidArgumentsError("Invalid workspace listing: " + "; ".join(
                f"{p['path']} {p['message']}" for p in problems), problems)
        return cls(**found)

    def matches(self, workspace: Mapping[str, Any]) -> bool:
        if self.labels and not set(self.labels) <= set(workspace.get("labels") or []):
            return False
        if self.search:
            text = " ".join(_words(workspace.get(k)) for k in ("name", "slug", "description")).lower()
            return all(word in text for word in self.search.lower().split())
        return True

    def page_of(self, workspaces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        field = self.sort.lstrip("-")
        ordered = sorted(workspaces, key=lambda w: _words(w.get(field)).lower(), reverse=self.sort.startswith("-"))
        if self.limit is None and self.page is None:
            return ordered
        size = self.limit or DEFAULT_PAGE_SIZE
        start = (self.page or 0) * size
        return ordered[start:start + size]
