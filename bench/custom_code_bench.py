"""Latency and throughput of a trivial Custom Code call (core/custom_code, docs/custom-code.md).

    .venv/bin/python bench/custom_code_bench.py [--calls 2000] [--threads 2]

Measured in this process, outside Temporal: ``run_function`` with ``return a + b``, which is the
whole cost a ``Custom Code.run`` adds to a run besides the local activity (a fresh QuickJS context,
the prelude, the call, the JSON result, and the round trip to an engine process). Also shown:
the engine alone (``engine.run`` in this thread, no process: what the pipe round trip adds), the
same call using ``require('crypto')`` and ``Buffer``, and calls/s with ``--threads`` threads at
once (the engine pool has one process per CPU by default). Target (issue 18): under 2 ms at p50.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.custom_code import CodeLimits, engine, run_function, shutdown_pool, warm_up  # noqa: E402

LIMITS = CodeLimits()
TRIVIAL = "return a + b"
CRYPTO = "return require('crypto').createHash('sha256').update(Buffer.from(s, 'base64')).digest('hex')"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"p50 {p50 * 1e3:6.3f} ms   p95 {p95 * 1e3:6.3f} ms   p99 {p99 * 1e3:6.3f} ms"


def latencies(call: Callable[[], object], count: int) -> list[float]:
    for _ in range(min(50, count)):
        call()  # warm: engine processes started, caches filled
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def throughput(call: Callable[[], object], count: int, threads: int) -> float:
    each = count // threads

    def work() -> None:
        for _ in range(each):
            call()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - started)


async def webhook(requests: int, duration: float) -> None:
    """What one Custom Code call adds to a webhook run: `tideway run` (examples/hello), its
    `simpleUserJourney` and `codeJourney` (the same plus a `Custom Code.run`), interleaved."""
    from bench import loadgen
    from bench.systems import Tideway

    system = Tideway()
    system.start()
    try:
        plain, code = system.url, system.url.rsplit("/", 1)[0] + "/codeJourney"
        for url in (plain, code):  # warm-up: engine processes, caches
            await loadgen.sequential(url, system.body, 30, system.check)
        for label, url in (("simpleUserJourney", plain), ("codeJourney", code), ("simpleUserJourney", plain),
                           ("codeJourney", code)):
            seq = (await loadgen.sequential(url, system.body, requests, system.check)).summary()
            c10 = (await loadgen.concurrent(url, system.body, 10, duration, system.check)).summary()
            print(f"{label:18} seq p50 {seq['p50_ms']} ms, p95 {seq['p95_ms']} ms; c10 {c10['rps']} req/s, "
                  f"errors {seq['errors'] + c10['errors']}", flush=True)
    finally:
        system.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--webhook", action="store_true", help="measure through webhooks on `tideway run` instead")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each c10 phase (--webhook)")
    args = parser.parse_args()
    if args.webhook:
        import asyncio

        asyncio.run(webhook(300, args.duration))
        return 0
    started = time.perf_counter()
    warm_up(args.threads)
    print(f"engine processes started: {args.threads} in {time.perf_counter() - started:.2f} s", flush=True)

    def trivial() -> object:
        return run_function("add", TRIVIAL, {"a": 1, "b": 2}, LIMITS).value

    def crypto() -> object:
        return run_function("hash", CRYPTO, {"s": "aGVsbG8gd29ybGQ="}, LIMITS).value

    def in_thread() -> object:
        return engine.run(TRIVIAL, ["a", "b"], '{"a": 1, "b": 2}', LIMITS).value_json

    assert trivial() == 3
    print(f"run_function, return a + b:     {percentiles(latencies(trivial, args.calls))}", flush=True)
    print(f"engine.run in this thread:      {percentiles(latencies(in_thread, args.calls))}", flush=True)
    print(f"run_function, crypto + Buffer:  {percentiles(latencies(crypto, args.calls // 2))}", flush=True)
    print(f"throughput, 1 thread:           {throughput(trivial, args.calls, 1):7.0f} calls/s", flush=True)
    print(f"throughput, {args.threads} threads:          {throughput(trivial, args.calls, args.threads):7.0f} calls/s",
          flush=True)
    shutdown_pool()
    return 0


if __name__ == "__main__":
    sys.exit(main())
