"""docker-compose.yml's Tideway services run as local processes, without a Docker engine (issue 22).

:func:`run_compose` takes a loaded compose file (tests/unit/compose_check.py ``load``) and runs
each Tideway service's command with the service's environment, as its container would: the
init steps in ``depends_on`` order (each must exit 0), then the api and worker replicas. What the
images provide is stood in for: the ``temporal`` service by a Temporal dev server started here
*without* Tideway's search attributes (the init step must add them), the ``postgres`` service by
the local PostgreSQL (a fresh database). Hostnames and ports are mapped to local ones: a value
naming ``service:port`` points at the process standing in for it; ``TIDEWAY_PORT`` equal to the
api's container port becomes a free local port; ``0.0.0.0`` becomes ``127.0.0.1``. Nothing else
of the environment is added or fixed, so a misspelled variable or a wrong command shows.

Then: after the init steps the database is at the latest migration and the search attributes
exist (before any api or worker could do it themselves); each api replica's healthcheck URL
answers 200 (which needs a worker polling); a webhook run through every api replica completes
(which needs a worker running it). Answers the problems found (empty: the file works)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from schemas.search_attributes import SEARCH_ATTRIBUTES
from tests.api.compose_stand import Stand, migrated_to, migration_head, pollers, search_attributes
from tests.conformance.http_stub import free_port
from tests.unit.compose_check import (
    IMAGE_PORTS,
    ONE_SHOT,
    POSTGRES_IMAGES,
    ROOT,
    TEMPORAL_IMAGES,
    command,
    environment,
    image_of,
    published,
    role,
    tideway_services,
)

STEP_TIMEOUT = 90.0  # an init step (imports, migrations on an empty schema) or an api becoming healthy
HOST_ALL = ("0.0.0.0", "::", "[::]")


@dataclass
class Process:
    service: str
    replica: int
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    port: int | None = None  # the local port standing in for the container port

    @property
    def label(self) -> str:
        return f"{self.service}#{self.replica}"

    def start(self, cwd: Path) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, cwd=cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n    ".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

@dataclass
class Plan:
    """The processes standing in for the containers, and the local addresses standing in for theirs."""

    init: list[Process] = field(default_factory=list)
    long_running: list[Process] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def start_order(compose: Mapping[str, Any], names: list[str]) -> list[str]:
    """``depends_on`` order (Compose's), restricted to ``names``."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise ValueError(f"depends_on cycle: {' -> '.join((*path, name))}")
        for target in compose["services"][name].get("depends_on") or {}:
            if target in names:
                visit(target, (*path, name))
        done.append(name)

    for name in names:
        visit(name, ())
    return done


def one_shot(compose: Mapping[str, Any], name: str) -> bool:
    """Run to completion: an init step, or what another service waits to complete."""
    if role(compose["services"][name]) in ONE_SHOT:
        return True
    for other in compose["services"].values():
        depends = other.get("depends_on")
        if isinstance(depends, dict) and (depends.get(name) or {}).get("condition") == "service_completed_successfully":
            return True
    return False


def container_port(service: Mapping[str, Any]) -> int | None:
    ports = published(service)
    if ports:
        return ports[0][2]
    value = environment(service).get("TIDEWAY_PORT")
    return int(value) if value and value.isdigit() else None


def plan(compose: Mapping[str, Any], stand: Stand, workdir: Path, max_replicas: int) -> Plan:
    services = tideway_services(compose)
    result = Plan()
    replicas = {name: max(1, min(max_replicas, int((service.get("deploy") or {}).get("replicas", 1))))
                for name, service in services.items()}
    ports = {name: [free_port() for _ in range(replicas[name])] for name, service in services.items()
             if container_port(service) is not None and role(service) == "api"}
    # service:port -> the local address standing in for it (the first replica for a replicated api).
    addresses: dict[tuple[str, int], str] = {}
    for name, service in compose["services"].items():
        if image_of(service) in TEMPORAL_IMAGES:
            addresses[(name, IMAGE_PORTS[image_of(service)])] = stand.temporal_address
        elif name in ports:
            addresses[(name, int(container_port(service) or 0))] = f"127.0.0.1:{ports[name][0]}"
    databases = {name for name, service in compose["services"].items() if image_of(service) in POSTGRES_IMAGES}
    for name in start_order(compose, list(services)):
        service = services[name]
        argv = command(service)
        if not argv or argv[0] != "tideway":
            result.problems.append(f"{name}: command {argv} is not the tideway CLI; not runnable here")
            continue
        for replica in range(replicas[name]):
            env = {key: local_value(key, value, databases, addresses, stand) for key, value in environment(service).items()}
            port = ports[name][replica] if name in ports else None
            if port is not None and env.get("TIDEWAY_PORT", "8000") == str(container_port(service)):
                env["TIDEWAY_PORT"] = str(port)  # the container's port, mapped (any other value stays wrong)
            folder = workdir / f"{name}-{replica}"
            base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(folder),
                    "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
            process = Process(name, replica, [sys.executable, "-m", "cli.main", *argv[1:]], {**base, **env},
                              workdir / f"{name}-{replica}.log", port=port)
            (result.init if one_shot(compose, name) else result.long_running).append(process)
    return result


def local_value(key: str, value: str, databases: set[str], addresses: Mapping[tuple[str, int], str],
                stand: Stand) -> str:
    if key.upper() == "DATABASE_URL" and urlsplit(value).hostname in databases:
        return stand.database_url  # the credentials were checked against the service (compose_check)
    if key.upper() == "TIDEWAY_HOST" and value in HOST_ALL:
        return "127.0.0.1"  # all of a container's interfaces; here the loopback keeps the port private
    for (host, port), local in addresses.items():
        value = re.sub(rf"(?<![\w.-]){re.escape(host)}:{port}(?!\d)", local, value)
    return value


def health_url(service: Mapping[str, Any], process: Process) -> tuple[str | None, str | None]:
    """The api healthcheck's URL on the local port, or why it cannot be probed."""
    test = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
    found = re.search(r"https?://(?:127\.0\.0\.1|localhost):(\d+)(/[^'\"\s)]*)", test)
    if not found:
        return None, f"{process.service}: no healthcheck URL on the container's loopback: {test!r}"
    if int(found.group(1)) != container_port(service):
        return None, (f"{process.service}: the healthcheck probes port {found.group(1)}, the container "
                      f"listens on {container_port(service)}")
    return f"http://127.0.0.1:{process.port}{found.group(2)}", None


def run_compose(compose: Mapping[str, Any], stand: Stand, workdir: Path, max_replicas: int = 2) -> list[str]:
    """Run the Tideway services of ``compose`` here (see the module docstring); the problems found."""
    try:
        steps = plan(compose, stand, workdir, max_replicas)
    except ValueError as exc:
        return [str(exc)]
    if steps.problems:
        return steps.problems
    everything = steps.init + steps.long_running
    try:
        problems = run_init(steps.init, stand, workdir)
        if not problems:
            problems = run_long(compose, steps.long_running, workdir)
        return problems
    finally:
        for process in reversed(everything):
            process.stop()


def run_init(init: list[Process], stand: Stand, workdir: Path) -> list[str]:
    for process in init:
        process.start(workdir / process.label)
        assert process.popen is not None
        try:
            code = process.popen.wait(STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return [f"{process.label}: `{' '.join(process.argv[3:])}` still running after {STEP_TIMEOUT:.0f} s "
                    f"(an init step must finish):\n    {process.tail()}"]
        if code != 0:
            return [f"{process.label}: exited {code}:\n    {process.tail()}"]
    # What the api and workers may assume once the init steps are done (they start in parallel).
    problems = []
    head, found = migration_head(), migrated_to(stand)
    if found != head:
        problems.append(f"after the init steps the database is at migration {found}, not {head}")
    registered = search_attributes(stand.temporal_address) or set()
    missing = sorted(key.name for key in SEARCH_ATTRIBUTES if key.name not in registered)
    if missing:
        problems.append(f"after the init steps the search attributes {missing} are not registered")
    return problems


def run_long(compose: Mapping[str, Any], processes: list[Process], workdir: Path) -> list[str]:
    for process in processes:
        process.start(workdir / process.label)
    apis = [p for p in processes if role(compose["services"][p.service]) == "api"]
    workers = [p for p in processes if role(compose["services"][p.service]) == "worker"]
    if not apis or not workers:
        commands = ", ".join(f"{p.label}: tideway {' '.join(p.argv[3:])}" for p in processes)
        return [f"no {'api' if not apis else 'worker'} service runs (long-running: {commands})"]
    problems = []
    for api in apis:
        url, why = health_url(compose["services"][api.service], api)
        if why or url is None:
            problems.append(str(why))
            continue
        problems += wait_healthy(api, url, workers)
    if problems:
        return problems
    problems += webhook_runs(compose, apis)
    problems += every_worker_polls(workers)
    for process in processes:
        assert process.popen is not None
        if process.popen.poll() is not None:
            problems.append(f"{process.label}: exited {process.popen.returncode}:\n    {process.tail()}")
    return problems


def wait_healthy(api: Process, url: str, workers: list[Process]) -> list[str]:
    """The api's healthcheck answers 200 (it needs a worker polling); fails fast once they exit."""
    assert api.popen is not None
    deadline, last = time.monotonic() + STEP_TIMEOUT, "no answer"
    while time.monotonic() < deadline:
        if api.popen.poll() is not None:
            return [f"{api.label}: exited {api.popen.returncode} before answering {url}:\n    {api.tail()}"]
        exited = [w for w in workers if w.popen is not None and w.popen.poll() is not None]
        if len(exited) == len(workers):
            return [f"{w.label}: exited {w.popen.returncode if w.popen else None}:\n    {w.tail()}" for w in exited]
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return []
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = f"{exc.__class__.__name__}"
        time.sleep(0.3)
    return [f"{api.label}: {url} did not answer 200 within {STEP_TIMEOUT:.0f} s (last: {last}):\n    {api.tail()}"]


def every_worker_polls(workers: list[Process]) -> list[str]:
    """Each worker replica is a poller of its task queue (one identity per process)."""
    env = workers[0].env
    address = env.get("TEMPORAL_ADDRESS", "")
    namespace, queue = env.get("TEMPORAL_NAMESPACE", "default"), env.get("TEMPORAL_TASK_QUEUE", "tideway")
    found: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = asyncio.run(pollers(address, namespace, queue))
        if len(found) >= len(workers):
            return []
        time.sleep(0.5)
    return [f"{len(found)} poller(s) on task queue {queue!r} for {len(workers)} worker replica(s): {sorted(found)}"]


HELLO = {"name": "hello", "when": {"endpoint": True}, "do": [{"set": {"name": "greeting", "value": "Hello {{body.name}}"}}],
         "output": {"greeting": "{{greeting}}"}}


def webhook_runs(compose: Mapping[str, Any], apis: list[Process]) -> list[str]:
    """A workspace imported through one api replica, its webhook run through every one."""
    token = environment(compose["services"][apis[0].service]).get("TIDEWAY_ADMIN_TOKEN", "")
    base = f"http://127.0.0.1:{apis[0].port}"
    document = {"name": "Compose check", "slug": f"compose-{uuid.uuid4().hex[:6]}", "automations": {"hello": HELLO}}
    created = httpx.post(f"{base}/v2/workspaces/import", json=document, timeout=30,
                         headers={"authorization": f"Bearer {token}"})
    if created.status_code != 200:
        return [f"{apis[0].label}: workspace import answered {created.status_code} {created.text[:300]}"]
    workspace = created.json()["workspace"]["id"]
    problems = []
    for api in apis:
        name = f"Ada{api.replica}"
        answer = httpx.post(f"http://127.0.0.1:{api.port}/v2/workspaces/{workspace}/webhooks/hello",
                            json={"name": name}, timeout=60)
        if answer.status_code != 200 or f"Hello {name}" not in answer.text:
            problems.append(f"{api.label}: webhook run answered {answer.status_code} {answer.text[:300]}")
    return problems


