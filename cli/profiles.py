"""Connection profiles: ``~/.config/tideway/config.toml`` (``$XDG_CONFIG_HOME/tideway/config.toml``
when set), written by ``tideway login`` with mode 0600 because it holds tokens::

    [profiles.default]
    url = "http://127.0.0.1:8000"
    token = "…"

Read with ``tomllib``; written by the small writer below (string values in ``[profiles.<name>]``
tables are all this file holds, so no TOML writer dependency)."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cli.output import CliError

DEFAULT_PROFILE = "default"
PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a bare TOML key


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
        return Path(xdg) / "tideway" / "config.toml"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "tideway" / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", "ConfigError") from exc


def read_profile(name: str, environ: Mapping[str, str] = os.environ, *, required: bool = False) -> dict[str, str]:
    """The profile's ``url`` and ``token`` (empty when there is none; an error when ``required``)."""
    path = config_path(environ)
    profiles = read_config(path).get("profiles")
    profile = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict):
        if required:
            raise CliError(f"no profile '{name}' in {path} (create it with: tideway login --profile {name})",
                           "ProfileNotFoundError")
        return {}
    return {key: value for key, value in profile.items() if isinstance(value, str)}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def render_config(profiles: Mapping[str, Mapping[str, str]]) -> str:
    parts = ["# Tideway CLI profiles, written by `tideway login` (keep this file private: it holds tokens)\n"]
    for name in sorted(profiles):
        parts.append(f"\n[profiles.{name}]\n")
        parts += [f"{key} = {toml_string(value)}\n" for key, value in profiles[name].items()]
    return "".join(parts)


def save_profile(name: str, values: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> Path:
    """Add or replace profile ``name``; the file is written whole, atomically, mode 0600 (its
    folder 0700), whatever mode an older copy had."""
    if not PROFILE_NAME.match(name):
        raise CliError(f"invalid profile name {name!r}: letters, digits, '-' and '_' only", "InvalidArgumentsError")
    path = config_path(environ)
    config = read_config(path)
    current = config.get("profiles")
    current = current if isinstance(current, dict) else {}
    profiles = {key: {k: v for k, v in value.items() if isinstance(v, str)}
                for key, value in current.items() if isinstance(value, dict) and PROFILE_NAME.match(key)}
    profiles[name] = dict(values)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)  # created 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(render_config(profiles))
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
