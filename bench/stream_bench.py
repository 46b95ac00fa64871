"""Live event streams under load (issue 14, item 15): the API's CPU with N idle SSE streams open,
and the webhook's latency with and without them.

Usage: .venv/bin/python bench/stream_bench.py [--streams 200] [--requests 300] [--idle 10]
       BENCH_TIDEWAY_ROOT=/tmp/old-checkout .venv/bin/python bench/stream_bench.py   # another version

Starts ``tideway run`` (api + worker in one process, SQLite, its own dev server; rate limits off,
stream caps raised so the N streams fit) through bench/systems.py, then, for 0 and N anonymous
streams on the example workspace (each an anonymous session, as a public page would open them):

* the CPU time of the tideway process over ``--idle`` seconds of nothing but open streams;
* the webhook (``simpleUserJourney``) p50/p95 over ``--requests`` sequential calls, and at 10
  connections for 10 s; every run's events are delivered to the open streams' read checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import concurrent, sequential  # noqa: E402
from bench.systems import Tideway  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _request(host: str, port: int, method: str, path: str, headers: dict[str, str],
                   body: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int]:
    reader, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                 .encode() + body)
    status = int((await reader.readuntil(b"\r\n")).split()[1])
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer, status


async def anonymous_token(host: str, port: int) -> str:
    reader, writer, status = await _request(host, port, "POST", "/v2/login/anonymous", {})
    raw = await reader.read(65536)
    writer.close()
    assert status == 200, raw
    # The body is one small JSON object, possibly chunked: take the part between the braces.
    text = raw.decode()
    token: str = json.loads(text[text.index("{"):text.rindex("}") + 1])["token"]
    return token


async def open_streams(url: str, count: int) -> tuple[list[asyncio.StreamWriter], list[asyncio.Task[None]]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    workspace = parts.path.split("/")[3]
    writers, readers = [], []

    async def drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    for _ in range(count):
        token = await anonymous_token(host, port)
        reader, writer, status = await _request(host, port, "GET", f"/v2/workspaces/{workspace}/events/stream",
                                                {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        if status != 200:
            raise RuntimeError(f"stream refused: HTTP {status}")
        writers.append(writer)
        readers.append(asyncio.create_task(drain(reader)))
    return writers, readers


async def measure(system: Tideway, streams: int, requests: int, idle: float) -> dict[str, object]:
    writers, readers = await open_streams(system.url, streams) if streams else ([], [])
    await asyncio.sleep(2)  # every stream past its catch-up
    pid = system.pids["tideway (api+worker)"]
    before = cpu_seconds(pid)
    await asyncio.sleep(idle)
    idle_cpu = (cpu_seconds(pid) - before) / idle * 100
    seq = (await sequential(system.url, system.body, requests, system.check)).summary()
    c10 = (await concurrent(system.url, system.body, 10, 10.0, system.check)).summary()
    for writer in writers:
        writer.close()
    for task in readers:
        task.cancel()
    await asyncio.sleep(1)
    return {"streams": streams, "idle_cpu_percent": round(idle_cpu, 1), "seq_p50_ms": seq["p50_ms"],
            "seq_p95_ms": seq["p95_ms"], "seq_errors": seq["errors"], "c10_rps": c10["rps"],
            "c10_p50_ms": c10["p50_ms"], "c10_errors": c10["errors"]}


async def main(streams: int, requests: int, idle: float) -> None:
    system = Tideway(extra_env={"EVENTS_STREAM_MAX_PER_CALLER": str(streams + 10),
                                "EVENTS_STREAM_MAX_PER_PROCESS": str(streams + 10)})
    system.start()
    try:
        await sequential(system.url, system.body, 50, system.check)  # warm-up
        rows = [await measure(system, count, requests, idle) for count in (0, streams)]
    finally:
        system.stop()
    root = os.environ.get("BENCH_TIDEWAY_ROOT", "this checkout")
    print(f"stream bench ({root}):")
    for row in rows:
        print("  " + json.dumps(row))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(main(args.streams, args.requests, args.idle))
    print(f"  ({time.perf_counter() - started:.0f} s)")
