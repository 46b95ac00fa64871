"""YAML reading and writing of DSUL files (PyYAML safe loader/dumper only).

Reading differs from plain ``yaml.safe_load`` in three ways, all to match the JSON data model
and the reference platform (js-yaml, YAML 1.2 booleans):

* only ``true``/``false`` (any of the three YAML 1.2 casings) are booleans, so ``on:``, ``yes``,
  ``no``, ``off`` stay strings (``repeat: {on: …}`` works unquoted);
* timestamps stay strings (``createdAt: 2024-01-01T00:00:00Z``);
* mapping keys are always strings (``1:`` → ``"1"``, ``null:`` → ``"null"``); other non-JSON
  values (``!!binary``, ``!!set``) and alias bombs are refused.

And it refuses what the strict JSON reader refuses (schemas/strict_json.py, docs/decisions.md),
naming the line: a key twice in one mapping (``1:`` and ``"1":`` are the same key), ``.nan`` and
``.inf``, lone surrogate escapes (``"\ud800"``; a valid pair is joined into its character), NUL
characters (``"\0"``), integers too long to convert, nesting deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from schemas.strict_json import MAX_DEPTH

MAX_NODES = 2_000_000
_MERGE_TAG = "tag:yaml.org,2002:merge"

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class YamlDocumentError(ValueError):
    """A file that cannot be read; the message names the line and column when known."""


class DsulLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans and string timestamps, refusing duplicate keys
    and values JSON cannot carry (see the module docstring)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_lines: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *base` merges are overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                name = _key(key)
            except YamlDocumentError:
                continue  # an unsupported key: the normalizer names it
            line = key_node.start_mark.line + 1
            if name in first_lines:
                raise ConstructorError(None, None, f"duplicate key '{name}' (first at line {first_lines[name]})",
                                       key_node.start_mark)
            first_lines[name] = line
        return super().construct_mapping(node, deep=deep)

    def construct_dsul_str(self, node: ScalarNode) -> str:
        value = self.construct_scalar(node)
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            try:  # escapes of a surrogate pair are one character; a lone one is not Unicode
                value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            except UnicodeDecodeError:
                raise ConstructorError(None, None, "lone UTF-16 surrogate escape in a string: not valid "
                                       "Unicode", node.start_mark) from None
        if "\x00" in value:
            raise ConstructorError(None, None, "NUL character in a string", node.start_mark)
        return value

    def construct_dsul_float(self, node: Node) -> float:
        value = super().construct_yaml_float(node)  # type: ignore[arg-type]
        if not math.isfinite(value):
            raise ConstructorError(None, None, f"'{node.value}': NaN and infinite numbers are not JSON numbers",
                                   node.start_mark)
        return value

    def construct_dsul_int(self, node: Node) -> int:
        try:
            return super().construct_yaml_int(node)  # type: ignore[arg-type, no-any-return]
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise ConstructorError(None, None, "integer too long", node.start_mark) from None


DsulLoader.add_constructor("tag:yaml.org,2002:str", DsulLoader.construct_dsul_str)
DsulLoader.add_constructor("tag:yaml.org,2002:float", DsulLoader.construct_dsul_float)
DsulLoader.add_constructor("tag:yaml.org,2002:int", DsulLoader.construct_dsul_int)


DsulLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
DsulLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    raise YamlDocumentError(f"unsupported mapping key of type {type(key).__name__}")


class _Normalizer:
    def __init__(self) -> None:
        self.nodes = 0

    def __call__(self, value: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlDocumentError(
                f"document too large: more than {MAX_NODES} values (alias expansion?)"
            )
        if depth >= MAX_DEPTH and isinstance(value, dict | list):
            raise YamlDocumentError(
                f"document nested deeper than {MAX_DEPTH} levels (or recursive alias)"
            )
        if isinstance(value, dict):
            return {_key(k): self(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, depth + 1) for v in value]
        if value is None or isinstance(value, str | bool | int | float):
            return value
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        raise YamlDocumentError(f"unsupported YAML value of type {type(value).__name__}")


def load_yaml(text: str) -> Any:
    """Parse one YAML document into JSON-compatible data; ``YamlDocumentError`` on failure,
    with ``line L, column C`` (1-based) taken from the YAML error mark."""
    try:
        data = yaml.load(text, Loader=DsulLoader)  # noqa: S506 - DsulLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
        raise YamlDocumentError(f"invalid YAML{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise YamlDocumentError(f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise YamlDocumentError("invalid YAML: nested too deeply") from exc
    try:
        return _Normalizer()(data)
    except RecursionError:  # a recursive alias or absurd nesting: a clear 400, never a 500
        raise YamlDocumentError(f"document nested deeper than {MAX_DEPTH} levels (or recursive alias)") from None


def dump_yaml(value: Any) -> str:
    """Serialize one file: block style, keys in their order, unicode kept. PyYAML writes a few
    characters (NEL, U+2028/9, …) raw that its reader then folds as line breaks; when the text does
    not read back to ``value``, it is written again with non-ASCII characters escaped."""
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)
    try:
        if load_yaml(text) == value:
            return text
    except YamlDocumentError:
        pass
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=False, default_flow_style=False)
