"""Zip / single-document import parsing and zip export."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.archive import export_archive, parse_archive, parse_document, parse_import
from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidWorkspaceError
from schemas.validation import validate_workspace
from schemas.yaml_io import dump_yaml, load_yaml

HELLO = """\
name: Hello
when:
  endpoint: true
do:
  - set:
      name: greeting
      value: "Hello {{body.name}}"
  - repeat:
      on: '{{items}}'
      do: []
output: '{{greeting}}'
"""


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def error_of(fn: Any, *args: Any, **kwargs: Any) -> InvalidWorkspaceError:
    with pytest.raises(InvalidWorkspaceError) as info:
        fn(*args, **kwargs)
    return info.value


def sample() -> WorkspaceSource:
    return WorkspaceSource(
        index={"name": "Demo", "slug": "demo", "config": {"value": {"on": "yes", "n": 1}}},
        automations={
            "hello": load_yaml(HELLO),
            "Other one": {"name": {"fr": "Autre", "en": "Other"}, "do": [{"hello": {}}]},
        },
        imports={"Custom Code": {"appSlug": "Custom Code", "config": {"x": None}}},
        security={"authorizations": {"roles": {"editor": {}}}},
        pages={"home": {"name": "Home", "blocks": []}},
    )


def test_parse_root_layout() -> None:
    data = make_zip(
        {
            "index.yml": "name: Demo\nslug: demo\n",
            "automations/hello.yml": HELLO,
            "automations/__index__.yml": "hello: {}\n",
            "automations/json-one.json": json.dumps({"name": "j", "do": []}),
            "imports/app.yaml": "appSlug: app\n",
            "security.yml": "authorizations: {rules: []}\n",
            "pages/home.yml": "name: Home\n",
            "README.md": "ignored",
            "runtime.yml": "ignored: true\n",
            ".hidden/x.yml": "ignored",
            "__MACOSX/automations/._hello.yml": "junk",
        }
    )
    source = parse_archive(data)
    assert source.index == {"name": "Demo", "slug": "demo"}
    assert sorted(source.automations) == ["hello", "json-one"]
    assert (
        source.automations["hello"]["do"][1]["repeat"]["on"] == "{{items}}"
    )  # `on` stays a string
    assert source.automations["hello"]["when"] == {"endpoint": True}
    assert source.imports == {"app": {"appSlug": "app"}}
    assert source.security == {"authorizations": {"rules": []}}
    assert source.pages == {"home": {"name": "Home"}}
    validate_workspace(source)


def test_parse_under_one_top_folder() -> None:
    data = make_zip({"my-ws/index.yml": "name: Demo\n", "my-ws/automations/hello.yml": HELLO})
    source = parse_archive(data)
    assert list(source.automations) == ["hello"]
    assert source.locate("automations", "hello", ["do", 0]) == "automations/hello.yml: do[0]"


def test_single_section_folder_is_not_stripped() -> None:
    source = parse_archive(make_zip({"automations/hello.yml": HELLO}))
    assert list(source.automations) == ["hello"] and source.index == {}


def test_malformed_yaml_names_file_and_line() -> None:
    bad = "name: x\ndo:\n  - set: {name: a\n  - emit: x\n"
    error = error_of(
        parse_archive, make_zip({"index.yml": "name: Demo\n", "automations/broken.yml": bad})
    )
    assert error.details[0]["path"] == "automations/broken.yml"
    assert "line 4" in error.details[0]["message"] and "column" in error.details[0]["message"]


def test_malformed_json_names_file_and_line() -> None:
    error = error_of(parse_archive, make_zip({"automations/a.json": '{"name": "a",\n "do": [}'}))
    assert error.details[0]["path"] == "automations/a.json"
    assert "line 2" in error.details[0]["message"]


def test_every_broken_file_is_reported() -> None:
    data = make_zip(
        {"automations/a.yml": "a: [", "automations/b.yml": "- 1\n", "automations/c.yml": ""}
    )
    error = error_of(parse_archive, data)
    assert [d["path"] for d in error.details] == [
        "automations/a.yml",
        "automations/b.yml",
        "automations/c.yml",
    ]


def test_not_a_zip() -> None:
    error = error_of(parse_archive, b"name: Demo\n")
    assert error.details[0]["path"] == "archive"
    assert "not a valid zip" in error.details[0]["message"]


@pytest.mark.parametrize(
    "name",
    ["../evil.yml", "automations/../../evil.yml", "/etc/passwd", "C:/x.yml", "a\\..\\..\\b.yml"],
)
def test_path_traversal_rejected(name: str) -> None:
    error = error_of(parse_archive, make_zip({"index.yml": "name: Demo\n", name: "x: 1\n"}))
    assert "path" in error.details[0]["message"]


def test_size_and_count_limits() -> None:
    big = make_zip({"index.yml": "name: Demo\n", "automations/a.yml": "# " + "x" * 5000})
    error = error_of(parse_archive, big, max_total_size=1000)
    assert "limit" in error.details[0]["message"]
    many = make_zip({f"automations/a{i}.yml": "name: a\ndo: []\n" for i in range(20)})
    error = error_of(parse_archive, many, max_files=10)
    assert "too many files" in error.details[0]["message"]


def test_lying_sizes_are_caught_while_reading() -> None:
    data = bytearray(make_zip({"automations/a.yml": "x" * 4000}))
    # Patch the declared uncompressed size (central directory) down to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    error = error_of(parse_archive, bytes(data), max_total_size=1000)
    assert error.details[0]["path"] == "automations/a.yml"


def test_encrypted_or_corrupt_entries_are_invalid_workspace_errors() -> None:
    data = bytearray(make_zip({"automations/a.yml": "name: a\ndo: []\n" * 50}))
    data[40:60] = b"\xff" * 20  # damage the first entry's data
    error_of(parse_archive, bytes(data))


def test_duplicate_slug_across_extensions() -> None:
    error = error_of(
        parse_archive, make_zip({"automations/a.yml": "name: a\n", "automations/a.json": "{}"})
    )
    assert "duplicate" in error.details[0]["message"]


def test_yaml_reading_rules() -> None:
    text = "name: Demo\ncreatedAt: 2024-01-01T00:00:00Z\nconfig:\n  value: {on: off, yes: no, 1: one, flag: true}\n"
    source = parse_document(text, "application/yaml")
    assert source.index["createdAt"] == "2024-01-01T00:00:00Z"
    assert source.index["config"]["value"] == {"on": "off", "yes": "no", "1": "one", "flag": True}
    with pytest.raises(InvalidWorkspaceError):
        parse_document("name: !!binary aGVsbG8=\n", "application/yaml")
    with pytest.raises(InvalidWorkspaceError):
        parse_document("name: !!python/object:os.system {}\n", "application/yaml")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    error = error_of(parse_document, bomb, "application/yaml")
    assert "too large" in error.details[0]["message"]


def test_parse_document_json_and_yaml() -> None:
    doc = sample().to_document()
    from_json = parse_document(json.dumps(doc).encode(), "application/json")
    from_yaml = parse_document(yaml.safe_dump(doc), "application/x-yaml")
    assert from_json == sample() == from_yaml
    assert from_json.origin == "document"
    error = error_of(parse_document, b'{"name": ', "application/json")
    assert error.details[0]["path"] == "document" and "line 1" in error.details[0]["message"]
    error = error_of(parse_document, "name: [\n", "application/yaml")
    assert "line" in error.details[0]["message"]
    error = error_of(parse_document, "[1, 2]", "application/yaml")
    assert error.details[0]["path"] == "document"
    error = error_of(parse_document, "name: x\nautomations: {a: 3}\n", "application/yaml")
    assert error.details[0]["path"] == "document: automations.a"


def test_parse_import_dispatch() -> None:
    assert parse_import(export_archive(sample()), "application/zip") == sample()
    assert parse_import(export_archive(sample()), None) == sample()
    assert (
        parse_import(json.dumps(sample().to_document()).encode(), "application/json; charset=utf-8")
        == sample()
    )
    with pytest.raises(InvalidWorkspaceError):
        parse_import(b"garbage", "application/zip")


def test_export_layout_and_determinism() -> None:
    data = export_archive(sample(), folder="demo")
    assert data == export_archive(sample(), folder="demo")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert "demo/index.yml" in names and "demo/automations/Other one.yml" in names
        assert "demo/security.yml" in names and "demo/imports/Custom Code.yml" in names
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "Autre" in zf.read("demo/automations/Other one.yml").decode()
    assert parse_archive(data) == sample()
    assert parse_archive(export_archive(sample())) == sample()


def test_dump_keeps_unicode_and_round_trips_line_separators() -> None:
    assert dump_yaml({"a": "été"}) == "a: été\n"
    for tricky in ("\x85", "a\u2028b", "\u2029", "\ufeffx", "tab\there", " lead", "x\r\ny"):
        assert load_yaml(dump_yaml({"k": tricky, tricky: [tricky]})) == {
            "k": tricky,
            tricky: [tricky],
        }


def test_export_without_security_round_trips_none() -> None:
    source = WorkspaceSource(index={"name": "x"})
    back = parse_archive(export_archive(source))
    assert back == source and back.security is None


# Any text the platform accepts: NUL is refused on import (PostgreSQL text cannot hold it).
_chars = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")
_keys = st.text(_chars, max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_chars, max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=12,
)
_slugs = st.from_regex(r"[A-Za-z0-9 _-]{1,12}", fullmatch=True).filter(lambda s: s != "__index__")
_objects = st.dictionaries(_keys, _values, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=_objects,
    automations=st.dictionaries(_slugs, _objects, max_size=3),
    imports=st.dictionaries(_slugs, _objects, max_size=2),
    pages=st.dictionaries(_slugs, _objects, max_size=2),
    security=st.none() | _objects,
    folder=st.none() | st.sampled_from(["ws", "my workspace"]),
)
def test_round_trip_property(
    index: dict[str, Any],
    automations: dict[str, dict[str, Any]],
    imports: dict[str, dict[str, Any]],
    pages: dict[str, dict[str, Any]],
    security: dict[str, Any] | None,
    folder: str | None,
) -> None:
    source = WorkspaceSource(
        index=index, automations=automations, imports=imports, pages=pages, security=security
    )
    assert parse_archive(export_archive(source, folder)) == source
    assert WorkspaceSource.from_document(
        json.loads(json.dumps(source.to_document()))
    ) == source or (set(index) & {"automations", "imports", "pages", "security"})
