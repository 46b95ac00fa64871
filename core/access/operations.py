"""What a management request on a workspace checks (spec §8.4, §10): an action on a subject that
the workspace id determines. Each route declares its own (``api/permissions.py``); this module
only says what such a permission is and which subject each subject type checks, so the API and
the conformance runner (which maps the corpus's named operations to routes) build them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.events import EMIT_TOPIC

# The subject each subject type checks, built from the workspace of the request: the rules of
# security.yml match on these fields (``{id}`` of a workspace, ``workspaceId`` of a secret, the
# running workspace of a tested automation, the source of a sent event).
SUBJECTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "workspaces": lambda workspace_id: {"id": workspace_id},
    "secrets": lambda workspace_id: {"workspaceId": workspace_id},
    "automations": lambda workspace_id: {"runningWorkspaceId": workspace_id, "authorizations": {}},
    "events": lambda workspace_id: {"source": {"workspaceId": workspace_id, "serviceTopic": EMIT_TOPIC}},
}
ACTIONS = frozenset({"read", "create", "update", "delete", "manage_security", "manage_permissions", "test"})


@dataclass(frozen=True)
class WorkspacePermission:
    """``action`` on ``subject_type`` of one workspace, e.g. ``update`` on ``workspaces`` or
    ``read`` on ``secrets``. An unknown action or subject type fails when the route module is
    imported, never at request time."""

    action: str
    subject_type: str = "workspaces"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r} (one of {sorted(ACTIONS)})")
        if self.subject_type not in SUBJECTS:
            raise ValueError(f"unknown subject type {self.subject_type!r} (one of {sorted(SUBJECTS)})")

    def subject(self, workspace_id: str) -> dict[str, Any]:
        return SUBJECTS[self.subject_type](workspace_id)

    def __str__(self) -> str:
        return f"{self.action} on {self.subject_type}"
