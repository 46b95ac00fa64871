"""Matching ``wait`` filters against an event (spec §3.8): loose ``==`` on dotted paths of the event."""

from __future__ import annotations

from typing import Any

from language import evaluate_condition

_FILTER_EXPRESSION = "{{event.%s}} == {{expected}}"


def filters_match(filters: dict[str, Any] | None, event: dict[str, Any]) -> bool:
    """Every ``{path: value}`` must satisfy ``{{event.<path>}} == value``; no filters match all."""
    if not filters:
        return True
    for path, expected in filters.items():
        scope = {"event": event, "expected": expected}
        if not evaluate_condition(_FILTER_EXPRESSION % path, scope):
            return False
    return True
