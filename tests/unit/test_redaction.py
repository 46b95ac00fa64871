"""Redaction of secrets from events and client errors (issue 14 items 4-6): whole string values,
never keys, short secrets only on exact match."""

from __future__ import annotations

from language.secrets import REDACTED, Redactor, redact, redact_paths


def test_a_string_holding_a_secret_is_redacted_whole() -> None:
    value = {"msg": "Authorization: Bearer abc123", "other": "abc123xyz", "clean": "nothing here"}
    assert redact(value, ["abc123"]) == {"msg": REDACTED, "other": REDACTED, "clean": "nothing here"}


def test_keys_are_never_redacted() -> None:
    assert redact({"tok3n42": "value", "x": "tok3n42"}, ["tok3n42"]) == {"tok3n42": "value", "x": REDACTED}


def test_a_short_secret_redacts_exact_values_only() -> None:
    event = {"workspaceId": "k", "automation": "workspace", "trigger": {"type": "k", "value": "kk"}, "list": ["k", 1]}
    assert redact(event, ["k"]) == {"workspaceId": REDACTED, "automation": "workspace",
                                    "trigger": {"type": REDACTED, "value": "kk"}, "list": [REDACTED, 1]}


def test_nested_lists_and_non_strings_keep_their_shape() -> None:
    value = {"a": [{"b": "x-s3cr3t-value-y"}, 42, None, True], "n": 3.5}
    assert redact(value, ["s3cr3t-value"]) == {"a": [{"b": REDACTED}, 42, None, True], "n": 3.5}


def test_secrets_with_json_escapes_are_found() -> None:
    secret = 'quote"and\\backslash\nnewline'
    assert redact({"v": f"pre {secret} post"}, [secret]) == {"v": REDACTED}


def test_nothing_to_redact_returns_the_same_object() -> None:
    value = {"a": "b"}
    assert redact(value, ["zzzzzzzz"]) is value
    assert redact(value, []) is value
    assert not Redactor(["", None])  # type: ignore[list-item]


def test_redact_paths_hides_declared_fields_whatever_their_type() -> None:
    config = {"apiKey": "k", "nested": {"token": {"a": 1}, "kept": "x"}, "plain": "visible"}
    assert redact_paths(config, ["apiKey", "nested.token", "missing.path"]) == {
        "apiKey": REDACTED, "nested": {"token": REDACTED, "kept": "x"}, "plain": "visible"}
    assert redact_paths("not a dict", ["a"]) == "not a dict"
