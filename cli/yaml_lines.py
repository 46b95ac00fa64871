"""Where a problem is in its file: the line and column of the YAML node an instruction path
points to, for compiler-style output (``automations/hello.yml:12:9: error: do[2].set.name: …``).

A problem's path is ``<file>: <instruction path>`` (``schemas.dsul.WorkspaceSource.locate``), the
instruction path rendered by ``schemas.problems.format_path``: ``do[2].conditions["{{a}} == 1"][0]``.
The file is composed with the import's YAML loader (``DsulLoader``), which keeps each node's
mark; the path is followed as far as the file has it (a missing field points at its parent)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schemas.problems import PathPart
from schemas.yaml_io import DsulLoader

_BARE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_YAML_MARK = re.compile(r"at line (\d+), column (\d+)")


@dataclass(frozen=True)
class Place:
    """A problem's file (relative to the workspace folder), line and column (1-based, None when
    unknown) and instruction path (``""``: the whole file)."""

    file: str
    line: int | None
    column: int | None
    path: str


def split_problem_path(path: str) -> tuple[str, str]:
    """``automations/a.yml: do[0]`` → ``("automations/a.yml", "do[0]")``; a bare file → ``(file, "")``."""
    file, sep, inner = path.partition(": ")
    return (file, inner) if sep else (path, "")


def parse_path(text: str) -> list[PathPart]:
    """The parts of a rendered instruction path; an unreadable tail is left out."""
    parts: list[PathPart] = []
    index = 0
    decoder = json.JSONDecoder()
    try:
        while index < len(text):
            if text[index] == ".":
                index += 1
            elif text.startswith('["', index):
                value, end = decoder.raw_decode(text, index + 1)
                parts.append(value)
                index = end + 1  # the closing bracket
            elif text[index] == "[":
                end = text.index("]", index)
                parts.append(int(text[index + 1:end]))
                index = end + 1
            else:
                match = _BARE_KEY.match(text, index)
                if match is None:
                    break
                parts.append(match.group())
                index = match.end()
    except ValueError:
        pass
    return parts


def compose(text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=DsulLoader)  # noqa: S506 - DsulLoader is a SafeLoader
    except yaml.YAMLError:
        return None


def node_position(root: Node, parts: list[PathPart]) -> tuple[int, int]:
    """1-based (line, column) of the deepest node of ``parts`` found: a mapping entry is placed
    at its key, a list item at the item."""
    node, mark = root, root.start_mark
    for part in parts:
        if isinstance(node, MappingNode):
            entry = next(((key, value) for key, value in node.value
                          if isinstance(key, ScalarNode) and key.value == str(part)), None)
            if entry is None:
                break
            mark, node = entry[0].start_mark, entry[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1


class Locator:
    """Places the problems of one workspace folder, composing each file once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._trees: dict[str, Node | None] = {}

    def tree(self, file: str) -> Node | None:
        if file not in self._trees:
            path = self.folder / file
            try:
                text = path.read_bytes().decode("utf-8-sig") if path.is_file() else None
            except (OSError, UnicodeDecodeError):
                text = None
            self._trees[file] = compose(text) if text is not None else None
        return self._trees[file]

    def place(self, problem_path: str, message: str = "") -> Place:
        file, inner = split_problem_path(problem_path)
        marked = _YAML_MARK.search(message)  # a file that does not parse: the parser's own mark
        if marked:
            return Place(file, int(marked.group(1)), int(marked.group(2)), inner)
        if not (self.folder / file).is_file():
            return Place(file, None, None, inner)
        tree = self.tree(file)
        if tree is None:  # empty file, or JSON/YAML that does not compose
            return Place(file, 1, 1, inner)
        line, column = node_position(tree, parse_path(inner))
        return Place(file, line, column, inner)
