"""The permission each management operation checks (spec §8, §10), declared per operation.

Access control (issue #6) enforces these; until then the API only requires the admin token and
this table documents (and the workspace_crud cases pin) what each operation will check.
"""

from __future__ import annotations

from typing import Any

# operation -> (action, subject type)
OPERATION_PERMISSIONS: dict[str, tuple[str, str]] = {
    "create_workspace": ("create", "workspace"),
    "get_workspace": ("read", "workspace"),
    "update_workspace": ("update", "workspace"),
    "delete_workspace": ("delete", "workspace"),
    "duplicate_workspace": ("read", "workspace"),
    "create_automation": ("update", "workspace"),
    "update_automation": ("update", "workspace"),
    "delete_automation": ("update", "workspace"),
    "install_app": ("update", "workspace"),
    "configure_app": ("update", "workspace"),
    "uninstall_app": ("update", "workspace"),
    "get_app_instance": ("read", "workspace"),
    "list_app_instances": ("read", "workspace"),
    "get_detailed_app_instances": ("read", "workspace"),
    "publish_app": ("update", "workspace"),
    "delete_app": ("update", "workspace"),
}


def required_permission(operation: str, subject_id: str | None) -> dict[str, Any] | None:
    """``{action, subject_type, subject_id}`` the operation checks, or None for pure ones."""
    entry = OPERATION_PERMISSIONS.get(operation)
    if entry is None:
        return None
    return {"action": entry[0], "subject_type": entry[1], "subject_id": subject_id}
