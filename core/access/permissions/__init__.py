"""Tideway's permission engine (spec §8): pure, no I/O.

* :mod:`.rules`, :mod:`.conditions`, :mod:`.ability`: CASL-style rules, placeholders, evaluation.
* :mod:`.permissions`, :mod:`.sharing`: a user's :class:`Permissions` (roles loaded per user and
  per subject, built-in per-object sharing, grant/revoke).
* :mod:`.defaults`, :mod:`.dsul`, :mod:`.checks`: the Tideway layer (default roles, initial
  workspace security, DSUL validation and scoping, the checks the API and runtime call).

See ``docs/security.md``.
"""

from .ability import Ability
from .conditions import condition_problems, inject_conditions, inject_rules
from .errors import InvalidPermissionsError, InvalidSecurityError, UnknownRoleError
from .permissions import DEFAULT_ROLE, Permissions, PermissionsConfig
from .rules import ACTIONS, ALL, MANAGE, InvalidRuleError, RoleTemplate, Rule, sort_rules
from .sharing import PUBLIC, ROLE_PREFIX, id_to_target, target_to_id

__all__ = [
    "ACTIONS", "ALL", "DEFAULT_ROLE", "MANAGE", "PUBLIC", "ROLE_PREFIX",
    "Ability", "InvalidPermissionsError", "InvalidRuleError", "InvalidSecurityError", "Permissions",
    "PermissionsConfig", "RoleTemplate", "Rule", "UnknownRoleError",
    "condition_problems", "id_to_target", "inject_conditions", "inject_rules", "sort_rules",
    "target_to_id",
]
