"""``tideway validate``'s line finding (issue 21): the line and column of the YAML node an
instruction path points to, the path format of schemas/problems.py read back, and the files
the import could not read placed by the parser's own mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.yaml_lines import Locator, Place, compose, node_position, parse_path, split_problem_path
from schemas.problems import format_path

AUTOMATION = """\
name: a
when:
  endpoint: true
do:
  - set:
      name: x
      value: 1
  - conditions:
      '{{x}} == 1':
        - emit: {event: e, payloud: 2}
      default: []
  - "weird.key": {}
output: '{{x}}'
"""


@pytest.mark.parametrize("parts", [
    ["do", 2, "conditions", "{{a}} == 1", 0], ["when", "endpoint"], ["a.b", 0, 'quote " and ]', "x-y", "$v"], [],
    ["do", 10, "repeat", "do", 0],
])
def test_paths_read_back(parts: list[str | int]) -> None:
    assert parse_path(format_path(parts)) == parts


def test_problem_paths_split_into_file_and_instruction_path() -> None:
    assert split_problem_path("automations/a b.yml: do[0].set") == ("automations/a b.yml", "do[0].set")
    assert split_problem_path("index.yml") == ("index.yml", "")


@pytest.mark.parametrize(("path", "place"), [
    ("name", (1, 1)),
    ("when.endpoint", (3, 3)),
    ("do[0].set.value", (7, 7)),
    ('do[1].conditions["{{x}} == 1"][0].emit.payloud', (10, 28)),
    ('do[1].conditions["{{x}} == 1"]', (9, 7)),
    ('do[2]["weird.key"]', (12, 5)),
    ("do[0].set.missing", (5, 5)),  # a missing field: its parent
    ("do[9]", (4, 1)),  # past the end of the list: the list's key
    ("output", (13, 1)),
    ("", (1, 1)),
])
def test_the_node_of_an_instruction_path(path: str, place: tuple[int, int]) -> None:
    root = compose(AUTOMATION)
    assert root is not None
    assert node_position(root, parse_path(path)) == place


def test_the_locator_places_problems_in_their_files(tmp_path: Path) -> None:
    (tmp_path / "automations").mkdir()
    (tmp_path / "automations/a.yml").write_text(AUTOMATION)
    (tmp_path / "imports.json").write_text('{\n  "config": {\n    "lang": 3\n  }\n}\n')
    (tmp_path / "index.yml").write_text("name: [unclosed\n")
    locator = Locator(tmp_path)
    assert locator.place("automations/a.yml: do[0].set.value") == Place("automations/a.yml", 7, 7, "do[0].set.value")
    assert locator.place("imports.json: config.lang") == Place("imports.json", 3, 5, "config.lang")
    # A file the import could not read: the line and column its message names.
    message = "invalid YAML at line 2, column 1: while parsing a flow sequence expected ',' or ']'"
    assert locator.place("index.yml", message) == Place("index.yml", 2, 1, "")
    assert locator.place("index.yml: name") == Place("index.yml", 1, 1, "name")  # does not compose: the top
    assert locator.place("security.yml: authorizations") == Place("security.yml", None, None, "authorizations")
