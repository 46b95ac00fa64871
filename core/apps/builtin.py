"""Apps Tideway ships (issue 18): installable by ``appSlug`` in every workspace without anyone
publishing them, listed by ``GET /v2/apps`` (``builtIn: true``), versioned with Tideway itself.
Their slugs are reserved: nobody publishes or deletes them. Custom Code is the first.

A built-in app is a workspace document like any published version; its automations may use the
internal instructions only Tideway's own apps may use (``customCode``: schemas/instructions.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from core.infra.tables import App

try:
    BUILTIN_VERSION = version("tideway")
except PackageNotFoundError:  # a source tree that was never installed
    BUILTIN_VERSION = "0.1.0"
BUILTIN_WORKSPACE_ID = "~builtin"  # no workspace id is like it (ids are alphanumeric)
RELEASED = datetime(2026, 12, 2, tzinfo=UTC)

_RUN = {
    "description": {"en": "Run one of this instance's functions with parameters; answers its return value",
                    "fr": "Exécute une des fonctions de cette instance avec des paramètres et renvoie son résultat"},
    "arguments": {"function": {"type": "string", "title": {"en": "Function", "fr": "Fonction"}},
                  "parameters": {"type": "object", "title": {"en": "Parameters", "fr": "Paramètres"}}},
    "do": [{"customCode": {"function": "{{function}}", "parameters": "{{parameters}}", "output": "result"}}],
    "output": "{{result}}",
}

CUSTOM_CODE: dict[str, Any] = {
    "name": "Custom Code",
    "slug": "Custom Code",
    "description": {"en": "JavaScript functions your automations call (docs/custom-code.md)",
                    "fr": "Des fonctions JavaScript que vos automatisations appellent"},
    "labels": ["builtin", "code"],
    "config": {"schema": {"functions": {
        "type": "object", "title": {"en": "Functions", "fr": "Fonctions"},
        "additionalProperties": {"type": "object", "properties": {
            "code": {"type": "string"}, "parameters": {"type": "object"},
            "language": {"type": "string", "enum": ["javascript", "python"]}}}}}},
    # Both spellings of the reference's documentation: `Custom Code.run` and `Custom Code.run function`.
    "automations": {"run": {"name": "run", **_RUN}, "run function": {"name": "run function", **_RUN}},
}

BUILTIN_APPS: dict[str, dict[str, Any]] = {"Custom Code": CUSTOM_CODE}


def is_builtin(slug: str) -> bool:
    return slug in BUILTIN_APPS


def builtin_row(slug: str) -> App:
    """The catalogue row of a built-in app (never stored: built-in apps live in the code)."""
    document = BUILTIN_APPS[slug]
    return App(slug=slug, workspace_id=BUILTIN_WORKSPACE_ID, name=document["name"],
               description=document.get("description"), photo=document.get("photo"),
               labels=list(document.get("labels") or []), created_at=RELEASED, updated_at=RELEASED)
