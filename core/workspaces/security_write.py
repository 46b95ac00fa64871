"""What a definition write may do to the workspace's ``security.yml`` (issue 14): changing it needs
``manage_security`` by every route."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

from core.access.permissions.defaults import initial_security
from core.workspaces.documents import digest
from schemas.errors import ForbiddenError


class SecurityWrite(StrEnum):
    """What a definition write may do to the workspace's ``security.yml``. Changing it by any
    route needs the permission ``PUT …/security`` needs (``manage_security``): the route that
    knows the caller says which mode applies, and the service enforces it on the stored document."""

    ALLOW = "allow"  # the caller may manage security: a changed security.yml is stored
    REFUSE = "refuse"  # a security.yml that differs from the current one is a 403 and nothing is written
    KEEP = "keep"  # the current security.yml is kept whatever the source says (``?keepSecurity=true``)


def effective_security(document: dict[str, Any]) -> Any:
    """The security a document stands for: a workspace without security.yml has the initial one."""
    security = document.get("security")
    return initial_security() if security is None else security


def same_security(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal after normalisation (key order, an absent security.yml = the initial one), so an
    exported workspace imported back unchanged is not a security change."""
    return digest({"s": effective_security(a)}) == digest({"s": effective_security(b)})


def apply_security_write(doc: dict[str, Any], current: dict[str, Any], mode: SecurityWrite) -> None:
    """Set ``doc``'s security for a write under ``mode``. A source without security.yml (an archive
    that does not carry the file) keeps the current one, like a missing ``index.yml``."""
    keep = mode is SecurityWrite.KEEP or "security" not in doc or same_security(doc, current)
    if not keep and mode is SecurityWrite.REFUSE:
        raise ForbiddenError(
            "security.yml: changing the workspace's security needs the 'manage_security' permission "
            "(the one PUT /security needs); import with ?keepSecurity=true to keep the current security",
            {"path": "security.yml", "action": "manage_security"})
    if keep:
        doc.pop("security", None)
        if "security" in current:
            doc["security"] = copy.deepcopy(current["security"])
