"""The Python half of Custom Code's ``require('crypto')`` (crypto.js holds the JavaScript half).

Each function is synchronous, takes strings (names checked here; keys and signatures as base64;
the data as a JSON array of parts, each a text to encode in UTF-8 or ``{"b": base64}``) and
answers the bridge's string protocol: ``"=" + payload`` or ``"!" + message``. They never raise:
an exception escaping a host function would leave QuickJS and Python out of step (the binding
turns it into a ``SystemError`` once the script catches it). Messages never carry key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
MAX_RANDOM_BYTES = 1 << 20  # one call of randomBytes; Node allows more, no function needs it
_SURROGATE = re.compile("[\ud800-\udfff]")


class HostError(Exception):
    """A failure to report to the function as an Error with this message."""


def _bytes(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise HostError(f"{what}: not base64 (internal)") from None


def _data(parts_json: str) -> bytes:
    """The bytes of the data parts; lone surrogates in a text encode as U+FFFD, as in Node."""
    try:
        parts = json.loads(parts_json)
    except ValueError:
        raise HostError("data: not JSON (internal)") from None
    if not isinstance(parts, list):
        raise HostError("data: not a list (internal)")
    chunks = []
    for part in parts:
        if isinstance(part, str):
            chunks.append(_SURROGATE.sub("\ufffd", part).encode("utf-8"))
        elif isinstance(part, dict) and isinstance(part.get("b"), str):
            chunks.append(_bytes(part["b"], "data"))
        else:
            raise HostError("data: a part is neither text nor bytes (internal)")
    return b"".join(chunks)


def _hash(name: str) -> str:
    if name not in HASHES:
        raise HostError(f"digest '{name}' is not supported")
    return name


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def digest(algorithm: str, data: str) -> str:
    return _b64(hashlib.new(_hash(algorithm), _data(data)).digest())


def keyed_digest(algorithm: str, key: str, data: str) -> str:
    return _b64(hmac.new(_bytes(key, "key"), _data(data), _hash(algorithm)).digest())


@lru_cache(maxsize=32)
def _private_key(pem: bytes, passphrase: bytes) -> Any:
    """Parsed keys are kept: an RSA key's checks cost milliseconds, and a JWT assertion is signed
    on every call with the same key. Keyed by the PEM itself, so only its holder gets it back."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem, passphrase or None)
    except TypeError as exc:
        needs = "is encrypted: give {key, passphrase}" if "encrypted" in str(exc) else "is not encrypted: give no passphrase"
        raise HostError(f"the private key {needs}") from None
    except (ValueError, binascii.Error):
        raise HostError("the private key is not a PEM private key Tideway can read (PKCS#1 'RSA PRIVATE KEY', "
                        "PKCS#8 'PRIVATE KEY' or 'EC PRIVATE KEY'), or its passphrase is wrong") from None
    except Exception:  # cryptography's UnsupportedAlgorithm and kin
        raise HostError("the private key uses an algorithm Tideway does not support") from None


@lru_cache(maxsize=32)
def _public_key(pem: bytes) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        if b"CERTIFICATE" in pem:
            return x509.load_pem_x509_certificate(pem).public_key()
        if b"PRIVATE KEY" in pem:
            return _private_key(pem, b"").public_key()
        return load_pem_public_key(pem)
    except HostError:
        raise
    except Exception:
        raise HostError("the public key is not a PEM public key, certificate or private key Tideway can read") from None


def _algorithm(name: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    algorithms: dict[str, Callable[[], hashes.HashAlgorithm]] = {
        "md5": hashes.MD5, "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
        "sha384": hashes.SHA384, "sha512": hashes.SHA512}
    return algorithms[_hash(name)]()


def sign(algorithm: str, pem: str, passphrase: str, data: str) -> str:
    """RSA keys sign PKCS#1 v1.5 (RS256 and kin), EC keys ECDSA in DER, as Node's defaults."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    key = _private_key(_bytes(pem, "key"), _bytes(passphrase, "passphrase") if passphrase else b"")
    hash_algorithm = _algorithm(algorithm)
    payload = _data(data)
    if isinstance(key, rsa.RSAPrivateKey):
        return _b64(key.sign(payload, padding.PKCS1v15(), hash_algorithm))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _b64(key.sign(payload, ec.ECDSA(hash_algorithm)))
    raise HostError("sign: only RSA and EC private keys are supported")


def verify(algorithm: str, pem: str, signature: str, data: str) -> str:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    key = _public_key(_bytes(pem, "key"))
    hash_algorithm = _algorithm(algorithm)
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(_bytes(signature, "signature"), _data(data), padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(_bytes(signature, "signature"), _data(data), ec.ECDSA(hash_algorithm))
        else:
            raise HostError("verify: only RSA and EC public keys are supported")
    except InvalidSignature:
        return "0"
    return "1"


def random_bytes(size: str) -> str:
    if not size.isdigit() or int(size) > MAX_RANDOM_BYTES:
        raise HostError(f"randomBytes: at most {MAX_RANDOM_BYTES} bytes at once")
    return _b64(secrets.token_bytes(int(size)))


def random_uuid() -> str:
    return str(uuid.uuid4())


# name -> (function, how many of the bridge's string arguments it takes)
OPERATIONS: dict[str, tuple[Callable[..., str], int]] = {
    "hash": (digest, 2),
    "hmac": (keyed_digest, 3),
    "sign": (sign, 4),
    "verify": (verify, 4),
    "random": (random_bytes, 1),
    "uuid": (random_uuid, 0),
}


def preload() -> None:
    """Import what signing needs now (an engine process's start), not during a call's time."""
    from cryptography import x509  # noqa: F401
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: F401
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: F401


def call(name: str, arguments: tuple[Any, ...]) -> str:
    """Run one operation with the bridge's arguments, as the bridge's answer."""
    operation, arity = OPERATIONS[name]
    if len(arguments) < arity or not all(isinstance(argument, str) for argument in arguments):
        return "!invalid arguments (internal)"
    try:
        return "=" + operation(*arguments[:arity])
    except HostError as exc:
        return "!" + str(exc)
    except Exception as exc:  # never let an exception cross into QuickJS
        return "!" + type(exc).__name__ + " in the crypto host"
