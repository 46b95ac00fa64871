"""docker-compose.yml (issue 14): the Temporal frontend and UI are never published beyond the
host's loopback, and the egress policy's setting reaches the Tideway containers."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_temporal_ports_are_published_on_loopback_only() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("temporal", "temporal-ui"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    for name in ("temporal-postgres", "postgres", "worker"):
        assert not services[name].get("ports"), f"{name} publishes {services[name]['ports']}"


def test_tideway_containers_get_fetch_allowed_hosts() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    assert "FETCH_ALLOWED_HOSTS" in compose["x-tideway-env"]
    assert compose["services"]["worker"]["environment"] == compose["x-tideway-env"]
