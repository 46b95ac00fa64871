"""Tideway's custom search attributes of runs (Temporal visibility): the keys, and the attributes
of one run (workflow code builds them too, so they live on the ground floor)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

WORKSPACE_ID = SearchAttributeKey.for_keyword("WorkspaceId")
AUTOMATION_SLUG = SearchAttributeKey.for_keyword("AutomationSlug")
CORRELATION_ID = SearchAttributeKey.for_keyword("CorrelationId")
SEARCH_ATTRIBUTES = (WORKSPACE_ID, AUTOMATION_SLUG, CORRELATION_ID)


def run_search_attributes(enabled: bool, workspace_id: str, automation_slug: str,
                          correlation_id: str) -> TypedSearchAttributes | None:
    """A run's search attributes, or None when the ``run_search_attributes`` setting is off
    (the default: see core/infra/settings.py; the workflow id ``<workspaceId>/<slug>/…`` still
    finds it)."""
    if not enabled:
        return None
    return TypedSearchAttributes([SearchAttributePair(WORKSPACE_ID, workspace_id),
                                  SearchAttributePair(AUTOMATION_SLUG, automation_slug),
                                  SearchAttributePair(CORRELATION_ID, correlation_id)])
