"""Tideway's payload converter (core/infra/payload_codec.py): pydantic JSON as the SDK's, with one
cache of type adapters per process instead of one per converter, since the SDK makes a converter
for every workflow run and every activity's serialization context."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.contrib.pydantic import PydanticPayloadConverter

from core.infra.payload_codec import TidewayPayloadConverter, data_converter
from schemas.events import Event, EventSource
from tests.stack import TEST_SECRETS_KEY


def _event() -> Event:
    return Event(id="e1", type="order.paid", payload={"n": 1, "nested": [1, "two", None]},
                 createdAt=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                 source=EventSource(workspaceId="ws", correlationId="c1"))


def test_payloads_are_the_sdk_pydantic_converter_s() -> None:
    values = [_event(), {"a": [1, 2.5, None]}, "text", None, b"\x00bytes"]
    ours, sdk = TidewayPayloadConverter(), PydanticPayloadConverter()
    assert ours.to_payloads(values) == sdk.to_payloads(values)
    hints = [Event, dict, str, type(None), bytes]
    assert ours.from_payloads(sdk.to_payloads(values), hints) == values


def test_a_type_adapter_is_built_once_per_process_not_per_converter() -> None:
    # What the SDK does for each run: a new converter from the data converter's class.
    converters = [data_converter(TEST_SECRETS_KEY).payload_converter_class() for _ in range(3)]
    payload = converters[0].to_payloads([_event()])
    adapters = TidewayPayloadConverter().converters[b"json/plain"]._type_adapter  # type: ignore[attr-defined]
    converters[0].from_payloads(payload, [Event])
    before = adapters.cache_info()
    decoded = [c.from_payloads(payload, [Event])[0] for c in converters]
    after = adapters.cache_info()
    assert decoded == [_event()] * 3
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)
