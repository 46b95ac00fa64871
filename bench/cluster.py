"""The many-process shape as a bench system: ``tideway api`` and ``tideway worker`` replicas on
PostgreSQL against one Temporal dev server (docs/deploy.md, issue 22).

The processes are the ones the many-process drill starts (tests/drills/multiprocess.py), with the
rate limits off as in every bench system; the load is shared over the api replicas
(``urls``), and each replica's CPU is measured on its own. examples/hello is imported through the
API, as an operator would.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.systems import ROOT, System, TemporalDevServer
from cli.examples import zip_folder
from tests.drills.multiprocess import AUTH, PostgresSchema, TidewayProcess, free_port, process_env

READY_SECONDS = 90.0


class TidewayCluster(System):
    """``apis`` api and ``workers`` worker processes on a private PostgreSQL schema."""

    def __init__(self, apis: int = 2, workers: int = 2, endpoint: str = "simpleUserJourney",
                 extra_env: dict[str, str] | None = None):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="tw-cluster-bench-"))
        self.name = f"tideway-cluster[{apis} api + {workers} worker, postgresql]"
        self.apis_count, self.workers_count, self.endpoint = apis, workers, endpoint
        self.extra_env = extra_env or {}
        self.server = TemporalDevServer(self.folder, "file")
        self.schema = PostgresSchema()
        self.processes: list[TidewayProcess] = []
        self.database_url = ""
        self.workspace_id = ""
        self.urls: list[str] = []
        self.notes = {"dev_server": {"persistence": "file"}, "database": "postgresql (a private schema)",
                      "api_processes": apis, "worker_processes": workers,
                      "load": "connections shared out over the api processes"}

    def start(self) -> None:
        database_url = self.database_url = self.schema.create() or ""
        if not database_url:
            raise RuntimeError(f"PostgreSQL unreachable at {self.schema.base}")
        self.server.start()
        env = process_env(self.server.address, database_url, f"bench-{uuid.uuid4().hex[:8]}", self.folder / "data",
                          RATE_LIMIT_DISABLED="true", **self.extra_env)
        workers = [TidewayProcess("worker", f"worker{i}", env, self.folder / f"worker{i}.log")
                   for i in range(self.workers_count)]
        apis = [TidewayProcess("api", f"api{i}", env, self.folder / f"api{i}.log", free_port())
                for i in range(self.apis_count)]
        self.processes = [*workers, *apis]
        for proc in self.processes:
            proc.start()
        self._wait_ready(workers, apis)
        archive = zip_folder(ROOT / "examples" / "hello")
        answer = httpx.post(f"{apis[0].url}/v2/workspaces/import", content=archive, timeout=60,
                            headers={**AUTH, "content-type": "application/zip"})
        if answer.status_code != 200:
            raise RuntimeError(f"examples/hello not imported: {answer.status_code} {answer.text[:300]}")
        ws = self.workspace_id = answer.json()["workspace"]["id"]
        self.urls = [f"{api.url}/v2/workspaces/{ws}/webhooks/{self.endpoint}" for api in apis]
        self.url = self.urls[0]
        assert self.server.process is not None
        self.pids = {**{f"api {i}": proc.process.pid for i, proc in enumerate(apis) if proc.process},
                     **{f"worker {i}": proc.process.pid for i, proc in enumerate(workers) if proc.process},
                     "temporal dev server": self.server.process.pid}

    def _wait_ready(self, workers: list[TidewayProcess], apis: list[TidewayProcess]) -> None:
        deadline = time.monotonic() + READY_SECONDS
        for proc in workers:
            while "worker polling task queue" not in proc.log.read_text(errors="replace"):
                self._check(proc, deadline)
                time.sleep(0.2)
        for proc in apis:
            while True:
                self._check(proc, deadline)
                try:
                    if httpx.get(f"{proc.url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)

    @staticmethod
    def _check(proc: TidewayProcess, deadline: float) -> None:
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} {'exited' if not proc.alive() else 'not ready'}:\n{proc.tail()}")

    def stop(self) -> None:
        for proc in self.processes:
            proc.stop()
        self.server.stop()
        self.schema.drop()
        shutil.rmtree(self.folder, ignore_errors=True)
