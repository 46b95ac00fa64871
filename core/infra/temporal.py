"""Temporal connection, search attributes and how runs are started."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig

from core.infra.payload_codec import data_converter
from core.infra.settings import Settings
from schemas.errors import TidewayError
from schemas.search_attributes import SEARCH_ATTRIBUTES


class TemporalTlsError(TidewayError):
    default_message = "Invalid Temporal TLS settings"


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the Temporal frontend (docs/deploy.md): TEMPORAL_TLS_CA (PEM) verifies the server
    instead of the system roots; TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY present a client
    certificate (mTLS). Any of them turns TLS on; none is plain gRPC (False). Every problem is
    reported at once, as a start-up error."""
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if cert is None and key is None and ca is None:
        return False
    problems: list[str] = []
    if (cert is None) != (key is None):
        problems.append("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate and its key)")

    def read(path: Path | None, setting: str) -> bytes | None:
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            problems.append(f"{setting} {path}: {exc.strerror or exc}")
            return None

    config = TLSConfig(client_cert=read(cert, "TEMPORAL_TLS_CERT"), client_private_key=read(key, "TEMPORAL_TLS_KEY"),
                       server_root_ca_cert=read(ca, "TEMPORAL_TLS_CA"))
    if problems:
        raise TemporalTlsError("Temporal TLS settings: " + "; ".join(problems), {"problems": problems})
    return config


async def connect(address: str, namespace: str = "default", *, secrets_key: str, tls: TLSConfig | bool = False,
                  lazy: bool = False) -> Client:
    """The one way Tideway makes a Temporal client: its data converter encrypts every payload
    with a key derived from ``secrets_key`` (core/infra/payload_codec.py), and workers built on the
    client use the same converter; ``tls`` comes from :func:`tls_config`."""
    return await Client.connect(address, namespace=namespace, data_converter=data_converter(secrets_key),
                                tls=tls, lazy=lazy)


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
