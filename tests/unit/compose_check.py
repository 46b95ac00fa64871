"""docker-compose.yml checked without a Docker engine (issue 22).

:func:`load` (tests/unit/compose_interpolation.py) reads the file as Compose does. :func:`static_problems`
answers what is wrong with the Tideway services (empty: nothing): commands the ``tideway`` CLI
does not have, variables ``core/infra/settings.py`` does not read, settings the scaled-out shape
needs but lacks, missing init steps, healthchecks, restart policies, replicas and networks. The
running half is tests/api/compose_runner.py; both are applied to mutated copies of the file by
the tests, which is what shows they catch a broken file."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.unit.compose_interpolation import ComposeError, interpolate, load

__all__ = ["ComposeError", "interpolate", "load", "static_problems"]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

# The Tideway commands a compose service may run, and whether each runs once or stays up.
ONE_SHOT = {"migrate", "register-search-attributes"}
LONG_RUNNING = {"api", "worker"}
# The images standing in for the state Tideway keeps elsewhere, with the port they listen on.
POSTGRES_IMAGES = ("postgres",)
TEMPORAL_IMAGES = ("temporalio/auto-setup", "temporalio/server")
IMAGE_PORTS = {"postgres": 5432, "temporalio/auto-setup": 7233, "temporalio/server": 7233}
# Variables read by name pattern rather than by Settings (core/workspaces/secrets.py, config_interpolation.py).
READ_BY_PREFIX = ("WORKSPACE_SECRET_", "WORKSPACE_CONFIG_")
# Settings every replica must share: one database, one Temporal, one key for secrets and payloads,
# one admin token and JWT secret (a session signed by one api process is checked by another).
SHARED = ("DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "TIDEWAY_SECRETS_KEY",
          "TIDEWAY_JWT_SECRET", "TIDEWAY_ADMIN_TOKEN")
# Set on every Tideway service of the scaled-out shape; the defaults only suit `make run` (SQLite,
# a dev server, keys generated into each container's own data folder, so replicas would disagree).
REQUIRED = {
    "DATABASE_URL": "the default is a SQLite file inside each container",
    "TEMPORAL_ADDRESS": "the default is 127.0.0.1:7233, the container itself",
    "TIDEWAY_SECRETS_KEY": "unset, each container generates its own key and cannot read the others' payloads",
}
REQUIRED_API = {
    "TIDEWAY_ADMIN_TOKEN": "unset, each api replica generates its own admin token",
    "TIDEWAY_JWT_SECRET": "unset, each api replica signs sessions with a key the others do not know",
    "TIDEWAY_HOST": "the default 127.0.0.1 is unreachable from outside the container",
    "TIDEWAY_PORT": "the port published and probed must be the one the api listens on",
}

def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, from either Compose form (mapping or ``KEY=value`` list)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {str(key): "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in raw.items()}


def dockerfile_cmd(path: Path = DOCKERFILE) -> list[str]:
    """The image's default command (a service without ``command`` runs it)."""
    import json

    cmds = [line[4:].strip() for line in path.read_text().splitlines() if line.startswith("CMD ")]
    if not cmds:
        return []
    last = cmds[-1]
    return list(json.loads(last)) if last.startswith("[") else ["/bin/sh", "-c", last]


def command(service: Mapping[str, Any]) -> list[str]:
    raw = service.get("command")
    if raw is None:
        return dockerfile_cmd()
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def image_of(service: Mapping[str, Any]) -> str:
    return str(service.get("image", "")).split(":", 1)[0]


def is_tideway(service: Mapping[str, Any]) -> bool:
    return "build" in service or image_of(service) == "tideway"


def tideway_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items() if is_tideway(service)}


def role(service: Mapping[str, Any]) -> str | None:
    """``api``, ``worker``, ``migrate`` or ``register-search-attributes``: the tideway command run."""
    argv = command(service)
    return argv[1] if len(argv) >= 2 and argv[0] == "tideway" else None


def setting_names() -> set[str]:
    """Every environment variable core/infra/settings.py reads (names are case-insensitive)."""
    from core.infra.settings import Settings
    from schemas.run_settings import RunSettings

    names = {(field.alias or name).upper() for name, field in Settings.model_fields.items() if name != "run"}
    return names | set(RunSettings.environment_names())


def setting_default(name: str) -> str | None:
    from core.infra.settings import Settings

    field = Settings.model_fields.get(name.lower())
    return None if field is None or field.default is None else str(field.default)


def command_problems(name: str, service: Mapping[str, Any]) -> list[str]:
    """The command is one the ``tideway`` CLI has, with options it accepts (parsed, not run)."""
    import typer

    from cli.app import app

    argv = command(service)
    if not argv or argv[0] != "tideway":
        return [f"{name}: command {argv} does not run the tideway CLI"]
    commands: dict[str, Any] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    sub = commands.get(argv[1]) if len(argv) > 1 else None
    if sub is None:
        return [f"{name}: `tideway {' '.join(argv[1:])}`: no such command"]
    try:
        sub.make_context(argv[1], argv[2:])
    except Exception as exc:  # Click's usage errors (typer vendors its own click)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return [f"{name}: `{' '.join(argv)}`: {message}"]
    if argv[1] not in ONE_SHOT | LONG_RUNNING:
        return [f"{name}: `tideway {argv[1]}` is not a server command ({', '.join(sorted(ONE_SHOT | LONG_RUNNING))})"]
    return []


def variable_problems(name: str, service: Mapping[str, Any], known: set[str]) -> list[str]:
    problems = []
    env = environment(service)
    for key in env:
        if key.upper() not in known and not key.upper().startswith(READ_BY_PREFIX):
            problems.append(f"{name}: {key} is not a setting core/infra/settings.py reads")
    wanted = {**REQUIRED, **(REQUIRED_API if role(service) == "api" else {})}
    for key, why in wanted.items():
        if not env.get(key):
            problems.append(f"{name}: {key} is not set ({why})")
    if role(service) == "api" and env.get("TIDEWAY_HOST", "127.0.0.1") in ("127.0.0.1", "localhost", "::1"):
        problems.append(f"{name}: TIDEWAY_HOST={env.get('TIDEWAY_HOST')} listens on the container's loopback only")
    return problems


def shared_problems(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every Tideway service sees the same database, Temporal, keys and tokens."""
    problems = []
    for key in SHARED:
        values = {name: environment(service).get(key) or setting_default(key) for name, service in services.items()
                  if key in environment(service) or key not in REQUIRED_API}
        if len(set(values.values())) > 1:
            problems.append(f"{key} differs between services: {values}")
    return problems


def host_port(address: str, default_port: int) -> tuple[str, int]:
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    return host, int(port) if port.isdigit() else default_port


def address_problems(compose: Mapping[str, Any], name: str, service: Mapping[str, Any]) -> list[str]:
    """DATABASE_URL and TEMPORAL_ADDRESS name a PostgreSQL and a Temporal service of the file, on
    their port, with the database's own credentials, reachable through a shared network."""
    services, env, problems = compose["services"], environment(service), []
    needs = {"migrate": ("database",), "register-search-attributes": ("temporal",)}.get(role(service) or "",
                                                                                       ("database", "temporal"))
    if "database" in needs:
        problems += database_problems(compose, name, env)
    public = urlsplit(env.get("TIDEWAY_PUBLIC_URL", ""))
    if role(service) == "worker" and public.hostname in services:  # the workers call the API through it
        api = services[public.hostname]
        if (public.port or 80) not in [port for _ip, _host, port in published(api)]:
            problems.append(f"{name}: TIDEWAY_PUBLIC_URL port {public.port} is not one {public.hostname} listens on")
        problems += network_reach(compose, name, str(public.hostname))
    if "temporal" not in needs:
        return problems
    host, port = host_port(env.get("TEMPORAL_ADDRESS", ""), 7233)
    temporal = services.get(host)
    if temporal is None or image_of(temporal) not in TEMPORAL_IMAGES:
        problems.append(f"{name}: TEMPORAL_ADDRESS host {host!r} is not a Temporal service of the file")
    else:
        if port != IMAGE_PORTS[image_of(temporal)]:
            problems.append(f"{name}: TEMPORAL_ADDRESS port {port} is not the frontend's {IMAGE_PORTS[image_of(temporal)]}")
        problems += network_reach(compose, name, host)
    return problems


def database_problems(compose: Mapping[str, Any], name: str, env: Mapping[str, str]) -> list[str]:
    services, problems = compose["services"], []
    url = urlsplit(env.get("DATABASE_URL", ""))
    database = services.get(url.hostname or "")
    if url.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        problems.append(f"{name}: DATABASE_URL is not a PostgreSQL URL: {env.get('DATABASE_URL')!r}")
    elif database is None or image_of(database) not in POSTGRES_IMAGES:
        problems.append(f"{name}: DATABASE_URL host {url.hostname!r} is not a PostgreSQL service of the file")
    else:
        db_env = environment(database)
        user = db_env.get("POSTGRES_USER", "postgres")
        expected = (user, db_env.get("POSTGRES_PASSWORD"), db_env.get("POSTGRES_DB", user), IMAGE_PORTS["postgres"])
        found = (url.username, url.password, url.path.lstrip("/"), url.port or 5432)
        if found != expected:
            problems.append(f"{name}: DATABASE_URL (user, password, database, port) {found} != the "
                            f"{url.hostname} service's {expected}")
        problems += network_reach(compose, name, str(url.hostname))
    return problems


def needed_hosts(service: Mapping[str, Any]) -> set[str]:
    """The services a Tideway command talks to: migrate the database only, register-search-attributes
    Temporal only, api and worker both."""
    env = environment(service)
    database = urlsplit(env.get("DATABASE_URL", "")).hostname
    temporal = host_port(env.get("TEMPORAL_ADDRESS", ""), 7233)[0]
    by_role: dict[str, set[str | None]] = {"migrate": {database}, "register-search-attributes": {temporal}}
    return {host for host in by_role.get(role(service) or "", {database, temporal}) if host}


def networks_of(service: Mapping[str, Any]) -> set[str]:
    raw = service.get("networks")
    return set(raw) if raw else {"default"}


def internal(compose: Mapping[str, Any], network: str) -> bool:
    return bool(((compose.get("networks") or {}).get(network) or {}).get("internal"))


def network_reach(compose: Mapping[str, Any], name: str, target: str) -> list[str]:
    if networks_of(compose["services"][name]) & networks_of(compose["services"][target]):
        return []
    return [f"{name}: shares no network with {target}, which it must reach"]


def dependencies(compose: Mapping[str, Any], name: str) -> dict[str, str]:
    """The services ``name`` waits for, directly or through others, with the condition."""
    found: dict[str, str] = {}
    pending = [name]
    while pending:
        raw = compose["services"][pending.pop()].get("depends_on") or {}
        for target, spec in (dict.fromkeys(raw, {}) if isinstance(raw, list) else raw).items():
            if target not in found:
                found[target] = (spec or {}).get("condition", "service_started")
                pending.append(target)
    return found


def order_problems(compose: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The init steps exist, run once, wait for what they need, and gate the api and workers."""
    problems = []
    init = {name for name, service in services.items() if role(service) in ONE_SHOT}
    for step in sorted(ONE_SHOT):
        if not any(role(services[name]) == step for name in init):
            problems.append(f"no init step runs `tideway {step}`")
    for name in init:
        if str(services[name].get("restart", "no")) not in ("no", "on-failure", "False"):
            problems.append(f"{name}: an init step must not restart once done (restart: {services[name]['restart']})")
    for name, service in services.items():
        waits = dependencies(compose, name)
        if role(service) in LONG_RUNNING:
            for step in init:
                direct = (service.get("depends_on") or {}).get(step, {}) if isinstance(service.get("depends_on"), dict) else {}
                if (direct or {}).get("condition") != "service_completed_successfully":
                    problems.append(f"{name}: does not wait for init step {step} (service_completed_successfully)")
        for target in sorted(needed_hosts(service)):
            if target in compose["services"] and target not in waits:
                problems.append(f"{name}: does not wait for {target}")
    for name in compose["services"]:
        for target, condition in dependencies(compose, name).items():
            if target not in compose["services"]:
                problems.append(f"{name}: depends on {target}, which is not a service")
            elif condition == "service_healthy" and "healthcheck" not in compose["services"][target]:
                problems.append(f"{name}: waits for {target} healthy, which has no healthcheck")
    return problems


def published(service: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """``ports`` as (host ip, host port or range, container port)."""
    result = []
    for entry in service.get("ports") or []:
        parts = str(entry).rsplit(":", 2)
        ip, host = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0] if len(parts) == 2 else "")
        result.append((ip, host, int(parts[-1].split("/")[0])))
    return result


def running_problems(compose: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """api and worker: restarted, replicated, probed; the api probed on the port it listens on."""
    problems = []
    for name, service in compose["services"].items():
        if role(service) in ONE_SHOT:
            continue
        policy = service.get("restart") or (service.get("deploy") or {}).get("restart_policy", {}).get("condition")
        if policy not in ("always", "unless-stopped", "on-failure", "any"):
            problems.append(f"{name}: no restart policy (restart: {policy})")
        if role(service) != "worker" and "healthcheck" not in service:
            problems.append(f"{name}: no healthcheck")
    for name, service in services.items():
        replicas = int((service.get("deploy") or {}).get("replicas", 1))
        if role(service) in LONG_RUNNING and replicas < 2:
            problems.append(f"{name}: {replicas} replica(s): the scaled-out shape runs several")
        if role(service) != "api":
            continue
        port = environment(service).get("TIDEWAY_PORT", "8000")
        test = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
        if f":{port}/healthz" not in test:
            problems.append(f"{name}: the healthcheck does not probe /healthz on TIDEWAY_PORT {port}: {test!r}")
        for _ip, host, container in published(service):
            if str(container) != port:
                problems.append(f"{name}: publishes container port {container}, the api listens on {port}")
            low, _, high = host.partition("-")
            if host and replicas > 1 and (not high or int(high) - int(low) + 1 < replicas):
                problems.append(f"{name}: host port {host} cannot serve {replicas} replicas (a range or none)")
    return problems


def isolation_problems(compose: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The egress isolation of docs/deploy.md: the databases have no way out, the workers share no
    network with the Temporal UI or Temporal's own database, the init steps need no way out."""
    problems = []
    others = {name for name in compose["services"] if name not in services}
    for name, service in compose["services"].items():
        if "networks" not in service:
            problems.append(f"{name}: on the default network (list its networks)")
        if image_of(service) in POSTGRES_IMAGES and not all(internal(compose, n) for n in networks_of(service)):
            problems.append(f"{name}: a database on a network with a way out")
    for name, service in services.items():
        for other in sorted(others - needed_hosts(service)):
            if networks_of(service) & networks_of(compose["services"][other]):
                problems.append(f"{name}: shares a network with {other}, which it has no reason to reach")
        outward = {n for n in networks_of(service) if not internal(compose, n)}
        if role(service) in ONE_SHOT and outward:
            problems.append(f"{name}: an init step on a network with a way out: {sorted(outward)}")
        if role(service) == "api" and outward and not service.get("ports"):
            problems.append(f"{name}: on a network with a way out without publishing a port")
    return problems


def static_problems(compose: Mapping[str, Any]) -> list[str]:
    services = tideway_services(compose)
    if not services:
        return ["no Tideway service (image tideway or build: .)"]
    known = setting_names()
    problems = []
    for name, service in services.items():
        found = command_problems(name, service)
        problems += found
        problems += variable_problems(name, service, known)
        if not found:
            problems += address_problems(compose, name, service)
    problems += shared_problems(services)
    problems += order_problems(compose, services)
    problems += running_problems(compose, services)
    problems += isolation_problems(compose, services)
    return problems
