"""Bounds that keep a hostile template from stalling a worker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LanguageLimits:
    #: longest ``{% %}`` expression / condition source accepted (characters)
    max_expression_length: int = 10_000
    #: longest template string processed (characters); longer strings raise
    max_template_length: int = 1_000_000
    #: deepest nesting of parentheses, function calls, nested ``{% %}`` and ``{{ }}``
    max_nesting_depth: int = 32
    #: longest regular expression pattern (characters) given to ``matches``/``replace``
    max_regex_length: int = 2_000
    #: entries kept in each parse cache (templates, expressions, paths, regexes)
    max_cache_entries: int = 4_096


_current = [LanguageLimits()]


def configure(limits: LanguageLimits) -> None:
    """Replace the process-wide limits (call once at start-up)."""
    if not isinstance(limits, LanguageLimits):
        raise TypeError("configure() expects a LanguageLimits instance")
    _current[0] = limits


def get_limits() -> LanguageLimits:
    return _current[0]


def cache_put(cache: dict, key: object, value: object) -> None:
    """Insert into a bounded insertion-ordered cache, evicting the oldest entry."""
    if len(cache) >= _current[0].max_cache_entries:
        try:
            del cache[next(iter(cache))]
        except (StopIteration, KeyError, RuntimeError):  # pragma: no cover - concurrent eviction
            pass
    cache[key] = value
