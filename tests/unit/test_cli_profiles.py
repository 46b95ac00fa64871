"""CLI profiles (issue 21): ``~/.config/tideway/config.toml`` written 0600, XDG_CONFIG_HOME, and
which URL and token a command uses (options, then TIDEWAY_URL/TIDEWAY_TOKEN, then the profile)."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from cli.connection import DEFAULT_URL, Connection, resolve_connection
from cli.output import CliError
from cli.profiles import config_path, read_profile, render_config, save_profile


def home(tmp_path: Path, **env: str) -> dict[str, str]:
    return {"HOME": str(tmp_path), **env}


def test_the_file_is_private_and_keeps_other_profiles(tmp_path: Path) -> None:
    environ = home(tmp_path)
    path = save_profile("default", {"url": "http://a:1", "token": "t1"}, environ)
    assert path == tmp_path / ".config" / "tideway" / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    os.chmod(path, 0o644)  # an older copy readable by others: rewritten private
    save_profile("work", {"url": "http://b:2", "token": "t2", "email": "me@example.org"}, environ)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    profiles = tomllib.loads(path.read_text())["profiles"]
    assert profiles == {"default": {"url": "http://a:1", "token": "t1"},
                        "work": {"url": "http://b:2", "token": "t2", "email": "me@example.org"}}
    save_profile("default", {"url": "http://c:3", "token": "t3"}, environ)
    assert read_profile("default", environ) == {"url": "http://c:3", "token": "t3"}
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary file left


def test_xdg_config_home_when_absolute(tmp_path: Path) -> None:
    assert config_path(home(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg"))) == tmp_path / "xdg/tideway/config.toml"
    assert config_path(home(tmp_path, XDG_CONFIG_HOME="relative")) == tmp_path / ".config/tideway/config.toml"


def test_strings_are_escaped_and_names_checked(tmp_path: Path) -> None:
    odd = 'quote " backslash \\ newline \n tab \t bell \x07 é'
    assert tomllib.loads(render_config({"p": {"token": odd}}))["profiles"]["p"]["token"] == odd
    with pytest.raises(CliError, match="invalid profile name"):
        save_profile("bad name]", {"url": "u"}, home(tmp_path))


def test_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    path = config_path(home(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.default\n")
    with pytest.raises(CliError) as raised:
        read_profile("default", home(tmp_path))
    assert raised.value.name == "ConfigError" and str(path) in raised.value.message


def test_options_then_environment_then_profile(tmp_path: Path) -> None:
    environ = home(tmp_path)
    assert resolve_connection(environ=environ) == Connection(DEFAULT_URL, None)
    save_profile("default", {"url": "http://saved:1/", "token": "saved-token"}, environ)
    save_profile("ci", {"url": "http://ci:2", "token": "ci-token"}, environ)
    assert resolve_connection(environ=environ) == Connection("http://saved:1", "saved-token")
    assert resolve_connection(profile="ci", environ=environ) == Connection("http://ci:2", "ci-token")
    assert resolve_connection(environ={**environ, "TIDEWAY_PROFILE": "ci"}) == Connection("http://ci:2", "ci-token")
    # TIDEWAY_URL / TIDEWAY_TOKEN override the profile (CI) ...
    assert resolve_connection(environ={**environ, "TIDEWAY_TOKEN": "env"}) == Connection("http://saved:1", "env")
    # ... and the profile's token is never sent to another URL than the profile's.
    assert resolve_connection(environ={**environ, "TIDEWAY_URL": "http://other:3"}) == Connection(
        "http://other:3", None)
    assert resolve_connection("http://other:3", environ=environ) == Connection("http://other:3", None)
    assert resolve_connection("http://saved:1", environ=environ) == Connection("http://saved:1", "saved-token")
    assert resolve_connection("http://x:1", "mine", "ci", environ={**environ, "TIDEWAY_URL": "http://e",
                                                                   "TIDEWAY_TOKEN": "e"}) == Connection("http://x:1", "mine")
    with pytest.raises(CliError, match="no profile 'missing'"):
        resolve_connection(profile="missing", environ=environ)
