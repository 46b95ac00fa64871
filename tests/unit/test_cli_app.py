"""The ``tideway`` command as a whole (issue 21): ``--json`` on every command, errors as one line
and never a traceback, and ``tideway test`` handing its options to the test runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from cli.app import app, run
from schemas.errors import TidewayError

LONG_RUNNING = {"run", "api", "worker"}  # servers: they log, they answer nothing a script reads


def commands(group: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    found: dict[tuple[str, ...], Any] = {}
    for name, command in getattr(group, "commands", {}).items():
        if hasattr(command, "commands"):
            found.update(commands(command, (*prefix, name)))
        else:
            found[(*prefix, name)] = command
    return found


def test_every_command_but_the_servers_has_json() -> None:
    every = commands(typer.main.get_command(app))
    assert {("validate",), ("push",), ("pull",), ("diff",), ("test",), ("login",), ("call",), ("events",),
            ("runs", "list"), ("users", "create"), ("migrate",), ("retention",)} <= set(every)
    for path, command in every.items():
        options = {option for param in command.params for option in getattr(param, "opts", [])}
        assert ("--json" in options) != (path[0] in LONG_RUNNING), path


def test_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("something odd")

    monkeypatch.setattr("cli.commands.remote.resolve_connection", broken)
    assert run(["call", "ws", "hello"]) == 1
    assert capsys.readouterr().err == "error: RuntimeError: something odd\n"


def test_a_server_start_up_problem_keeps_its_format(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def lost() -> None:
        raise TidewayError("the secrets key changed")

    monkeypatch.setattr("cli.commands.server.get_settings", lost)
    assert run(["migrate"]) == 2
    assert capsys.readouterr().err == "tideway: the secrets key changed\n"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["push", "/nonexistent/folder"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert run(["nope"]) == 2
    assert run(["--help"]) == 0 and "validate" in capsys.readouterr().out


def test_test_hands_its_options_to_the_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import cli.workspace_tests

    seen: dict[str, Any] = {}

    def runner(directory: Path, **options: Any) -> int:
        seen.update(directory=directory, **options)
        return 3

    monkeypatch.setattr(cli.workspace_tests, "run_test_command", runner, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no profile of the machine's user
    monkeypatch.setenv("TIDEWAY_TOKEN", "from-env")
    assert run(["test", str(tmp_path), "--server", "http://h:1", "--junit", str(tmp_path / "r.xml"), "-k", "greet",
                "--json"]) == 3
    assert seen == {"directory": tmp_path, "server": "http://h:1", "token": "from-env", "junit": tmp_path / "r.xml",
                    "json_output": True, "select": "greet", "color": False}
    assert run(["test", str(tmp_path), "--token", "t"]) == 3
    assert seen["server"] is None and seen["token"] == "t" and seen["junit"] is None and seen["select"] is None
