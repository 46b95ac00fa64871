"""Bench: what one run costs each process of the many-process shape, and what parked runs cost
in memory (issue 22, part 3; docs/scaling.md is generated from its JSON by bench/scaling_doc.py).

    .venv/bin/python bench/capacity.py [--runs 300] [--parked 10000] [--idle 120] [--json PATH]

Starts ``tideway api`` and ``tideway worker`` as separate processes on PostgreSQL against one
Temporal dev server (bench/cluster.py, one replica each so every CPU second has one owner),
then for each kind of run measures the CPU seconds of the api, the worker and the dev server
(children included) over ``--runs`` runs, divided per run:

* ``webhook``: examples/hello's ``simpleUserJourney`` (a set, a condition, an emit), 10 clients;
* ``event, 10 listeners``: a webhook run that emits one event which 10 automations listen to —
  the cost of the event, its 10 listener runs included (waited for in the database);
* ``fetch``: a webhook run with one ``fetch`` of a loopback HTTP server (a regular activity);
* ``waiting run``: a run started by an event that parks in ``wait`` (timeout 1 h).

Then ``--parked`` runs are left parked in ``wait`` and the resident memory of each process is
sampled as they accumulate and after ``--idle`` seconds with all of them parked: Temporal keeps
a parked run, the worker only its cache of recent runs (bounded), so the worker stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import loadgen  # noqa: E402
from bench.cluster import TidewayCluster  # noqa: E402
from bench.run_all import RESULTS, cpu_seconds  # noqa: E402
from tests.drills.multiprocess import AUTH  # noqa: E402

LISTENERS = 10
PROCESSES = {"api 0": "api", "worker 0": "worker", "temporal dev server": "temporal"}


def workspace(stub_url: str) -> dict[str, Any]:
    automations: dict[str, Any] = {
        "emitter": {"name": "emitter", "when": {"endpoint": True},
                    "do": [{"emit": {"event": "cap.fan", "payload": {"n": "{{body.n}}"}}}], "output": "ok"},
        "fetcher": {"name": "fetcher", "when": {"endpoint": True},
                    "do": [{"fetch": {"url": f"{stub_url}/ok", "method": "get", "output": "answer"}}],
                    "output": {"status": "{{answer.ok}}"}},
        "parker": {"name": "parker", "when": {"events": ["cap.park"]},
                   "do": [{"wait": {"oneOf": [{"event": "cap.never"}], "timeout": 3600, "output": "got"}}]},
    }
    for i in range(LISTENERS):
        automations[f"listener{i}"] = {"name": f"listener{i}", "when": {"events": ["cap.fan"]},
                                       "do": [{"set": {"name": "n", "value": "{{payload.n}}"}}], "output": "{{n}}"}
    return {"name": "Capacity", "slug": "capacity", "automations": automations}


class Stub:
    """A loopback HTTP server answering ``{"ok": true}`` (the fetch target)."""

    def __init__(self) -> None:
        self.server: asyncio.AbstractServer | None = None
        self.url = ""

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    if length:
                        await reader.readexactly(length)
                    body = b'{"ok": true}'
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"


class Bench:
    def __init__(self, cluster: TidewayCluster):
        self.cluster = cluster
        self.api = cluster.urls[0].split("/v2/")[0]
        self.http = httpx.AsyncClient(base_url=self.api, timeout=120, headers=AUTH)
        self.ws = ""

    def cpu(self) -> dict[str, float]:
        return {PROCESSES[name]: cpu_seconds(pid) for name, pid in self.cluster.pids.items() if name in PROCESSES}

    def rss_mb(self) -> dict[str, float]:
        out = {}
        for name, pid in self.cluster.pids.items():
            if name in PROCESSES:
                procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
                out[PROCESSES[name]] = round(sum(p.memory_info().rss for p in procs) / 2**20, 1)
        return out

    async def count(self, table: str, where: str = "") -> int:
        import psycopg

        schema = self.cluster.schema
        async with await psycopg.AsyncConnection.connect(
                schema.base.replace("postgresql+psycopg://", "postgresql://"),
                options=f"-csearch_path={schema.name}", autocommit=True) as conn:
            row = await (await conn.execute(f"SELECT count(*) FROM {table} {where}")).fetchone()
            return int(row[0]) if row else 0

    async def executed(self) -> int:
        return await self.count("events", f"WHERE workspace_id = '{self.ws}' AND type = 'runtime.automations.executed'")

    async def until(self, what: str, check: Any, target: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while (value := await check()) < target:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: {value} of {target} after {timeout:.0f} s")
            await asyncio.sleep(0.2)

    async def measured(self, name: str, runs: int, work: Any) -> dict[str, Any]:
        await asyncio.sleep(1.0)
        before, started = self.cpu(), time.perf_counter()
        await work()
        await asyncio.sleep(1.5)  # the server's close-of-run work (visibility) lands after the answer
        after, elapsed = self.cpu(), time.perf_counter() - started
        per_run = {key: round((after[key] - before[key]) / runs * 1000, 2) for key in after}
        result = {"runs": runs, "seconds": round(elapsed, 1), "cpu_ms_per_run": per_run,
                  "cpu_ms_per_run_total": round(sum(per_run.values()), 2)}
        print(f"{name:>20}: {runs} in {elapsed:.1f} s; CPU ms per run: "
              + ", ".join(f"{k} {v}" for k, v in per_run.items()) + f"; total {result['cpu_ms_per_run_total']}",
              flush=True)
        return result

    def hook(self, endpoint: str) -> str:
        return f"{self.api}/v2/workspaces/{self.ws}/webhooks/{endpoint}"

    async def load(self, url: str, runs: int, body: Any, connections: int = 10) -> None:
        """At least ``runs`` webhook calls from ``connections`` clients; any error stops the bench."""
        done = 0
        while done < runs:
            phase = await loadgen.concurrent(url, body, connections, 0.5)
            if phase.errors:
                raise RuntimeError(f"{url}: {phase.errors} errors: {phase.error_samples}")
            done += len(phase.latencies)

    async def run(self, runs: int, parked: int, idle: float, stub: Stub) -> dict[str, Any]:
        created = await self.http.post("/v2/workspaces/import", json=workspace(stub.url))
        assert created.status_code == 200, created.text
        self.ws = created.json()["workspace"]["id"]
        out: dict[str, Any] = {}
        # Warm every path once (caches, connections), then measure.
        hello = self.cluster.workspace_id
        await loadgen.concurrent(f"{self.api}/v2/workspaces/{hello}/webhooks/simpleUserJourney", {"name": "Ada"}, 10, 3)
        await self.load(self.hook("fetcher"), 30, {})
        in_hello = f"WHERE workspace_id = '{hello}'"
        logged = await self.count("events", in_hello)
        out["webhook"] = await self.measured("webhook", runs, lambda: self.load(self.cluster.urls[0], runs, {"name": "Ada"}))
        # Events a webhook run writes (its emit, the interaction, the end of run), for the model.
        out["webhook"]["events_per_run"] = round((await self.count("events", in_hello) - logged) / runs, 2)
        events = max(10, runs // LISTENERS)

        async def fan() -> None:
            floor = await self.executed()
            for start in range(0, events, 10):
                await asyncio.gather(*(self.http.post(f"/v2/workspaces/{self.ws}/webhooks/emitter", json={"n": start + i})
                                       for i in range(min(10, events - start))))
            await self.until("listener runs", self.executed, floor + events * (LISTENERS + 1))

        fanned = await self.measured("event, 10 listeners", events, fan)
        fanned["listener_runs_per_event"] = LISTENERS
        out["event_10_listeners"] = fanned
        out["fetch"] = await self.measured("fetch", runs, lambda: self.load(self.hook("fetcher"), runs, {}))
        out["waiting_run"] = await self.measured("waiting run", min(runs, 500), lambda: self._park(min(runs, 500)))
        out["parked"] = await self._memory(parked, idle)
        return out

    async def _park(self, count: int) -> None:
        before = await self.count("waits")
        for start in range(0, count, 100):
            batch = [{"type": "cap.park", "payload": {"i": start + i}} for i in range(min(100, count - start))]
            sent = await self.http.post(f"/v2/workspaces/{self.ws}/events", json={"events": batch})
            assert sent.status_code == 200, sent.text
        await self.until("parked runs", lambda: self.count("waits"), before + count)

    async def _memory(self, parked: int, idle: float) -> dict[str, Any]:
        samples = [{"parked": await self.count("waits"), **self.rss_mb()}]
        step = max(500, parked // 8)
        while samples[-1]["parked"] < parked:
            await self._park(int(min(step, parked - samples[-1]["parked"])))
            samples.append({"parked": await self.count("waits"), **self.rss_mb()})
            print(f"  parked {samples[-1]['parked']}: RSS MB {self.rss_mb()}", flush=True)
        await asyncio.sleep(idle)
        samples.append({"parked": await self.count("waits"), "after_idle_s": idle, **self.rss_mb()})
        print(f"  after {idle:.0f} s idle: RSS MB {self.rss_mb()}", flush=True)
        return {"samples": samples}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--parked", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=120.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cluster = TidewayCluster(apis=1, workers=1)
    await asyncio.to_thread(cluster.start)
    stub = Stub()
    await stub.start()
    bench = Bench(cluster)
    try:
        results = await bench.run(args.runs, args.parked, args.idle, stub)
    finally:
        await bench.http.aclose()
        await asyncio.to_thread(cluster.stop)
    report = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join(["bench/capacity.py", *sys.argv[1:]]),
              "machine": {"cpus": psutil.cpu_count(), "platform": platform.platform(),
                          "python": platform.python_version()},
              "shape": "1 tideway api + 1 tideway worker process, PostgreSQL, Temporal dev server (file)",
              "results": results}
    path = args.json or RESULTS / f"capacity-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)
