"""Typed request bodies of the management routes, and one way to read them.

``parse_body`` validates a parsed JSON body against a model in one go: a wrong body is a 400
whose ``details`` list every problem as ``{"path": "body.<field>", "message"}``, raised with the
route's own error class (existing clients match on those names). Types are strict: ``"5"`` is
not a number and ``5`` is not a string.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from schemas.errors import TidewayError, ValidationError

M = TypeVar("M", bound=BaseModel)

SECRET_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
SECRET_DESCRIPTION_MAX = 1000  # characters of a secret's description (docs/decisions.md)
NAME_MAX = 200  # user ids, role and secret names: the columns' width


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


SecretName = Annotated[str, StringConstraints(pattern=SECRET_NAME_PATTERN, min_length=1, max_length=NAME_MAX)]


class SecretSpec(StrictBody):
    value: Any = Field(...)  # any JSON value, null included, but present
    description: Annotated[str, StringConstraints(max_length=SECRET_DESCRIPTION_MAX)] | None = None


class SecretsBody(RootModel[dict[SecretName, SecretSpec]]):
    """``PUT|PATCH …/security/secrets``: ``{name: {value, description?}}``."""

    model_config = ConfigDict(strict=True)


NonEmptyName = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX)]


class ShareTarget(StrictBody):
    id: NonEmptyName


class SharePermissions(StrictBody):
    role: NonEmptyName


class ShareBody(StrictBody):
    """``POST …/permissions``: ``{target: {id}, permissions: {role}}`` (a role per user; the
    reference's per-object ``policies`` are not supported, docs/security.md)."""

    target: ShareTarget
    permissions: SharePermissions


class LoginBody(StrictBody):
    email: str
    password: str


class UserBody(StrictBody):
    """``POST /v2/users``: the types here, the email's form and the password's length in
    ``core.access.identity``."""

    email: str
    password: str
    superadmin: bool = False


LocalizedText = str | dict[str, str]


class PublishBody(StrictBody):
    """``POST /v2/apps``: which fields are needed when is ``core.apps.catalog``' to say."""

    workspaceId: str | None = None
    slug: str | None = None
    name: str | None = None  # the version name
    description: LocalizedText | None = None
    workspaceVersion: str | int | None = None


class EventItem(StrictBody):
    # Trimmed: " workspaces.deleted" is workspaces.deleted (and refused as native, issue 14).
    type: Annotated[str, StringConstraints(strip_whitespace=True)]
    payload: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    options: dict[str, Any] | None = None


class EventsBody(StrictBody):
    """``POST …/events``: ``{events: [{type, payload?, target?, options?}, …]}``, at least one."""

    events: Annotated[list[EventItem], Field(min_length=1)]


def format_loc(loc: tuple[int | str, ...], root: str = "body") -> str:
    text = root
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += " (key)"
        else:
            text += f".{part}"
    return text


# pydantic's words for a wrong type name its classes; the body's author knows JSON types.
_TYPE_MESSAGES = {"missing": "required", "dict_type": "must be an object", "model_type": "must be an object",
                  "model_attributes_type": "must be an object", "string_type": "must be a string",
                  "list_type": "must be a list", "bool_type": "must be a boolean", "int_type": "must be an integer",
                  "float_type": "must be a number"}


def _message(error: Any) -> str:
    return _TYPE_MESSAGES.get(error.get("type"), str(error.get("msg") or "invalid value"))


def problems_of(exc: pydantic.ValidationError, root: str = "body") -> list[dict[str, str]]:
    return [{"path": format_loc(tuple(e.get("loc", ())), root), "message": _message(e)} for e in exc.errors()]


def summary(what: str, problems: list[dict[str, str]]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"Invalid {what}: {first['path']}: {first['message']}{more}"


def parse_body(model: type[M], value: Any, *, what: str, error: type[TidewayError] = ValidationError,
               name: str | None = None) -> M:
    """``value`` as ``model``, or ``error`` (400) listing every problem."""
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        problems = [{"path": "body", "message": f"must be an object, got {kind}"}]
        raise error(summary(what, problems), problems, name=name)
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        problems = problems_of(exc)
        raise error(summary(what, problems), problems, name=name) from None
