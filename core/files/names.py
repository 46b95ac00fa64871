"""File names and media types as stored and as sent back in headers (docs/files.md, "Names").

A name is only a label: it never becomes a path, and it reaches a response only inside a
``Content-Disposition`` built here (RFC 6266), so it is cut down to something every client shows
the same way: the last path segment, no control or bidirectional-override characters, at most
``NAME_MAX`` characters, never empty.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

NAME_MAX = 255
DEFAULT_NAME = "upload"
DEFAULT_MIMETYPE = "application/octet-stream"
# RFC 6838 type/subtype tokens: what is stored is also the Content-Type header of the download.
_MIMETYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,16}$")


def _dropped(char: str) -> bool:
    # Cc: C0/C1 controls and DEL; Cf: bidi overrides (U+202E…), zero-width characters; Cs/Co/Cn:
    # surrogates, private use, unassigned. None has a place in a file name shown to someone.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")


def sanitize_name(raw: str | None, default: str = DEFAULT_NAME) -> str:
    """``../../etc/passwd`` is ``passwd``; ``a\\x00b.txt`` is ``ab.txt``; a name made only of dots,
    spaces or nothing is ``default``; a long name keeps its extension."""
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(char for char in text if not _dropped(char))
    text = text.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not text.strip("."):
        return default
    if len(text) > NAME_MAX:
        extension = _EXTENSION.search(text)
        suffix = extension.group(0) if extension else ""
        text = text[:NAME_MAX - len(suffix)] + suffix
    return text


def safe_mimetype(raw: str | None) -> str:
    """The media type without parameters, lower-cased, or ``application/octet-stream`` when it is
    not a plain ``type/subtype``."""
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _MIMETYPE.match(value) else DEFAULT_MIMETYPE


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact name as
    ``filename*`` (RFC 6266, RFC 5987): quotes, backslashes and non-ASCII never reach the
    quoted form."""
    fallback = "".join(char if 32 <= ord(char) < 127 and char not in '"\\%' else "_" for char in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
