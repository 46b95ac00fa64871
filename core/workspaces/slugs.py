"""Slug and id generation."""

from __future__ import annotations

import re
import secrets
import unicodedata

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_id(length: int = 7) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def workspace_slug_from(name: str) -> str:
    """``My Workspace`` -> ``my-workspace`` (pattern ``^[/a-z0-9-]+$``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(name).lower()).strip("-")
    return slug or f"workspace-{new_id(6).lower()}"


def automation_slug_from(name: str, taken: set[str]) -> str:
    """Diacritics removed, non-alphanumerics stripped, 20 chars max, ``-N`` suffix (spec §2.1)."""
    base = re.sub(r"[^A-Za-z0-9]+", "", _ascii(name))[:20] or "automation"
    slug, n = base, 1
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug
