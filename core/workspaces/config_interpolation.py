"""Workspace config at load time (spec §1.3–1.4): env overrides, then leave-mode interpolation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from language import render
from language.values import strip_undefined


def env_overrides(slug: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``WORKSPACE_CONFIG_{slug without spaces}_{KEY}`` -> ``{KEY: value}`` (case kept)."""
    environ = os.environ if environ is None else environ
    prefix = f"WORKSPACE_CONFIG_{slug.replace(' ', '')}_"
    return {k[len(prefix):]: v for k, v in environ.items() if k.startswith(prefix) and len(k) > len(prefix)}


def interpolate_config(value: Any, *, slug: str, secrets: Mapping[str, Any] | None = None,
                       environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The workspace ``config`` context: env values under ``config.value`` (which wins),
    interpolated once with unresolved variables left and no expressions."""
    config: dict[str, Any] = {**env_overrides(slug, environ), **(value if isinstance(value, dict) else {})}
    rendered = render(config, {"config": config, "secret": dict(secrets or {})},
                      undefined_vars="leave", eval_expressions=False)
    return strip_undefined(rendered) if isinstance(rendered, dict) else {}
