"""The systems under test for bench/run_all.py: each starts its processes and stops them.

Every system exposes ``url`` (the webhook), ``pids`` (named processes whose CPU time is
measured, children included) and ``stop()``. Temporal dev servers are always started here
(free ports, temporary folder) so the dev server's options are explicit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from core.infra.devserver import FILE_PRAGMAS, port_busy, temporal_binary
from core.infra.temporal import dev_server_search_attribute_args

ROOT = Path(__file__).resolve().parents[1]
POLL_RPS_ARGS = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def _spawn(args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited ({process.returncode}); see {log}")
        if port_busy("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} not open within {timeout:.0f} s; see {log}")


class TemporalDevServer:
    """``temporal server start-dev``: ``persistence`` is "file" (as make run) or "memory"."""

    def __init__(self, folder: Path, persistence: str = "file", poll_rps: bool = False,
                 search_attributes: bool = True):
        self.folder = folder
        self.port, self.ui_port = free_port(), free_port()
        self.persistence, self.poll_rps = persistence, poll_rps
        args = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
                "--ui-port", str(self.ui_port), "--ui-disable-news-fetch", "--log-level", "warn"]
        if persistence in ("file", "file-plain"):  # file: as make run starts it; file-plain: no pragmas
            args += ["--db-filename", str(folder / "temporal.db")]
            if persistence == "file":
                args += FILE_PRAGMAS
        if search_attributes:
            args += dev_server_search_attribute_args()
        if poll_rps:
            args += POLL_RPS_ARGS
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = _spawn(self.args, self.folder / "temporal.log")
        _wait_port(self.port, self.process, self.folder / "temporal.log")

    def stop(self) -> None:
        _stop(self.process)


class System:
    name = ""
    body: Any = {"name": "Ada"}

    def __init__(self) -> None:
        self.url = ""
        self.urls: list[str] = []  # several api replicas: the load is shared out over them
        self.pids: dict[str, int] = {}
        self.notes: dict[str, Any] = {}

    def check(self, raw: bytes) -> bool:
        """The response carries the automation's output."""
        return b'"content":"Doe"' in raw.replace(b" ", b"")

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Tideway(System):
    """``tideway run`` (cli/launcher.py) on a dev server started here; rate limits disabled."""

    def __init__(self, persistence: str = "file", poll_rps: bool = False, extra_env: dict[str, str] | None = None,
                 root: Path | None = None, label: str = "", endpoint: str = "simpleUserJourney"):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="tw-bench-"))
        self.name = f"tideway[{persistence}{',pollrps' if poll_rps else ''}{',' + label if label else ''}]"
        # Another checkout (e.g. ``git worktree add /tmp/before <commit>``) run with this venv:
        # before/after comparisons interleaved in one run_all.py run (--compare-root).
        self.root = root
        self.server = TemporalDevServer(self.folder, persistence, poll_rps)
        self.extra_env = extra_env or {}
        self.endpoint = endpoint
        self.process: subprocess.Popen[bytes] | None = None
        self.notes = {"dev_server": {"persistence": persistence, "transferProcessorMaxPollRPS": 10000 if poll_rps
                                     else "default (20)"}, **({"env": self.extra_env} if self.extra_env else {})}

    def start(self) -> None:
        self.server.start()
        port = free_port()
        env = {**os.environ, "TIDEWAY_PORT": str(port), "TIDEWAY_DATA_DIR": str(self.folder / "data"),
               "TEMPORAL_ADDRESS": self.server.address, "RATE_LIMIT_DISABLED": "true", **self.extra_env}
        env.pop("DATABASE_URL", None)
        log = self.folder / "tideway.log"
        # ``python -m cli.main run`` is ``tideway run``; BENCH_TIDEWAY_ROOT runs another checkout
        # (e.g. ``git archive HEAD``) with this venv, for measuring while the tree is mid-edit.
        root = self.root or Path(os.environ.get("BENCH_TIDEWAY_ROOT", ROOT))
        self.process = _spawn([sys.executable, "-m", "cli.main", "run"], log, env, cwd=root)
        _wait_port(port, self.process, log)
        time.sleep(0.5)
        text = log.read_text()
        found = re.search(r"example hello: \w+ \(workspace (\S+), revision", text)
        if not found:
            raise RuntimeError(f"workspace 'hello' not imported; see {log}")
        self.url = f"http://127.0.0.1:{port}/v2/workspaces/{found.group(1)}/webhooks/{self.endpoint}"
        assert self.server.process is not None
        self.pids = {"tideway (api+worker)": self.process.pid, "temporal dev server": self.server.process.pid}

    def stop(self) -> None:
        _stop(self.process)
        self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class NaiveBaseline(System):
    """bench/baseline: FastAPI endpoint + worker process + a plain ``temporal server start-dev``
    (in memory, default dynamic config: what a user following the DSL sample runs)."""

    name = "naive-temporal"

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="naive-bench-"))
        self.server = TemporalDevServer(self.folder, "memory", poll_rps=False, search_attributes=False)
        self.worker: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.notes = {"dev_server": {"persistence": "memory", "transferProcessorMaxPollRPS": "default (20)"},
                      "steps": "4 regular activities per run (set, condition, emit, output)"}

    def start(self) -> None:
        self.server.start()
        env = {**os.environ, "TEMPORAL_ADDRESS": self.server.address}
        log = self.folder / "baseline.log"
        self.worker = _spawn([sys.executable, "-m", "bench.baseline.worker", self.server.address,
                              str(self.folder / "events.db")], log, env)
        port = free_port()
        self.api = _spawn([sys.executable, "-m", "uvicorn", "bench.baseline.api:app", "--host", "127.0.0.1",
                           "--port", str(port), "--log-level", "warning"], log, env)
        _wait_port(port, self.api, log)
        self.url = f"http://127.0.0.1:{port}/webhooks/simpleUserJourney"
        deadline = time.monotonic() + 30
        while "baseline worker ready" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.server.process is not None
        self.pids = {"baseline api": self.api.pid, "baseline worker": self.worker.pid,
                     "temporal dev server": self.server.process.pid}

    def stop(self) -> None:
        _stop(self.api)
        _stop(self.worker)
        self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class N8n(System):
    """The optional peer (bench/peers.py): executions not saved; on SQLite (``env.sh``) or on the
    local PostgreSQL server (``db="postgresdb"``)."""

    def __init__(self, db: str = "sqlite") -> None:
        super().__init__()
        from bench.peers import URL, N8nProcess, installed_version

        self.name = "n8n" if db == "sqlite" else f"n8n[{db}]"
        self.process = N8nProcess("none", db)
        self.url = URL
        self.notes = {"version": installed_version(), "executions_saved": "none", "db": db}

    def check(self, raw: bytes) -> bool:
        return b'"content":"Doe"' in raw.replace(b" ", b"")

    def start(self) -> None:
        self.process.start()
        self.pids = {"n8n": self.process.pid}

    def stop(self) -> None:
        self.process.stop()


def smoke(system: System) -> str:
    response = httpx.post(system.url, json=system.body, timeout=30)
    return f"{response.status_code} {response.text[:200]}"
