"""The injected environment: clock, randomness, default time zone and locale."""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LanguageEnv:
    """Everything non-deterministic the language needs, injected by the caller.

    Inside a workflow pass ``now=workflow.now`` and ``random=workflow.random().random``.
    """

    now: Callable[[], datetime]
    random: Callable[[], float]
    timezone: str = "Europe/Paris"
    locale: str = "en"


#: Real clock and ``random.random``: for use outside workflows only.
DEFAULT_ENV = LanguageEnv(now=_utc_now, random=_random.random)
