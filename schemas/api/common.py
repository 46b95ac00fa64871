"""Pieces every resource's models share: the error body, a problem, base classes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

LocalizedText = str | dict[str, str]
"""A text, or its translations ``{lang: text}``."""


class Closed(BaseModel):
    """A response whose fields are all listed: a field a service adds without declaring it here
    fails the response's validation (caught by the tests) rather than leaking unannounced."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """An object that carries definition (DSUL) fields beyond the ones listed, kept as they are."""

    model_config = ConfigDict(extra="allow")


class Problem(Closed):
    """One problem of a request, named by where it is."""

    path: str = Field(description="where: `body.<field>`, a file and instruction path, a query parameter")
    message: str

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"path": "automations/hello.yml: do[2].conditions", "message": "must be an object"}]})


class ErrorBody(Closed):
    """Every error: a name clients can match on, a message naming what was wrong and where, and
    (often) details: the list of problems of an invalid body, or the values involved."""

    error: str = Field(description="the error's name, e.g. `ObjectNotFoundError`, `ForbiddenError`")
    message: str
    details: Any = None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": "InvalidWorkspaceError", "message": "Invalid automation: body.do: required",
         "details": [{"path": "body.do", "message": "required"}]},
        {"error": "ForbiddenError", "message": "Not allowed to update workspaces of workspace 'w1'",
         "details": {"action": "update", "subject": "workspaces", "workspaceId": "w1"}}]})


class Removed(Closed):
    """What a delete answers: the id of what is gone."""

    id: str


def warnings_field() -> Any:
    return Field(default_factory=list, description="problems that did not stop the write "
                                                   "(e.g. a deprecated form); empty when there are none")
