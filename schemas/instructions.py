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
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.instruction_fields import (
    EmitOptions,
    EmitTarget,
    FetchAuth,
    FetchMethod,
    MultipartPart,
    Number,
    OutputMode,
    QueryValue,
    RepeatBatch,
    StreamOptions,
    Template,
    WaitEntry,
    is_template,
)
from schemas.problems import Finding, Path, findings_of, type_name

MAX_DEPTH = 100  # instruction nesting deeper than this is reported instead of parsed


class Native(BaseModel):
    """An instruction the engine runs itself; ``keyword`` is its DSUL name."""

    # Strict: "3" is no number and "yes" no boolean (a template string says when a value comes later).
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", strict=True)
    keyword: ClassVar[str]
    # Argument keys the instruction does not have: ignored when run, reported by the import (a
    # warning, an error under `strict: true`, like the reference linter's strict mode).
    ignored_keys: tuple[str, ...] = Field((), exclude=True)

    @classmethod
    def dsul_fields(cls) -> tuple[str, ...]:
        return tuple(f.alias or name for name, f in cls.model_fields.items() if name != "ignored_keys")

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        try:
            node = cls.model_validate(argument)
        except ValidationError as error:
            return Invalid(keyword=cls.keyword, findings=tuple(findings_of(error, here)))
        ignored = unknown_fields(argument, cls.dsul_fields())
        return node.model_copy(update={"ignored_keys": ignored}) if ignored else node  # type: ignore[return-value]


def unknown_fields(argument: Any, known: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(k) for k in argument if k not in known) if isinstance(argument, dict) else ()


class Set(Native):
    keyword: ClassVar[str] = "set"
    name: str
    value: Any
    type: Literal["replace", "merge", "push"] | Template | None = None
    interface: str | None = None
    clone: bool | Template | None = None  # values are always copied in Tideway: accepted, no effect


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
    """Stop the nearest loop (``repeat``), the automation (default) or every caller (``all``);
    ``payload`` travels with it (a ``try`` around a caller sees it as ``$error.details``)."""

    keyword: ClassVar[str] = "break"
    scope: Literal["automation", "all", "repeat"] | Template | None = None
    payload: Any = None


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
    """Wait for one of ``oneOf``'s events, or, with only a ``timeout``, sleep (a durable timer)."""

    keyword: ClassVar[str] = "wait"
    one_of: list[WaitEntry] | Template | None = Field(None, alias="oneOf")
    timeout: Number | Template | None = None
    output: Any = None

    @model_validator(mode="after")
    def _events_or_timeout(self) -> Wait:
        if self.one_of is None and self.timeout is None:
            raise ValueError("wait needs oneOf (events to wait for) or a timeout (a sleep), or both")
        return self


class Fetch(Native):
    keyword: ClassVar[str] = "fetch"
    FIELDS: ClassVar[tuple[str, ...]] = ("url", "method", "headers", "query", "body", "multipart", "outputMode",
                                         "emitErrors", "stream", "auth", "allowSelfSignedCert")
    url: str
    method: FetchMethod | Template | None = None
    headers: dict[str, str] | Template | None = None
    query: dict[str, QueryValue] | Template | None = None
    body: Any = None
    multipart: list[MultipartPart] | Template | None = None
    output_mode: OutputMode | Template | None = Field(None, alias="outputMode")
    emit_errors: bool | Template | None = Field(None, alias="emitErrors")
    stream: StreamOptions | Template | None = None
    prismeai_api_key: dict[str, Any] | None = Field(None, alias="prismeaiApiKey")
    auth: FetchAuth | Template | None = None
    allow_self_signed_cert: bool | Template | None = Field(None, alias="allowSelfSignedCert")
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
    batch: RepeatBatch | Template | None = None


class Repeat(Native):
    keyword: ClassVar[str] = "repeat"
    on: Any = None
    has_on: bool = False
    until: Number | Template | None = None
    do: tuple[Instruction, ...] = ()

    @classmethod
    def dsul_fields(cls) -> tuple[str, ...]:
        return tuple(_RepeatFields.model_fields)

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        try:
            fields = _RepeatFields.model_validate(argument)
        except ValidationError as error:
            return Invalid(keyword=cls.keyword, findings=tuple(findings_of(error, here)))
        if "on" not in fields.model_fields_set and "until" not in fields.model_fields_set:
            return Invalid(keyword=cls.keyword, findings=(Finding(path=here, message="needs 'on' or 'until'"),))
        return cls(on=fields.on, has_on="on" in fields.model_fields_set, until=fields.until,
                   do=parse_instructions(fields.do, (*here, "do"), depth + 1),
                   ignored_keys=unknown_fields(argument, tuple(_RepeatFields.model_fields)))


class All(Native):
    keyword: ClassVar[str] = "all"
    branches: tuple[Instruction, ...]

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        if not isinstance(argument, list):
            return Invalid(keyword=cls.keyword, findings=(Finding(
                path=here, message=f"must be a list of instructions, got {type_name(argument)}"),))
        return cls(branches=parse_instructions(argument, here, depth + 1))


class Try(Native):
    """``try: {do, catch?, finally?}``: an error in ``do`` runs ``catch`` with ``$error`` set;
    ``finally`` always runs; an error in ``catch`` or ``finally`` goes on up."""

    keyword: ClassVar[str] = "try"
    do: tuple[Instruction, ...] = ()
    catch: tuple[Instruction, ...] = ()
    final: tuple[Instruction, ...] = ()

    @classmethod
    def dsul_fields(cls) -> tuple[str, ...]:
        return ("do", "catch", "finally")

    @classmethod
    def parse(cls, argument: Any, here: Path, depth: int) -> Instruction:
        if not isinstance(argument, dict):
            return Invalid(keyword=cls.keyword, findings=(Finding(
                path=here, message=f"must be an object {{do, catch?, finally?}}, got {type_name(argument)}"),))
        if "do" not in argument:
            return Invalid(keyword=cls.keyword, findings=(Finding(path=here, message="needs 'do'"),))
        lists = {key: parse_instructions(argument[key], (*here, key), depth + 1)
                 for key in ("do", "catch", "finally") if key in argument}
        return cls(do=lists["do"], catch=lists.get("catch", ()), final=lists.get("finally", ()),
                   ignored_keys=unknown_fields(argument, ("do", "catch", "finally")))


class RateLimit(Native):
    """Take ``consume`` points of the ``limit`` a ``consumer`` has per ``window`` seconds under
    ``name`` (shared by every run of the workspace); answers ``{ok, retryAfter, remaining, limit,
    window, consumer}``."""

    keyword: ClassVar[str] = "rateLimit"
    name: str | Template
    window: Number | Template
    limit: Number | Template
    consumer: str | Number | Template
    consume: Number | Template | None = None
    stop: bool | Template | None = Field(None, alias="break")
    output: str | None = None


class CustomCode(Native):
    """Internal to the built-in Custom Code app (core/apps/builtin.py): run one of the instance's
    ``config.functions``. Workspaces call ``<instance>.run``; the import refuses it elsewhere."""

    keyword: ClassVar[str] = "customCode"
    function: str
    parameters: Any = None
    output: str | None = None


class CreateUserTopic(Native):
    keyword: ClassVar[str] = "createUserTopic"
    topic: str
    user_ids: list[str] | Template | None = Field(None, alias="userIds")


class JoinUserTopic(Native):
    keyword: ClassVar[str] = "joinUserTopic"
    topic: str
    user_ids: list[str] | Template | None = Field(None, alias="userIds")


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


Instruction = (Set | Delete | Comment | Break | Emit | Wait | Fetch | Conditions | Repeat | All | Try | RateLimit
               | CreateUserTopic | JoinUserTopic | CustomCode | Call | Dynamic | Invalid)
NATIVE: dict[str, type[Native]] = {model.keyword: model for model in (
    Set, Delete, Comment, Break, Emit, Wait, Fetch, Conditions, Repeat, All, Try, RateLimit, CreateUserTopic,
    JoinUserTopic, CustomCode)}
INTERNAL = frozenset({CustomCode.keyword})  # only Tideway's built-in apps use these
DYNAMIC_KEYWORDS = frozenset({"set", "delete"})
for _model in (Conditions, Repeat, All, Try):
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
