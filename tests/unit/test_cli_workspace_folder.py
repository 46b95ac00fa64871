"""The workspace folder of ``tideway push|pull|diff`` without a server (issue 21): what is zipped,
what a pull writes, keeps and removes, and what a push would change."""

from __future__ import annotations

from pathlib import Path

from cli.workspace_diff import compare, counts, summary
from cli.workspace_folder import read_workspace, render, workspace_files, write_workspace
from core.access.permissions.defaults import initial_security
from schemas.dsul import WorkspaceSource
from schemas.yaml_io import load_yaml


def files(folder: Path, content: dict[str, str]) -> Path:
    for name, text in content.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_tests_apps_and_hidden_files_are_never_zipped(tmp_path: Path) -> None:
    files(tmp_path, {"index.yml": "name: a\n", "automations/x.yml": "do: []\n", "tests/x.yml": "do: []\n",
                     "apps/app/automations/y.yml": "do: []\n", ".git/config": "x", "automations/.x.yml.swp": "x",
                     "README.md": "hi"})
    assert [p.as_posix() for p in workspace_files(tmp_path)] == ["README.md", "automations/x.yml", "index.yml"]
    assert list(read_workspace(tmp_path).automations) == ["x"]


def test_a_pull_keeps_what_is_right_and_writes_what_is_not(tmp_path: Path) -> None:
    folder = files(tmp_path / "ws", {
        "index.yml": "# mine\nname: Hello\nslug: hello\n",
        "automations/same.yml": "name: same\ndo: [{set: {name: a, value: 1}}]  # flow style\n",
        "automations/changed.json": '{"name": "changed", "do": []}',
        "automations/gone/deep.yml": "name: gone\ndo: []\n",
        "automations/twice.yml": "name: twice\ndo: []\n", "automations/twice.yaml": "name: twice\ndo: []\n",
        "pages/gone.yml": "name: gone\n", "tests/keep.yml": "cases: []\n", "apps/app/index.yml": "name: app\n",
        "notes.txt": "mine",
    })
    source = WorkspaceSource(
        index={"name": "Hello", "slug": "hello"}, security=initial_security(),
        automations={"same": {"name": "same", "do": [{"set": {"name": "a", "value": 1}}], "slug": "same"},
                     "changed": {"name": "changed", "do": [], "description": "new"},
                     "twice": {"name": "twice", "do": []},
                     "added": {"name": "added", "do": [], "output": "line 1\nline 2\n", "slug": "added"}},
        imports={"tools": {"appSlug": "Custom Code", "slug": "tools"}})
    ticks: list[None] = []
    result = write_workspace(source, folder, lambda: ticks.append(None))
    assert sorted(result.written) == ["automations/added.yml", "automations/changed.json", "imports/tools.yml"]
    assert sorted(result.removed) == ["automations/gone/deep.yml", "automations/twice.yaml", "pages/gone.yml"]
    assert sorted(result.unchanged) == ["automations/same.yml", "automations/twice.yml", "index.yml"]
    assert len(ticks) == 6
    assert (folder / "index.yml").read_text().startswith("# mine")  # equal content: the bytes are kept
    assert (folder / "automations/changed.json").read_text().startswith('{\n  "name": "changed"')
    # The file name is the slug: the server's copy of it is not written; text keeps its lines.
    assert (folder / "automations/added.yml").read_text() == (
        "name: added\ndo: []\noutput: |\n  line 1\n  line 2\n")
    assert not (folder / "automations/gone").exists() and not (folder / "pages").exists()
    assert not (folder / "security.yml").exists()  # the initial security: none in the folder, as before
    for kept in ("tests/keep.yml", "apps/app/index.yml", "notes.txt"):
        assert (folder / kept).exists()
    assert write_workspace(source, folder).written == []  # a second pull writes nothing


def test_rendered_files_read_back_the_same() -> None:
    for value in ({"a": "é ✓", "b": [1, {"c": None}], "on": "yes", "t": "  lead\n\ttab\n", "n": "\u2028x"},
                  {"code": "return 1;\n", "list": [[1, 2], []], "k": "x: y", "e": ""}):
        assert load_yaml(render(value, ".yml")) == value


def test_what_a_push_would_change() -> None:
    remote = WorkspaceSource(index={"name": "A", "slug": "a"}, security=initial_security(),
                             automations={"kept": {"do": [], "slug": "kept"}, "edited": {"do": []},
                                          "gone": {"do": []}}, pages={"home": {"name": "Home"}})
    local = WorkspaceSource(index={"name": "A"}, automations={"kept": {"do": []}, "edited": {"do": [], "x": 1},
                                                             "new": {"do": []}},
                            paths={"automations/new": "automations/new.yaml"})
    changes = compare(local, remote)
    assert changes.to_json() == {
        "create": False, "prune": True, "count": 4, "index": False, "security": False,
        "automations": {"added": ["new"], "changed": ["edited"], "removed": ["gone"], "kept": []},
        "imports": {"added": [], "changed": [], "removed": [], "kept": []},
        "pages": {"added": [], "changed": [], "removed": ["home"], "kept": []}}
    assert [text for text, _ in summary(changes, local)] == [
        "+ automations/new.yaml", "~ automations/edited.yml", "- automations/gone.yml", "- pages/home.yml"]
    kept = compare(local, remote, prune=False)
    assert kept.count == 2 and kept.sections["pages"].kept == ["home"] and counts(kept) == "1 added, 1 changed, 0 removed"
    local.security = {"authorizations": {"roles": {}}}
    local.index = {"name": "B"}
    assert compare(local, remote).index and compare(local, remote).security
    created = compare(local, None)
    assert created.create and counts(created) == "5 added, 0 changed, 0 removed"
