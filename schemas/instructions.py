"""The automation language's instructions as typed models (spec §3): one model per instruction, a
``Call`` for a call to an automation or an app automation, and two nodes for what only run time
can settle (``Dynamic``: a ``set``/``delete`` whose whole argument is a template) or never runs
(``Invalid``: a malformed instruction, reported by the import and raised if run unchecked).

:func:`parse_instruction` turns one DSUL item (``{name: argument}``) into a node and never raises:
imports report the ``Invalid`` nodes' findings, the interpreter executes the nodes with one
``match``. A field that is only known once interpolated accepts a template string
(``{{ }}`` / ``{% %}``) besides its typed value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, ClassVar, Literal, Required

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from schemas.problems import Finding, Path, findings_of, type_name

MAX_DEPTH = 100  # instruction nesting deeper than this is reported instead of parsed


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


class Native(BaseModel):
    """An instruction the engine runs itself; ``keyword`` is its DSUL name."""

    # Strict: "3" is no number and "yes" no boolean (a template string says when a value comes later).
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", strict=True)
    keyword: ClassVar[str]

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        try:
            return cls.model_validate(argument)  # type: ignore[return-value]  # a subclass of Native
        except ValidationError as error:
            return Invalid(keyword=cls.keyword, findings=tuple(findings_of(error, here)))


class Set(Native):
    keyword: ClassVar[str] = "set"
    name: str
    value: Any
    type: Literal["replace", "merge", "push"] | Template | None = None
    interface: str | None = None


class Delete(Native):
    keyword: ClassVar[str] = "delete"
    name: str


class Comment(Native):
    keyword: ClassVar[str] = "comment"
    text: str

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        if not isinstance(argument, str):
            return Invalid(keyword=cls.keyword, findings=(Finding(path=here, message="must be a string"),))
        return cls(text=argument)


class Break(Native):
    keyword: ClassVar[str] = "break"
    scope: Literal["automation", "all"] | Template | None = None


class Emit(Native):
    keyword: ClassVar[str] = "emit"
    event: str
    payload: Any = None
    target: EmitTarget | Template | None = None
    options: EmitOptions | Template | None = None
    private: bool | Template | None = None
    autocomplete: dict[str, dict[str, Any]] | None = None
    output: Any = None


class Wait(Native):
    keyword: ClassVar[str] = "wait"
    one_of: list[WaitEntry] | Template = Field(alias="oneOf")
    timeout: Number | Template | None = None
    output: Any = None


HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _http_method(value: str) -> str:
    if value.lower() not in HTTP_METHODS:
        raise ValueError("get, post, put, patch or delete (any letter case)")
    return value


FetchMethod = Annotated[str, AfterValidator(_http_method)]
QueryValue = str | Number | bool | list[str | Number | bool]


class Fetch(Native):
    keyword: ClassVar[str] = "fetch"
    FIELDS: ClassVar[tuple[str, ...]] = ("url", "method", "headers", "query", "body", "multipart", "outputMode",
                                         "emitErrors", "stream")
    url: str
    method: FetchMethod | Template | None = None
    headers: dict[str, str] | Template | None = None
    query: dict[str, QueryValue] | Template | None = None
    body: Any = None
    multipart: list[MultipartPart] | Template | None = None
    output_mode: Literal["body", "detailed_response", "data_url"] | Template | None = Field(None, alias="outputMode")
    emit_errors: bool | Template | None = Field(None, alias="emitErrors")
    stream: StreamOptions | Template | None = None
    prismeai_api_key: dict[str, Any] | None = Field(None, alias="prismeaiApiKey")
    output: str | None = None

    def request_fields(self) -> dict[str, Any]:
        """The request's fields that were given, under their DSUL names (rendered by the runtime)."""
        return {name: value for name, value in self.model_dump(by_alias=True, exclude_unset=True).items()
                if name in self.FIELDS}


class Conditions(Native):
    """``conditions: {<expression>: [...], default?: [...]}``: the first expression that holds
    runs its branch, else ``default``."""

    keyword: ClassVar[str] = "conditions"
    branches: tuple[tuple[str, tuple[Instruction, ...]], ...]
    default: tuple[Instruction, ...] | None = None

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        if not isinstance(argument, dict):
            return Invalid(keyword=cls.keyword, findings=(Finding(path=here, message="must be an object"),))
        if not argument:
            return Invalid(keyword=cls.keyword, findings=(Finding(
                path=here, message="needs at least one condition (or a default)"),))
        findings: list[Finding] = []
        branches: list[tuple[str, tuple[Instruction, ...]]] = []
        default: tuple[Instruction, ...] | None = None
        for key, branch in argument.items():
            if not isinstance(branch, list):
                findings.append(Finding(path=(*here, key), message=f"must be a list of instructions, got "
                                                                    f"{type_name(branch)}"))
                continue
            parsed = parse_instructions(branch, (*here, key), depth + 1)
            if key == "default":
                default = parsed
            else:
                branches.append((key, parsed))
        if findings:
            return Invalid(keyword=cls.keyword, findings=tuple(findings))
        return cls(branches=tuple(branches), default=default)


class _RepeatFields(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    on: Any = None
    until: Number | Template | None = None
    do: list[Any]


class Repeat(Native):
    keyword: ClassVar[str] = "repeat"
    on: Any = None
    has_on: bool = False
    until: Number | Template | None = None
    do: tuple[Instruction, ...] = ()

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        try:
            fields = _RepeatFields.model_validate(argument)
        except ValidationError as error:
            return Invalid(keyword=cls.keyword, findings=tuple(findings_of(error, here)))
        if "on" not in fields.model_fields_set and "until" not in fields.model_fields_set:
            return Invalid(keyword=cls.keyword, findings=(Finding(path=here, message="needs 'on' or 'until'"),))
        return cls(on=fields.on, has_on="on" in fields.model_fields_set, until=fields.until,
                   do=parse_instructions(fields.do, (*here, "do"), depth + 1))


class All(Native):
    keyword: ClassVar[str] = "all"
    branches: tuple[Instruction, ...]

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        if not isinstance(argument, list):
            return Invalid(keyword=cls.keyword, findings=(Finding(
                path=here, message=f"must be a list of instructions, got {type_name(argument)}"),))
        return cls(branches=parse_instructions(argument, here, depth + 1))


class Call(BaseModel):
    """A call to an automation of the workspace (``slug``) or of an installed app
    (``instance.slug``, nested instances ``a.b.slug``); resolved at import (a warning when it
    does not resolve) and at run time (``ObjectNotFoundError``)."""

    model_config = ConfigDict(frozen=True)
    name: str
    arguments: dict[str, Any] | str  # an object, or a template producing one
    output: Any = None


class Dynamic(BaseModel):
    """A ``set`` or ``delete`` whose whole argument is a template: parsed once interpolated, its
    fields then taken literally (what a template produced is never interpolated again)."""

    model_config = ConfigDict(frozen=True)
    keyword: Literal["set", "delete"]
    template: str


class Invalid(BaseModel):
    """A malformed instruction: reported by the import, raised as ``InvalidInstructionError`` if a
    definition that was never checked runs it."""

    model_config = ConfigDict(frozen=True)
    keyword: str | None = None
    findings: tuple[Finding, ...]

    @property
    def message(self) -> str:
        first = self.findings[0]
        return first.message


Instruction = Set | Delete | Comment | Break | Emit | Wait | Fetch | Conditions | Repeat | All | Call | Dynamic | Invalid
NATIVE: dict[str, type[Native]] = {model.keyword: model for model in (
    Set, Delete, Comment, Break, Emit, Wait, Fetch, Conditions, Repeat, All)}
DYNAMIC_KEYWORDS = frozenset({"set", "delete"})
for _model in (Conditions, Repeat, All):
    _model.model_rebuild()


def parse_instruction(item: Any, path: Path = (), depth: int = 0) -> Instruction:
    """One DSUL item as a node (never raises: a malformed item is an ``Invalid`` node)."""
    if depth > MAX_DEPTH:
        return Invalid(findings=(Finding(path=path, message=f"instructions nested deeper than {MAX_DEPTH} levels"),))
    if not isinstance(item, dict):
        return Invalid(findings=(Finding(
            path=path, message=f"unknown instruction: expected an object with one key, got {type_name(item)}"),))
    if len(item) != 1:
        keys = ", ".join(json.dumps(k, ensure_ascii=False) for k in item) or "none"
        return Invalid(findings=(Finding(
            path=path, message=f"unknown instruction: an instruction has exactly one key, got {len(item)} ({keys})"),))
    keyword, argument = next(iter(item.items()))
    here = (*path, keyword)
    if argument is None:
        return Invalid(keyword=keyword, findings=(Finding(
            path=here, message=f"InvalidInstructionError: instruction '{keyword}' has a null value "
                               "(write {} for no arguments)"),))
    model = NATIVE.get(keyword)
    if model is None:
        if isinstance(argument, dict):
            return Call(name=keyword, arguments=argument, **({"output": argument["output"]} if "output" in argument
                                                             else {}))
        if is_template(argument):
            return Call(name=keyword, arguments=argument)
        return Invalid(keyword=keyword, findings=(Finding(
            path=here, message=f"arguments of the call to automation '{keyword}' must be an object, got "
                               f"{type_name(argument)}"),))
    if keyword in DYNAMIC_KEYWORDS and is_template(argument):
        return Dynamic(keyword=keyword, template=argument)
    return model.parse(argument, here, depth)


def parse_instructions(items: Any, path: Path = (), depth: int = 0) -> tuple[Instruction, ...]:
    if not isinstance(items, list):
        return (Invalid(findings=(Finding(
            path=path, message=f"expected a list of instructions, got {type_name(items)}"),)),)
    return tuple(parse_instruction(item, (*path, index), depth) for index, item in enumerate(items))


def walk(instructions: Sequence[Instruction], path: Path) -> Iterator[tuple[Path, Instruction]]:
    """Every node with its path, nested lists included (``do[2].conditions["{{a}}"][0]``)."""
    for index, node in enumerate(instructions):
        here = (*path, index)
        yield here, node
        match node:
            case Conditions(branches=branches, default=default):
                for key, branch in branches:
                    yield from walk(branch, (*here, "conditions", key))
                if default is not None:
                    yield from walk(default, (*here, "conditions", "default"))
            case Repeat(do=body):
                yield from walk(body, (*here, "repeat", "do"))
            case All(branches=branches):
                yield from walk(branches, (*here, "all"))
            case _:
                pass


def findings(instructions: Sequence[Instruction]) -> list[Finding]:
    """What the import reports about a list of instructions: the ``Invalid`` nodes' findings."""
    return [finding for _, node in walk(instructions, ()) if isinstance(node, Invalid) for finding in node.findings]
