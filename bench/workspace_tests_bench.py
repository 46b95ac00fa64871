"""Throughput of offline ``tideway test`` (cli/workspace_tests, docs/workspace-tests.md).

    .venv/bin/python bench/workspace_tests_bench.py [--cases 2000] [--files 10]

Generates a workspace folder in a temporary directory: the `hello` webhook of examples/hello and
an `order` webhook that fetches a (mocked) price, emits an event and branches, with ``--cases``
simple cases spread over ``--files`` test files (half of each kind). Then runs them the way
``tideway test DIR`` does — the same function, in a subprocess, timed from its start (imports
and all) to its exit — and prints cases/s. Target (issue 21): 1,000 cases in under 60 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "examples" / "hello" / "automations" / "hello.yml"
ORDER = {
    "name": "order", "when": {"endpoint": True},
    "do": [
        {"fetch": {"url": "https://prices.example.com/items/{{body.sku}}", "output": "price"}},
        {"set": {"name": "total", "value": "{% {{price.amount}} * {{body.quantity}} %}"}},
        {"conditions": {"{{total}} > 100": [{"emit": {"event": "order.large", "payload": {"total": "{{total}}"}}}],
                        "default": [{"emit": {"event": "order.small", "payload": {"total": "{{total}}"}}}]}},
    ],
    "output": {"total": "{{total}}"},
}


def case(index: int) -> dict[str, object]:
    if index % 2 == 0:
        name = f"visitor {index}"
        return {"name": f"hello {index}", "webhook": {"endpoint": "hello", "body": {"name": name}},
                "expect": {"outputMatches": {"message": f"Hello, {name}!"},
                           "events": [{"type": "hello.greeted", "payload": {"who": name}}]}}
    quantity = index % 7 + 1
    total = quantity * 20
    return {"name": f"order {index}", "webhook": {"endpoint": "order", "body": {"sku": f"S{index}", "quantity": quantity}},
            "mocks": {"fetch": [{"method": "GET", "url": "https://prices.example.com/items/*", "body": {"amount": 20}}]},
            "expect": {"output": {"total": total},
                       "events": [{"type": "order.large" if total > 100 else "order.small", "payload": {"total": total}}],
                       "reached": ["do[2]"]}}


def build(folder: Path, cases: int, files: int) -> None:
    (folder / "automations").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "index.yml").write_text(yaml.safe_dump({"name": "Bench", "slug": "bench",
                                                      "config": {"value": {"greeting": "Hello"}}}))
    (folder / "automations" / "hello.yml").write_text(HELLO.read_text())
    (folder / "automations" / "order.yml").write_text(yaml.safe_dump(ORDER, sort_keys=False))
    per_file = -(-cases // files)
    for number in range(files):
        chosen = [case(i) for i in range(number * per_file, min(cases, (number + 1) * per_file))]
        if chosen:
            (folder / "tests" / f"bench{number:03}.yml").write_text(yaml.safe_dump({"cases": chosen}, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        build(folder, args.cases, args.files)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "cli.workspace_tests", str(folder), "--json"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"tideway test failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    counted = report["counts"]["passed"]
    inside = report["durationMs"] / 1000
    print(f"{counted} cases passed in {elapsed:.2f} s ({counted / elapsed:,.0f} cases/s, whole command); "
          f"{inside:.2f} s running them ({counted / inside:,.0f} cases/s once started)")
    print(f"1,000 cases: {1000 / (counted / elapsed):.1f} s (target: under 60 s)")


if __name__ == "__main__":
    main()
