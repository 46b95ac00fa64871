"""App-config fields an app declares ``secret: true`` never stay in a workspace's definition in
clear (issue 21): a literal value written there (an install, a configure, an import) moves to the
workspace's encrypted secrets, and the instance's config holds ``{{secret.<name>}}`` instead — so
exports, pulls, events and ``GET …/config`` never show it, and the run resolves it as before."""

from __future__ import annotations

import re
from typing import Any

from schemas.requests import NAME_MAX

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def secret_name(instance_slug: str, path: str) -> str:
    """The secret a field's value moves to: ``app_<instance slug>_<field path>``, other characters
    as ``_`` (a dot would read as a nested path in ``{{secret.…}}``)."""
    return _UNSAFE.sub("_", f"app_{instance_slug}_{path}")[:NAME_MAX]


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def externalize(instance_slug: str, config: Any, paths: list[str]) -> dict[str, Any]:
    """Replace, in ``config`` (in place), each literal value at a secret ``path`` by a reference to
    the secret it moves to; the secrets to store, by name."""
    moved: dict[str, Any] = {}
    if not isinstance(config, dict):
        return moved
    for path in paths:
        *parents, leaf = path.split(".")
        holder: Any = config
        for key in parents:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or leaf not in holder:
            continue
        value = holder[leaf]
        if value is None or value == "" or is_reference(value):
            continue
        name = secret_name(instance_slug, path)
        moved[name] = value
        holder[leaf] = "{{secret." + name + "}}"
    return moved
