"""Temporal connection, search attributes and how runs are started."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from core.payload_codec import data_converter

WORKSPACE_ID = SearchAttributeKey.for_keyword("WorkspaceId")
AUTOMATION_SLUG = SearchAttributeKey.for_keyword("AutomationSlug")
CORRELATION_ID = SearchAttributeKey.for_keyword("CorrelationId")
SEARCH_ATTRIBUTES = (WORKSPACE_ID, AUTOMATION_SLUG, CORRELATION_ID)


def run_search_attributes(enabled: bool, workspace_id: str, automation_slug: str,
                          correlation_id: str) -> TypedSearchAttributes | None:
    """A run's search attributes, or None when the ``run_search_attributes`` setting is off
    (the default: see core/settings.py; the workflow id ``<workspaceId>/<slug>/…`` still
    finds it)."""
    if not enabled:
        return None
    return TypedSearchAttributes([SearchAttributePair(WORKSPACE_ID, workspace_id),
                                  SearchAttributePair(AUTOMATION_SLUG, automation_slug),
                                  SearchAttributePair(CORRELATION_ID, correlation_id)])


async def connect(address: str, namespace: str = "default", *, secrets_key: str, lazy: bool = False) -> Client:
    """The one way Tideway makes a Temporal client: its data converter encrypts every payload
    with a key derived from ``secrets_key`` (core/payload_codec.py), and workers built on the
    client use the same converter."""
    return await Client.connect(address, namespace=namespace, data_converter=data_converter(secrets_key),
                                lazy=lazy)


async def register_search_attributes(client: Client, namespace: str = "default") -> list[str]:
    """Add the Keyword search attributes if missing (idempotent). Returns the names added."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
               for key in SEARCH_ATTRIBUTES if key.name not in known}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
    return sorted(missing)


def dev_server_search_attribute_args() -> list[str]:
    """``temporal server start-dev`` flags registering the attributes at start."""
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args
