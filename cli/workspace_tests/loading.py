"""Reading ``tests/*.yml`` into :class:`TestFile` models, every problem of every file at once.

A problem names its file, its line, its case and the field (``tests/cart.yml:14: case 'adds an
item' (cases[2]): expect.http.status: Input should be a valid integer``). Lines come from the YAML
node tree (the same parse, which keeps marks): a pydantic location is mapped to the line of the
deepest node it reaches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from cli.workspace_tests.format import Case, FetchMock, TestFile, case_problems, fetch_mock_problems
from schemas.yaml_io import DsulLoader, YamlDocumentError

Loc = tuple[str | int, ...]
EXTENSIONS = (".yml", ".yaml")


@dataclass(frozen=True)
class FormatProblem:
    file: str
    line: int | None
    case: str | None  # "'name' (cases[2])"
    field: str  # "expect.http.status", "" for the file or case itself
    message: str
    loc_case: int | None = None  # the index of the case, when the problem is inside one

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.case:
            parts.append(f"case {self.case}")
        if self.field:
            parts.append(self.field)
        return ": ".join(parts) + f": {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "case": self.case, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    label: str  # the path as shown (relative to the workspace folder's parent)
    tests: TestFile


class TestFilesError(Exception):
    __test__ = False

    def __init__(self, problems: list[FormatProblem]):
        super().__init__(f"{len(problems)} problem(s) in test files")
        self.problems = problems


try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML without libyaml: the pure-Python parser
    MarkedLoader: type[DsulLoader] = DsulLoader
else:
    class _CMarkedLoader(CParser, DsulLoader):  # type: ignore[misc]
        """``DsulLoader``'s reading rules (YAML 1.2 booleans, string timestamps, no duplicate
        keys) over libyaml's parser: test files with thousands of cases load in a blink."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    MarkedLoader = _CMarkedLoader


def read_yaml(text: str) -> tuple[Any, dict[Loc, int]]:
    """The document's data and the line of each of its nodes, from one parse."""
    loader = MarkedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
        raise YamlDocumentError(f"invalid YAML{where}: {problem}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlDocumentError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return json_keys(data), line_map(node)


def json_keys(value: Any) -> Any:
    """Mapping keys as JSON has them (``1:`` is ``"1"``, ``true:`` is ``"true"``)."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else json.dumps(k)): json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_keys(v) for v in value]
    return value


def line_map(root: Node | None) -> dict[Loc, int]:
    """Line (1-based) of every mapping key and sequence item, by its location in the document."""
    lines: dict[Loc, int] = {}

    def walk(node: Node, loc: Loc) -> None:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    child = (*loc, str(key.value))
                    lines[child] = key.start_mark.line + 1
                    walk(value, child)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                child = (*loc, index)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        found = lines.get(loc[:end])
        if found is not None:
            return found
    return None


def describe(loc: Loc, data: Any) -> tuple[str | None, str]:
    """(the case, the field) of a location: ``("'adds' (cases[2])", "expect.http.status")``."""
    if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        cases = data.get("cases") if isinstance(data, dict) else None
        item = cases[loc[1]] if isinstance(cases, list) and loc[1] < len(cases) else None
        name = item.get("name") if isinstance(item, dict) else None
        label = f"{name!r} (cases[{loc[1]}])" if isinstance(name, str) else f"cases[{loc[1]}]"
        return label, field_path(loc[2:])
    return None, field_path(loc)


def field_path(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def parse_file(path: Path, label: str) -> tuple[TestFile | None, list[FormatProblem]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [FormatProblem(label, None, None, "", f"cannot be read: {exc}")]
    try:
        data, lines = read_yaml(text)
    except YamlDocumentError as exc:
        return None, [FormatProblem(label, None, None, "", str(exc))]
    if not isinstance(data, dict):
        return None, [FormatProblem(label, 1, None, "", "a test file is a mapping with `cases:` (a list of cases)")]
    problems: list[FormatProblem] = []
    tests: TestFile | None = None
    try:
        tests = TestFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            where, field = describe(loc, data)
            index = loc[1] if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int) else None
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(FormatProblem(label, line_of(lines, loc), where, field, message, index))
    # The checks across fields, for every case that is well formed by itself (so one broken case
    # does not hide the problems of the others).
    broken = {p.loc_case for p in problems if p.loc_case is not None}
    raw_cases: list[Any] = data["cases"] if isinstance(data.get("cases"), list) else []
    found: list[tuple[Loc, str]] = []
    for index, case in checkable_cases(tests, raw_cases, broken):
        found += [(("cases", index, *inner), message) for inner, message in case_problems(case)]
    for index in sorted(broken):  # a broken case's well-formed fetch mocks are still checked
        found += [(("cases", index, "mocks", "fetch", n, *inner), message)
                  for n, mock in well_formed_mocks(raw_cases[index]) for inner, message in fetch_mock_problems(mock)]
    for loc, message in found:
        case_label, field = describe(loc, data)
        problems.append(FormatProblem(label, line_of(lines, loc), case_label, field, message))
    if tests is not None:
        for index, mock in enumerate(tests.mocks.fetch):
            for inner, message in fetch_mock_problems(mock):
                loc = ("mocks", "fetch", index, *inner)
                problems.append(FormatProblem(label, line_of(lines, loc), None, field_path(loc), message))
    problems += duplicate_names(label, raw_cases, lines)
    problems.sort(key=lambda p: p.line or 0)
    return (tests if not problems else None), problems


def checkable_cases(tests: TestFile | None, raw_cases: list[Any], broken: set[int]) -> list[tuple[int, Case]]:
    """The cases that are well formed by themselves, with their index."""
    if tests is not None:
        return list(enumerate(tests.cases))
    found = []
    for index, raw in enumerate(raw_cases):
        if index in broken or not isinstance(raw, dict):
            continue
        try:
            found.append((index, Case.model_validate(raw)))
        except ValidationError:
            continue
    return found


def well_formed_mocks(raw_case: Any) -> list[tuple[int, FetchMock]]:
    mocks = raw_case.get("mocks") if isinstance(raw_case, dict) else None
    raw_mocks = mocks.get("fetch") if isinstance(mocks, dict) else None
    found = []
    for index, raw in enumerate(raw_mocks if isinstance(raw_mocks, list) else []):
        try:
            found.append((index, FetchMock.model_validate(raw)))
        except ValidationError:
            continue
    return found


def duplicate_names(label: str, cases: list[Any], lines: dict[Loc, int]) -> list[FormatProblem]:
    seen: dict[str, int] = {}
    problems = []
    for index, case in enumerate(cases):
        name = case.get("name") if isinstance(case, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(FormatProblem(label, line_of(lines, ("cases", index, "name")), f"{name!r} (cases[{index}])",
                                          "name", f"another case of this file has this name (cases[{seen[name]}])"))
        seen.setdefault(name, index)
    return problems


def find_test_files(folder: Path) -> list[Path]:
    tests = folder / "tests"
    if not tests.is_dir():
        return []
    return sorted(p for p in tests.rglob("*") if p.is_file() and p.name.endswith(EXTENSIONS)
                  and not any(part.startswith(".") for part in p.relative_to(tests).parts))


def load_test_files(folder: Path) -> list[LoadedFile]:
    """Every test file of ``folder/tests``; raises TestFilesError with all their problems."""
    loaded: list[LoadedFile] = []
    problems: list[FormatProblem] = []
    for path in find_test_files(folder):
        label = path.relative_to(folder).as_posix()
        tests, found = parse_file(path, label)
        problems += found
        if tests is not None:
            loaded.append(LoadedFile(path, label, tests))
    if problems:
        raise TestFilesError(problems)
    return loaded
