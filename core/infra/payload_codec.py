"""Every Temporal payload encrypted (AES-256-GCM) before it leaves the process (issue 14 item 3).

Run inputs carry the resolved workspace config (its ``{{secret.X}}`` values included), fetch
activities carry URLs, headers and bodies with secrets interpolated, webhook runs carry the
caller's ``Authorization`` header: Temporal stores all of them in its history. This codec turns
each payload into ``encoding: binary/encrypted`` + a key id + ``nonce || ciphertext`` of the
whole original payload (metadata included), so the Temporal server, its database and its UI see
nothing but ciphertext. What the codec covers and what it cannot (workflow ids, search
attributes, …) is listed in docs/security.md, "Secrets in Temporal history".

The AES key is derived with HKDF-SHA256 from the Fernet secrets key (``TIDEWAY_SECRETS_KEY``)
under its own ``info`` label, so the Fernet key is never used raw for a second purpose. The key
id (another HKDF output, never the key) names the key in every payload, so keys can rotate later
and a process holding the wrong key says so instead of failing on garbage.

Decoding passes through a payload that is not encrypted: histories written before the codec
(and payloads typed into the Temporal UI without the codec) stay readable.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)

from schemas.errors import TidewayError

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12  # 96-bit random nonce per payload (NIST SP 800-38D): 2^32 payloads per key are safe
KEY_INFO = b"tideway temporal payload codec / aes-256-gcm key / v1"
KEY_ID_INFO = b"tideway temporal payload codec / key id / v1"


class PayloadCodecError(TidewayError):
    """A payload could not be decrypted: wrong key, or tampered with."""

    status = 500
    default_message = "Payload codec error"


def _fernet_key_bytes(secrets_key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(secrets_key.encode())
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise PayloadCodecError("TIDEWAY_SECRETS_KEY is not a valid Fernet key (32 url-safe base64-encoded "
                                "bytes): the Temporal payload codec derives its key from it")
    return raw


def _hkdf(material: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each serialized payload; the key id is also the associated data, so a
    ciphertext moved under another key id does not decrypt."""

    def __init__(self, secrets_key: str):
        material = _fernet_key_bytes(secrets_key)
        self._aead = AESGCM(_hkdf(material, KEY_INFO, 32))
        self.key_id = _hkdf(material, KEY_ID_INFO, 8).hex()
        self._key_id_bytes = self.key_id.encode()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), self._key_id_bytes)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: self._key_id_bytes}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec (or by a client without it): readable as is
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        if key_id != self.key_id:
            raise PayloadCodecError(
                f"A Temporal payload is encrypted with key id '{key_id}', this process has key id "
                f"'{self.key_id}': every api and worker process must share TIDEWAY_SECRETS_KEY")
        try:
            plain = self._aead.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], self._key_id_bytes)
        except InvalidTag:
            raise PayloadCodecError(f"A Temporal payload under key id '{key_id}' failed authentication: "
                                    "it was altered or truncated") from None
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


class _ProcessTypeAdapters(PydanticJSONPlainPayloadConverter):
    """Pydantic JSON with one cache of type adapters per process. The SDK makes a payload
    converter for every workflow run and every activity's serialization context, each with an
    empty cache of its own, so each run built its input's, its memo's and each result's
    ``TypeAdapter`` again (~0.3 ms of CPU per webhook run)."""

    _adapters = functools.lru_cache(maxsize=1024)(TypeAdapter)

    def __init__(self) -> None:
        super().__init__()
        self._type_adapter = _ProcessTypeAdapters._adapters


class TidewayPayloadConverter(CompositePayloadConverter):
    """The SDK's pydantic payload converter, with :class:`_ProcessTypeAdapters` for JSON."""

    def __init__(self) -> None:
        json_converter = _ProcessTypeAdapters()
        super().__init__(*(json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                           for c in DefaultPayloadConverter.default_encoding_payload_converters))


def data_converter(secrets_key: str) -> DataConverter:
    """Tideway's converter: pydantic JSON, every payload encrypted, and failure messages and stack
    traces moved into an encrypted attribute (a fetch error can name a URL holding a secret)."""
    return dataclasses.replace(pydantic_data_converter, payload_converter_class=TidewayPayloadConverter,
                               payload_codec=EncryptionCodec(secrets_key),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
