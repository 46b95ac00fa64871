"""docker-compose.yml, static half (issue 22): the file as Compose reads it has no problem that
tests/unit/compose_check.py knows of, and each kind of breakage, applied to a copy of the file,
is caught. The running half (each service's command run as a process) is
tests/api/test_compose_runs.py, which applies some of the same mutations."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from tests.unit.compose_check import COMPOSE, ComposeError, interpolate, load, static_problems

# What an operator exports before `docker compose up` (the file's ${VAR:?...} demand them).
TEST_ENV = {"TIDEWAY_ADMIN_TOKEN": "compose-admin-token", "TIDEWAY_SECRETS_KEY": Fernet.generate_key().decode(),
            "TIDEWAY_JWT_SECRET": "compose-jwt-secret"}

Mutation = Callable[[str], str]


def replace(old: str, new: str, count: int = 1) -> Mutation:
    """A text edit of the file; the original text must be there (else the mutation tests nothing)."""
    def mutate(text: str) -> str:
        assert text.count(old) >= count, f"{old!r} is no longer in docker-compose.yml: update the mutation"
        return text.replace(old, new)
    return mutate


def structural(edit: Callable[[dict[str, Any]], None]) -> Mutation:
    """An edit of the parsed file, written back as YAML (anchors expanded, interpolation kept)."""
    def mutate(text: str) -> str:
        document = yaml.safe_load(text)
        edit(document)
        return yaml.safe_dump(document, sort_keys=False)
    return mutate


def remove_service(name: str) -> Mutation:
    def edit(document: dict[str, Any]) -> None:
        del document["services"][name]
        for service in document["services"].values():
            if isinstance(service.get("depends_on"), dict):
                service["depends_on"].pop(name, None)
    return structural(edit)


def set_in(service: str, key: str, value: Any) -> Mutation:
    def edit(document: dict[str, Any]) -> None:
        if value is None:
            document["services"][service].pop(key, None)
        else:
            document["services"][service][key] = value
    return structural(edit)


def drop_env(service: str, key: str) -> Mutation:
    def edit(document: dict[str, Any]) -> None:
        env = dict(document["services"][service]["environment"])
        del env[key]
        document["services"][service]["environment"] = env
    return structural(edit)


# name -> (mutation, a fragment the problems must contain)
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "api command misspelt": (replace('["tideway", "api"]', '["tideway", "apii"]'), "`tideway apii`: no such command"),
    "api runs the worker": (replace('["tideway", "api"]', '["tideway", "worker"]'), "no api service runs"),
    "worker option unknown": (replace('["tideway", "worker"]', '["tideway", "worker", "--replicas", "2"]'),
                              "No such option: --replicas"),
    "command not tideway": (replace('["tideway", "migrate"]', '["alembic", "upgrade", "head"]'),
                            "does not run the tideway CLI"),
    "variable misspelt": (replace("  DATABASE_URL: postgresql", "  DATABSE_URL: postgresql"),
                          "DATABSE_URL is not a setting"),
    "api variable misspelt": (replace("TIDEWAY_PORT: \"8000\"", "TIDEWAY_PROT: \"8000\""), "TIDEWAY_PROT is not a setting"),
    "secrets key dropped": (replace("  TIDEWAY_SECRETS_KEY: ${TIDEWAY_SECRETS_KEY:?set TIDEWAY_SECRETS_KEY (a Fernet key)}\n", ""),
                            "TIDEWAY_SECRETS_KEY is not set"),
    "api on loopback": (drop_env("api", "TIDEWAY_HOST"), "TIDEWAY_HOST is not set"),
    "api port differs from the published one": (replace('TIDEWAY_PORT: "8000"', 'TIDEWAY_PORT: "8080"'),
                                                "publishes container port 8000, the api listens on 8080"),
    "database password differs": (replace("postgresql://tideway:tideway@", "postgresql://tideway:secret@"),
                                  "DATABASE_URL (user, password, database, port)"),
    "database host misspelt": (replace("@postgres:5432/", "@postgre:5432/"), "is not a PostgreSQL service"),
    "temporal port wrong": (replace("TEMPORAL_ADDRESS: temporal:7233\n  TEMPORAL_NAMESPACE",
                                    "TEMPORAL_ADDRESS: temporal:7234\n  TEMPORAL_NAMESPACE"), "TEMPORAL_ADDRESS port 7234"),
    "migration step removed": (remove_service("migrate"), "no init step runs `tideway migrate`"),
    "search attributes step removed": (remove_service("temporal-init"),
                                       "no init step runs `tideway register-search-attributes`"),
    "api does not wait for the init": (set_in("api", "depends_on", {"temporal-init": {
        "condition": "service_completed_successfully"}}), "api: does not wait for init step migrate"),
    "init step restarts forever": (set_in("migrate", "restart", "always"), "must not restart once done"),
    "api without restart policy": (set_in("api", "restart", None), "api: no restart policy"),
    "api without healthcheck": (set_in("api", "healthcheck", None), "api: no healthcheck"),
    "healthcheck on another port": (replace("http://127.0.0.1:8000/healthz", "http://127.0.0.1:8080/healthz"),
                                    "does not probe /healthz on TIDEWAY_PORT 8000"),
    "one worker": (set_in("worker", "deploy", {"replicas": 1}), "worker: 1 replica(s)"),
    "fixed host port for replicas": (replace('"8000-8001:8000"', '"8000:8000"'), "cannot serve 2 replicas"),
    "worker beside the Temporal UI": (set_in("worker", "networks", ["egress", "app", "temporal", "operator"]),
                                      "worker: shares a network with temporal-ui"),
    "database with a way out": (set_in("postgres", "networks", ["app", "edge"]), "postgres: a database on a network"),
    "internal network opened": (replace("  app:  # api, worker, migrate <-> postgres; workers -> api (TIDEWAY_PUBLIC_URL)\n"
                                        "    internal: true", "  app: {}"), "a database on a network with a way out"),
    "public URL on the wrong port": (replace("http://api:8000}", "http://api:80}"), "TIDEWAY_PUBLIC_URL port 80"),
    "on the default network": (set_in("worker", "networks", None), "worker: on the default network"),
}
# "api runs the worker" is caught by the running half only (static: the file still looks coherent);
# it is listed for tests/api/test_compose_runs.py.
RUNNING_ONLY = {"api runs the worker"}


def mutated(name: str, folder: Path) -> dict[str, Any]:
    """The compose file with one mutation, written as a copy and loaded from it like Compose."""
    mutation, _fragment = MUTATIONS[name]
    copy = folder / "docker-compose.yml"
    copy.write_text(mutation(COMPOSE.read_text()))
    return load(copy.read_text(), TEST_ENV)


def test_compose_file_has_no_problem() -> None:
    assert static_problems(load(COMPOSE.read_text(), TEST_ENV)) == []


@pytest.mark.parametrize("name", sorted(set(MUTATIONS) - RUNNING_ONLY))
def test_each_breakage_of_a_copy_is_caught(name: str, tmp_path: Path) -> None:
    problems = static_problems(mutated(name, tmp_path))
    fragment = MUTATIONS[name][1]
    assert any(fragment in problem for problem in problems), problems


def test_required_variables_unset_stop_compose_as_they_would() -> None:
    with pytest.raises(ComposeError, match="TIDEWAY_SECRETS_KEY"):
        load(COMPOSE.read_text(), {key: value for key, value in TEST_ENV.items() if key != "TIDEWAY_SECRETS_KEY"})


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("${A:-x}", {}, "x"), ("${A:-x}", {"A": ""}, "x"), ("${A-x}", {"A": ""}, ""), ("${A-x}", {}, "x"),
    ("$$A ${B}", {"B": "b"}, "$A b"), ("$B/c", {"B": "b"}, "b/c"), ("${A:+y}", {"A": "1"}, "y"),
    ("${A:+y}", {}, ""), ("${A:-${B:-z}}", {}, "z"),
])
def test_interpolation_follows_compose(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


def test_interpolation_refuses_what_compose_refuses() -> None:
    with pytest.raises(ComposeError, match="A is missing"):
        interpolate("${A:?A is missing}", {"A": ""})
    with pytest.raises(ComposeError, match="invalid"):
        interpolate("${A B}", {})


def test_every_mutation_changes_the_file() -> None:
    text = COMPOSE.read_text()
    for name, (mutation, _fragment) in MUTATIONS.items():
        assert mutation(text) != text, name
    assert re.search(r"^x-tideway-env: &tideway-env$", text, re.M), "the shared environment anchor"


def test_the_image_holds_every_package_pyproject_installs() -> None:
    """The Dockerfile copies each top-level package ``pip install .`` looks for (one was missing:
    ``language``, so every Tideway container would have failed at its first import)."""
    import tomllib

    root = COMPOSE.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {path.name for path in root.iterdir() if (path / "__init__.py").exists()
                and any(path.name == pattern.rstrip("*") for pattern in patterns)}
    copied = set(re.findall(r"^COPY (\S+) \1$", (root / "Dockerfile").read_text(), re.M))
    assert packages and packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
