"""Custom Code's `require('crypto')`, `Buffer`, `atob`/`btoa` and `TextEncoder`: results exact
against Python's own hashlib, hmac and cryptography (core/custom_code, docs/custom-code.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from core.custom_code import CodeLimits, CustomCodeError, run_function

LIMITS = CodeLimits(timeout_seconds=5.0)
TEXT = "héllo wörld 😀"


def run(code: str, **parameters):
    return run_function("fn", code, parameters, LIMITS).value


def thrown(code: str, **parameters) -> str:
    with pytest.raises(CustomCodeError) as caught:
        run_function("fn", code, parameters, LIMITS)
    assert caught.value.details["reason"] == "thrown"
    return caught.value.details["message"]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, form=serialization.PrivateFormat.PKCS8, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, form, encryption).decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_create_hash_matches_hashlib(algorithm):
    expected = hashlib.new(algorithm, TEXT.encode()).digest()
    value = run("const c = require('crypto');\n"
                "return [c.createHash(alg).update(text).digest('hex'),\n"
                "        c.createHash(alg.toUpperCase()).update(text.slice(0, 3)).update(text.slice(3)).digest('base64'),\n"
                "        c.createHash(alg).update(Buffer.from(text)).digest().toString('hex'),\n"
                "        Buffer.isBuffer(c.createHash(alg).update(text).digest())]",
                alg=algorithm, text=TEXT)
    assert value == [expected.hex(), base64.b64encode(expected).decode(), expected.hex(), True]


def test_create_hash_of_bytes_and_encodings():
    data = bytes(range(256))
    value = run("const c = require('crypto');\n"
                "return [c.createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex'),\n"
                "        c.createHash('sha256').update(b64, 'base64').digest('hex'),\n"
                "        c.createHash('sha-256').update(new Uint8Array([1, 2, 3])).digest('base64url')]",
                b64=base64.b64encode(data).decode())
    assert value == [hashlib.sha256(data).hexdigest(), hashlib.sha256(data).hexdigest(),
                     base64.urlsafe_b64encode(hashlib.sha256(b"\x01\x02\x03").digest()).decode().rstrip("=")]


def test_an_unknown_digest_and_a_second_digest_fail_clearly():
    assert "digest 'whirlpool' is not supported" in thrown("require('crypto').createHash('whirlpool')")
    assert "Digest already called" in thrown(
        "const h = require('crypto').createHash('sha1'); h.digest('hex'); h.digest('hex')")


def test_create_hmac_matches_hmac():
    expected = hmac.new(b"s3cret", TEXT.encode(), "sha256").hexdigest()
    assert run("return require('crypto').createHmac('sha256', key).update(text).digest('hex')",
               key="s3cret", text=TEXT) == expected
    assert run("return require('crypto').createHmac('sha512', Buffer.from('00ff', 'hex')).update('x').digest('base64')"
               ) == base64.b64encode(hmac.new(b"\x00\xff", b"x", "sha512").digest()).decode()


@pytest.mark.parametrize("form", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL])
def test_create_sign_rsa_sha256_verifies_with_cryptography(rsa_key, form):
    signature = run("return require('crypto').createSign('RSA-SHA256').update(data).sign(key, 'base64')",
                    data=TEXT, key=pem(rsa_key, form))
    rsa_key.public_key().verify(base64.b64decode(signature), TEXT.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_an_rs256_jwt_assertion_built_in_javascript_verifies(rsa_key):
    code = """
        const crypto = require('crypto');
        const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const unsigned = encode({alg: 'RS256', typ: 'JWT'}) + '.' + encode({iss: email, aud, iat: 1700000000, exp: 1700003600});
        const signature = crypto.createSign('RSA-SHA256').update(unsigned).sign(key, 'base64')
          .replace(/=+$/, '').replace(/\\+/g, '-').replace(/\\//g, '_');
        return unsigned + '.' + signature;
    """
    token = run(code, email="robot@example.com", aud="https://oauth2.example.com/token", key=pem(rsa_key))
    claims = jwt.decode(token, public_pem(rsa_key), algorithms=["RS256"], audience="https://oauth2.example.com/token",
                        options={"verify_exp": False})
    assert claims["iss"] == "robot@example.com"


def test_sign_with_an_encrypted_key_and_verify_in_javascript(rsa_key):
    value = run("const c = require('crypto');\n"
                "const sig = c.createSign('sha512').update('m').sign({key, passphrase: 'pw'});\n"
                "return [sig.length, c.createVerify('RSA-SHA512').update('m').verify(pub, sig),\n"
                "        c.createVerify('RSA-SHA512').update('other').verify(pub, sig),\n"
                "        c.verify('sha512', Buffer.from('m'), pub, sig)]",
                key=pem(rsa_key, password=b"pw"), pub=public_pem(rsa_key))
    assert value == [256, True, False, True]


def test_ec_keys_sign_in_der_as_node_does():
    key = ec.generate_private_key(ec.SECP256R1())
    signature = run("return require('crypto').createSign('SHA256').update('data').sign(key, 'hex')", key=pem(key))
    key.public_key().verify(bytes.fromhex(signature), b"data", ec.ECDSA(hashes.SHA256()))


def test_a_bad_key_fails_without_echoing_it():
    secret_looking = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"
    message = thrown("return require('crypto').createSign('RSA-SHA256').update('x').sign(key, 'base64')",
                     key=secret_looking)
    assert "private key" in message and "TOPSECRET" not in message


def test_random_uuid_and_random_bytes():
    uuids, size, hexed, number = run("const c = require('crypto');\n"
                                     "return [[c.randomUUID(), c.randomUUID(), crypto.randomUUID()],\n"
                                     "        c.randomBytes(32).length, c.randomBytes(4).toString('hex'), c.randomInt(10)]")
    assert len(set(uuids)) == 3 and all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u)
                                        for u in uuids)
    assert size == 32 and re.fullmatch(r"[0-9a-f]{8}", hexed) and 0 <= number < 10
    assert "at most" in thrown("require('crypto').randomBytes(1e9)")


def test_timing_safe_equal():
    assert run("const c = require('crypto');\n"
               "return [c.timingSafeEqual(Buffer.from('ab'), Buffer.from('ab')), c.timingSafeEqual(Buffer.from('ab'), Buffer.from('ac'))]"
               ) == [True, False]


def test_buffer_round_trips():
    value = run("""
        const b = Buffer.from(text);
        return {
          length: b.length,
          hex: b.toString('hex'),
          base64: b.toString('base64'),
          back: [Buffer.from(b.toString('hex'), 'hex').toString(), Buffer.from(b.toString('base64'), 'base64').toString('utf8'),
                 Buffer.from(b.toString('base64url'), 'base64url').toString(), Buffer.from(b.toString('latin1'), 'latin1').equals(b)],
          fromArray: Buffer.from([104, 105, 256 + 33]).toString(),
          concat: Buffer.concat([Buffer.from('a'), Buffer.from([98]), new Uint8Array([99])]).toString(),
          isBuffer: [Buffer.isBuffer(b), Buffer.isBuffer(new Uint8Array(1)), Buffer.isBuffer('x')],
          json: JSON.parse(JSON.stringify(Buffer.from('hi'))),
          fromJson: Buffer.from({type: 'Buffer', data: [104, 105]}).toString(),
          slice: b.slice(0, 1).toString(), byteLength: Buffer.byteLength(text), alloc: Buffer.alloc(3, 'ab').toString(),
          compare: Buffer.compare(Buffer.from('a'), Buffer.from('b')), read: Buffer.from('0102', 'hex').readUInt16BE(0),
        };
    """, text=TEXT)
    data = TEXT.encode()
    assert value == {
        "length": len(data), "hex": data.hex(), "base64": base64.b64encode(data).decode(),
        "back": [TEXT, TEXT, TEXT, True], "fromArray": "hi!", "concat": "abc", "isBuffer": [True, False, False],
        "json": {"type": "Buffer", "data": [104, 105]}, "fromJson": "hi", "slice": "h", "byteLength": len(data),
        "alloc": "aba", "compare": -1, "read": 258}


def test_invalid_utf8_decodes_to_replacement_characters():
    assert run("return Buffer.from('ff61e282', 'hex').toString()") == "\ufffda\ufffd"
    assert run("return Buffer.from('\\ud800').toString('hex')") == "efbfbd"


def test_an_unknown_encoding_fails_naming_the_known_ones():
    assert "Unknown encoding: utf16le" in thrown("Buffer.from('x').toString('utf16le')")


def test_atob_btoa_and_text_encoding():
    assert run("return [btoa('hello'), atob('aGVsbG8='), new TextDecoder().decode(new TextEncoder().encode(text)),"
               " Array.from(new TextEncoder().encode('é'))]", text=TEXT) == ["aGVsbG8=", "hello", TEXT, [195, 169]]
    assert "Latin1" in thrown("btoa('😀')")
    assert "not valid base64" in thrown("atob('*')")


def test_require_buffer_and_node_prefix():
    assert run("return [require('buffer').Buffer === Buffer, require('node:crypto') === require('crypto')]") == [True, True]


def test_a_large_payload_hashes_exactly():
    data = "x" * 3_000_000
    assert run("return require('crypto').createHash('sha1').update(data).digest('hex')", data=data) == \
        hashlib.sha1(data.encode()).hexdigest()
    assert json.loads(json.dumps(run("return Buffer.from(data).toString('base64').length", data=data))) == 4_000_000
