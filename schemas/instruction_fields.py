"""The typed fields of instructions (schemas/instructions.py): templates, numbers, and the
object shapes instruction arguments take (emit targets, wait entries, fetch options)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Required

from pydantic import AfterValidator, BeforeValidator, ConfigDict
from typing_extensions import TypedDict


def is_template(value: Any) -> bool:
    """A string holding ``{{ }}`` or ``{% %}``: its value (and type) is only known at run time."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _template(value: Any) -> str:
    if not is_template(value):
        raise ValueError("a template ({{ }} or {% %})")
    return str(value)


Template = Annotated[str, BeforeValidator(_template)]
Number = int | float


class EmitTarget(TypedDict, total=False):
    userTopic: str
    userId: str
    sessionId: str
    currentSocket: bool | Template


class EmitOptions(TypedDict, total=False):
    persist: bool | Template


class WaitEntry(TypedDict, total=False):
    event: Required[str]
    filters: dict[str, str] | Template
    cancelTriggers: bool | Template


class MultipartPart(TypedDict, total=False):
    fieldname: Required[str]
    value: Required[str]
    filename: str
    contentType: str


class Concatenation(TypedDict, total=False):
    path: str
    throttle: Number | Template


class StreamOptions(TypedDict, total=False):
    event: Required[str]
    concatenate: bool | Concatenation | Template
    payload: dict[str, Any] | Template
    target: EmitTarget | Template
    options: EmitOptions | Template


HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _http_method(value: str) -> str:
    if value.lower() not in HTTP_METHODS:
        raise ValueError("get, post, put, patch or delete (any letter case)")
    return value


FetchMethod = Annotated[str, AfterValidator(_http_method)]
QueryValue = str | Number | bool | list[str | Number | bool]
OutputMode = Literal["body", "detailed_response", "data_url", "base64"]


class BasicAuth(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    username: str | Template
    password: str | Template


class AwsV4Auth(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    accessKeyId: Required[str]
    secretAccessKey: Required[str]
    service: Required[str]
    region: Required[str]
    sessionToken: str


class PrismeaiAuth(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    forwardWorkspaceAuth: bool | Template


class FetchAuth(TypedDict, total=False):
    """One of ``basic``, ``awsv4``, ``prismeai``; another key is an import error (an unknown kind
    would otherwise send the request unauthenticated)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    basic: BasicAuth | Template
    awsv4: AwsV4Auth | Template
    prismeai: PrismeaiAuth | Template


class RepeatBatch(TypedDict, total=False):
    """``repeat.batch``: iterations run ``size`` at a time, ``interval`` ms apart (accepted; Tideway
    runs iterations one after the other)."""

    size: Number | Template
    interval: Number | Template

