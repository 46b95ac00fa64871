"""Tideway's built-in roles and the initial security of a new workspace (spec §8.2).

Priorities (the higher wins, see :mod:`core.access.permissions.rules`):

* built-in rules for everyone and the built-in editor rules: no priority (0);
* DSUL rules: ``100 + index`` capped at 999 (:mod:`core.access.permissions.dsul`);
* owner rules: 1000, above every DSUL rule, so that the DSUL can neither widen nor narrow what an
  owner may do (the DSUL may not name ``owner`` either);
* superadmin: 1999;
* nobody reads ``runtime.contexts.updated``: 3000.
"""

from __future__ import annotations

import copy
from typing import Any

from .rules import ALL, MANAGE

SUBJECT_TYPES = ("workspaces", "apps", "pages", "files", "events", "automations", "secrets")

SUPERADMIN = "superadmin"
OWNER = "owner"
EDITOR = "editor"

FIRST_DSUL_PRIORITY = 100
LAST_DSUL_PRIORITY = 999
OWNER_PRIORITY = 1000
SUPERADMIN_PRIORITY = 1999
NOBODY_PRIORITY = 3000

EMIT_TOPIC = "topic:runtime:emit"
CONTEXTS_UPDATED = "runtime.contexts.updated"
RESERVED_SECRET_PREFIX = "prismeai_"

WS = "${subject.id}"

SUPERADMIN_RULES: list[dict[str, Any]] = [
    {"action": MANAGE, "subject": ALL, "priority": SUPERADMIN_PRIORITY},
]

OWNER_RULES: list[dict[str, Any]] = [
    {"action": MANAGE, "subject": "workspaces", "conditions": {"id": WS}},
    {"action": MANAGE, "subject": ["apps", "pages", "files"], "conditions": {"workspaceId": WS}},
    {"action": MANAGE, "subject": "secrets",
     "conditions": {"workspaceId": WS, "name": {"$not": {"$regex": f"^{RESERVED_SECRET_PREFIX}"}}}},
    {"action": ["read", "create"], "subject": "events", "conditions": {"source.workspaceId": WS}},
    {"action": ["execute", "test"], "subject": "automations", "conditions": {"runningWorkspaceId": WS}},
]

# Built into the editor role whatever the DSUL says (the rest of the editor rights are DSUL
# rules, see INITIAL_SECURITY, so that a workspace can tune them).
EDITOR_RULES: list[dict[str, Any]] = [
    {"action": ["execute", "test"], "subject": "automations", "conditions": {"runningWorkspaceId": WS}},
]

# Loaded for everyone on every workspace (the role `default`, before the DSUL `default` rules).
EVERYONE_RULES: list[dict[str, Any]] = [
    {"action": "read", "subject": "events", "reason": "Events one sent",
     "conditions": {"source.workspaceId": WS, "source.serviceTopic": EMIT_TOPIC, "source.userId": "${user.id}"}},
    {"action": "read", "subject": "events", "reason": "Events targeted to the user",
     "conditions": {"source.workspaceId": WS, "target.userId": "${user.id}"}},
    {"action": "read", "subject": "events", "reason": "Events targeted to the session",
     "conditions": {"source.workspaceId": WS, "target.sessionId": "${user.sessionId}"}},
    {"action": "read", "subject": "events", "reason": "Events targeted to a topic of the user",
     "conditions": {"source.workspaceId": WS, "target.userTopic": {"$in": "${user.topics}"}}},
]

# Platform-wide rules for everyone (not tied to a workspace).
GLOBAL_RULES: list[dict[str, Any]] = [
    {"action": "execute", "subject": "automations", "reason": "Automations without authorizations.action are public",
     "conditions": {"authorizations.action": {"$exists": False}}},
    {"action": "read", "subject": "events", "inverted": True, "priority": NOBODY_PRIORITY,
     "reason": "runtime.contexts.updated events are never readable", "conditions": {"type": CONTEXTS_UPDATED}},
]

INITIAL_SECURITY: dict[str, Any] = {
    "authorizations": {
        "roles": {EDITOR: {}},
        "rules": [
            {"role": EDITOR, "action": ["read", "get_usage", "aggregate_search", "update"], "subject": "workspaces"},
            {"role": EDITOR, "action": MANAGE, "subject": "files"},
            {"role": EDITOR, "action": ["read", "update"], "subject": "pages"},
            {"role": EDITOR, "action": ["read", "update", "read_app_dsul"], "subject": "apps"},
            {"role": EDITOR, "action": ["read", "create"], "subject": "events"},
            {"role": EDITOR, "inverted": True, "action": "read", "subject": "events",
             "conditions": {"type": {"$regex": "^apikeys\\."}}},
            {"action": "create", "subject": "events", "reason": "Anyone can create any events",
             "conditions": {"source.serviceTopic": EMIT_TOPIC}},
            {"action": "read", "subject": "events", "reason": "Anyone can read any events from its own session",
             "conditions": {"source.serviceTopic": EMIT_TOPIC, "source.sessionId": "{{session.id}}"}},
            {"action": "create", "subject": "files", "reason": "Anyone can upload any file",
             "conditions": {"mimetype": {"$regex": "^(.*)$"}}},
        ],
    },
}


def initial_security() -> dict[str, Any]:
    """A fresh copy of the ``security.yml`` of a new workspace (spec §8.2)."""
    return copy.deepcopy(INITIAL_SECURITY)
