"""The package is pure: no Temporal imports, time and randomness only through the env."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from language import DEFAULT_ENV, LanguageEnv, evaluate, render

ROOT = Path(__file__).resolve().parents[3]


def test_no_temporal_or_io_modules_imported() -> None:
    code = (
        "import sys, language as l; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('temporalio', 'httpx', 'sqlalchemy', 'fastapi')]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _exploding_env() -> LanguageEnv:
    def boom() -> float:
        raise AssertionError("env used although the template does not need it")

    return LanguageEnv(now=boom, random=boom)  # type: ignore[arg-type]


def test_env_is_only_used_when_needed() -> None:
    env = _exploding_env()
    assert render({"a": "{{x}} {% 1 + {{x}} %}", "b": '{% date("2023-01-01").year %}'}, {"x": 1}, env=env) == {
        "a": "1 2", "b": 2023,
    }


def test_time_and_randomness_come_from_env() -> None:
    calls: list[str] = []

    def now() -> datetime:
        calls.append("now")
        return datetime(2024, 2, 29, 12, 0, tzinfo=UTC)

    def rnd() -> float:
        calls.append("random")
        return 0.75

    env = LanguageEnv(now=now, random=rnd, timezone="UTC", locale="fr")
    assert evaluate('date(date(), "LL")', {}, env=env) == "29 février 2024"
    assert evaluate("rand(0, 100)", {}, env=env) == 75
    assert calls == ["now", "random"]


def test_default_env_uses_real_clock() -> None:
    before = datetime.now(UTC).timestamp() * 1000
    got = evaluate("date()", {}, env=DEFAULT_ENV)
    assert before - 1000 <= got <= datetime.now(UTC).timestamp() * 1000 + 1000
    assert 0 <= evaluate("rand()", {}) < 1
