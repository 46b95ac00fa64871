"""Micro-benchmark of the automation language (plain script, not a test).

Run: ``.venv/bin/python bench/language_bench.py``. Prints operations per second for:
a simple ``{{a.b}}`` render, a 10-variable text template, and a 4-comparison ``conditions``
expression evaluated once parsed (the parse is cached by source text).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from language import DEFAULT_ENV, compile_expression, evaluate_condition, render  # noqa: E402

SCOPE = {
    "a": {"b": "hello"},
    "user": {"name": "Ada", "email": "ada@example.com", "age": 36, "roles": ["admin", "dev"]},
    "order": {"id": 1234, "total": 99.5, "items": [{"sku": "X1"}, {"sku": "Y2"}], "status": "paid"},
    "run": {"date": "2023-03-31T16:38:51.190Z", "correlationId": "abc"},
}
SIMPLE = "{{a.b}}"
TEXT10 = (
    "Hello {{user.name}} <{{user.email}}>, age {{user.age}}, first role {{user.roles[0]}}; "
    "order #{{order.id}} total {{order.total}} ({{order.status}}), first item "
    "{{order.items[0].sku}}, second {{order.items[1].sku}}, run {{run.correlationId}}."
)
CONDITION = (
    '{{user.age}} >= 18 and {{order.status}} == "paid" and {{order.total}} < 100 '
    "and {{user.name}} !== {{user.email}}"
)


def measure(label: str, fn: Callable[[], object], seconds: float = 1.5) -> float:
    fn()  # warm the caches
    n = 0
    batch = 1000
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            fn()
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            break
    rate = n / (now - start)
    print(f"{label:<48} {rate:>12,.0f} ops/s")
    return rate


def main() -> None:
    env = DEFAULT_ENV
    assert render(SIMPLE, SCOPE, env=env) == "hello"
    assert evaluate_condition(CONDITION, SCOPE, env=env) is True
    program = compile_expression(CONDITION)
    measure("render '{{a.b}}'", lambda: render(SIMPLE, SCOPE, env=env))
    measure("render 10-variable text template", lambda: render(TEXT10, SCOPE, env=env))
    measure("evaluate_condition (4 comparisons, cached)", lambda: evaluate_condition(CONDITION, SCOPE, env=env))
    measure("compiled program.fn (4 comparisons)", lambda: program.fn(SCOPE, env))
    measure(
        "render instruction dict (3 strings)",
        lambda: render({"set": {"name": "x", "value": "{{user.name}} / {% {{order.total}} * 2 %}"}}, SCOPE, env=env),
    )


if __name__ == "__main__":
    main()
