"""Errors of the permission engine (``ForbiddenError`` itself comes from :mod:`schemas.errors`)."""

from __future__ import annotations

from schemas.errors import TidewayError


class UnknownRoleError(TidewayError):
    """A grant names a role that is not declared for the subject type."""

    default_message = "Unknown role"


class InvalidPermissionsError(TidewayError):
    """A malformed grant (bad target, unknown permission fields)."""

    default_message = "Invalid permissions"


class InvalidSecurityError(TidewayError):
    """Invalid DSUL security rules; ``details`` is a list of ``{"path", "message"}``."""

    default_message = "Invalid security"
