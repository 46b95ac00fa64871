"""The one load generator used for every system: raw asyncio HTTP/1.1 with keep-alive.

Cheaper per request than an httpx client (it shares the 2 cores with the systems under
test), the same for all systems, and it only needs the standard library.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class Connection:
    def __init__(self, url: str, body: Any, timeout: float = 30.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        payload = json.dumps(body).encode()
        self.request = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                        "Connection: keep-alive\r\n\r\n").encode() + payload
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (OSError, ConnectionError):
                pass
        self.reader = self.writer = None

    async def post(self) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._post(), self.timeout)

    async def _post(self) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def record_error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] * 1000, 2) if lat else None

        return {"requests": len(lat), "errors": self.errors, "elapsed_s": round(self.elapsed, 2),
                "rps": round(len(lat) / self.elapsed, 1) if self.elapsed else None,
                "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
                "error_samples": self.error_samples}


async def _one(conn: Connection, phase: Phase, check: Any) -> None:
    start = time.perf_counter()
    try:
        status, body = await conn.post()
    except Exception as exc:  # timeouts, resets: counted, connection reopened
        phase.record_error(f"{exc.__class__.__name__}: {exc}")
        await conn.close()
        return
    took = time.perf_counter() - start
    if status != 200 or (check is not None and not check(body)):
        phase.record_error(f"HTTP {status}: {body[:150]!r}")
        return
    phase.latencies.append(took)


async def sequential(url: str, body: Any, count: int, check: Any = None) -> Phase:
    phase, conn = Phase(), Connection(url, body)
    start = time.perf_counter()
    for _ in range(count):
        await _one(conn, phase, check)
    phase.elapsed = time.perf_counter() - start
    await conn.close()
    return phase


async def concurrent(url: str | Sequence[str], body: Any, connections: int, duration: float,
                     check: Any = None) -> Phase:
    """``connections`` closed-loop clients for ``duration`` seconds (requests in flight at the end
    finish). Several URLs (api replicas) are shared out: client ``i`` uses ``urls[i % len(urls)]``."""
    phase = Phase()
    deadline = time.perf_counter() + duration
    urls = [url] if isinstance(url, str) else list(url)

    async def client(index: int) -> None:
        conn = Connection(urls[index % len(urls)], body)
        while time.perf_counter() < deadline:
            await _one(conn, phase, check)
        await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(connections)))
    phase.elapsed = time.perf_counter() - start
    return phase
