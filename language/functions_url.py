"""URL functions: ``URL(...)`` and its fields, ``URLSearchParams``, and JavaScript's URI encoders."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urljoin, urlsplit

from .calls import CallInfo, Impl, arg, arity, type_name, want_string, want_text
from .jsmodel import js_to_string
from .undefined import UNDEFINED

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*\Z")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def _url_fields(text: str) -> dict[str, Any] | None:
    """The fields of JavaScript's ``new URL(text)``, or ``None`` when ``text`` is not an absolute URL."""
    text = text.strip(_C0_AND_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # bad IPv6 brackets, port out of range
        return None
    scheme = parts.scheme.lower()
    if not scheme or not _SCHEME.match(scheme):
        return None
    special = scheme in _DEFAULT_PORTS
    hostname = parts.hostname or ""
    if special and not hostname:
        return None
    if not hostname.isascii():
        try:
            hostname = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    shown_host = f"[{hostname}]" if ":" in hostname else hostname
    port_text = "" if port is None or port == _DEFAULT_PORTS.get(scheme) else str(port)
    host = shown_host + (":" + port_text if port_text else "")
    try:
        path = quote(parts.path, safe=_PATH_SAFE)
        query = quote(parts.query, safe=_QUERY_SAFE)
        fragment = quote(parts.fragment, safe=_QUERY_SAFE)
    except UnicodeError:  # lone surrogates
        return None
    if (special or scheme == "file") and not path:
        path = "/"
    username, password = parts.username or "", parts.password or ""
    credentials = (username + (":" + password if password else "") + "@") if username or password else ""
    search = "?" + query if query else ""
    hash_ = "#" + fragment if fragment else ""
    if parts.netloc or special or scheme == "file":
        href = f"{scheme}://{credentials}{host}{path}{search}{hash_}"
    else:
        href = f"{scheme}:{path}{search}{hash_}"
    return {
        "href": href,
        "origin": f"{scheme}://{host}" if special else "null",
        "protocol": scheme + ":",
        "username": username,
        "password": password,
        "host": host,
        "hostname": shown_host,
        "port": port_text,
        "pathname": path,
        "search": search,
        "hash": hash_,
        "searchParams": dict(parse_qsl(parts.query, keep_blank_values=True)),
    }


def fn_url(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    """``URL(url[, base])``: an object with ``href origin protocol username password host hostname
    port pathname search hash searchParams`` (``searchParams`` as an object, the last value of a
    repeated key winning)."""
    arity(args, info, 1, 2)
    text = want_string(args, info)
    if len(args) > 1 and args[1] is not UNDEFINED:
        base = _url_fields(want_string(args, info, 1))
        if base is None:
            raise info.error("the base is not an absolute URL")
        text = urljoin(base["href"], text)
    fields = _url_fields(text)
    if fields is None:
        raise info.error("the text is not an absolute URL (a relative one needs a base: URL(path, base))")
    return fields


# ---------------------------------------------------------------- URLSearchParams
def _form_encode(s: str) -> str:
    return quote_plus(s, safe="*-._").replace("~", "%7E")


def fn_urlsearchparams(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
    src = arg(args, 0)
    field = info.field or "asString"
    pairs: list[tuple[str, str]]
    if isinstance(src, str):
        text = src[1:] if src.startswith("?") else src
        pairs = parse_qsl(text, keep_blank_values=True)
    elif isinstance(src, Mapping):
        if field == "asJSON":
            return UNDEFINED
        pairs = [(js_to_string(k), js_to_string(v)) for k, v in src.items() if v is not UNDEFINED]
    elif src is UNDEFINED or src is None:
        if field == "asJSON":
            return UNDEFINED
        pairs = []
    else:
        return UNDEFINED
    if field == "asJSON":
        return dict(pairs)
    if field == "asString":
        return "&".join(_form_encode(k) + "=" + _form_encode(v) for k, v in pairs)
    return UNDEFINED


# ---------------------------------------------------------------- encodeURI*, decodeURI*
_COMPONENT_SAFE = "-_.!~*'()"
_URI_SAFE = _COMPONENT_SAFE + ";/?:@&=+$,#"
_RESERVED = frozenset(";/?:@&=+$,#")
_HEX = frozenset("0123456789abcdefABCDEF")


def _encoder(safe: str) -> Impl:
    def fn(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
        arity(args, info, 1, 1)
        try:
            return quote(want_text(args, info, 0), safe=safe)
        except UnicodeError:
            raise info.error("the text holds a lone surrogate, which cannot be encoded") from None

    return fn


def _decode(text: str, info: CallInfo, keep_reserved: bool) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "%":
            j = text.find("%", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        start = i
        raw = bytearray()
        while i < n and text[i] == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) < 2 or not set(pair) <= _HEX:
                raise info.error(f"malformed escape at character {i + 1}: '%' must be followed by two hex digits")
            raw.append(int(pair, 16))
            i += 3
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise info.error(f"the escapes at character {start + 1} are not valid UTF-8") from None
        if keep_reserved:  # decodeURI leaves escapes of reserved characters as they are
            pieces, at = [], start
            for ch in decoded:
                width = 3 * len(ch.encode("utf-8"))
                pieces.append(text[at : at + 3] if ch in _RESERVED else ch)
                at += width
            decoded = "".join(pieces)
        out.append(decoded)
    return "".join(out)


def _decoder(keep_reserved: bool) -> Impl:
    def fn(args: list[Any], info: CallInfo, scope: Any, env: Any) -> Any:
        arity(args, info, 1, 1)
        value = args[0]
        if type(value) is not str:
            raise info.error(f"expects a string, got {type_name(value)}")
        return _decode(value, info, keep_reserved)

    return fn


URL_FUNCTIONS: dict[str, Impl] = {
    "URL": fn_url,
    "URLSearchParams": fn_urlsearchparams,
    "encodeURIComponent": _encoder(_COMPONENT_SAFE),
    "encodeURI": _encoder(_URI_SAFE),
    "decodeURIComponent": _decoder(False),
    "decodeURI": _decoder(True),
}
