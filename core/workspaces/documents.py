"""Pure helpers on stored workspace documents: their digest, their custom domains, how events show
their config (secret fields hidden)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from language.secrets import redact_paths


def normalize_domain(value: str) -> str:
    """A custom domain (or a ``Host`` header) as compared: lower case, without scheme, path, port
    or trailing dot, so ``https://Docs.Example.org:443/`` and ``docs.example.org`` are one domain."""
    text = value.strip().lower()
    text = text.split("://", 1)[1] if "://" in text else text
    text = text.split("/", 1)[0]
    if not text.startswith("[") and text.count(":") == 1:  # a port; IPv6 literals keep theirs
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def custom_domains(document: dict[str, Any]) -> set[str]:
    """The normalized ``customDomains`` of a workspace document."""
    domains = document.get("customDomains")
    if not isinstance(domains, list):
        return set()
    return {d for d in (normalize_domain(v) for v in domains if isinstance(v, str)) if d}


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def hide_config_secrets(config_doc: Any, paths: list[str]) -> Any:
    """A ``config`` section (``{schema?, value?}``) as events show it: the values of fields
    declared ``secret: true`` read ``REDACTED`` (issue 14)."""
    if not paths or not isinstance(config_doc, dict) or not isinstance(config_doc.get("value"), dict):
        return config_doc
    return {**config_doc, "value": redact_paths(config_doc["value"], paths)}
