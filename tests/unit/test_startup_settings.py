"""Start-up settings of issue 14: an invalid FETCH_ALLOWED_HOSTS or Temporal TLS setting stops
`tideway worker` / `tideway run` with one clear line (no traceback), and TEMPORAL_TLS_* build
the TLS configuration the Temporal client connects with."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from core.infra.settings import Settings
from core.infra.temporal import TemporalTlsError, connect, tls_config
from tests.stack import TEST_SECRETS_KEY

ROOT = Path(__file__).resolve().parents[2]


def _tideway(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("FETCH_", "TEMPORAL_", "TIDEWAY_", "DATABASE_URL"))}
    environ.update(TIDEWAY_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'start.db'}",
                   TEMPORAL_ADDRESS="127.0.0.1:1", **env)  # nothing listens there: it must not get that far
    return subprocess.run([sys.executable, "-m", "cli.main", command], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command", ["worker", "run"])
def test_invalid_fetch_allowed_hosts_stops_start_up(command: str, tmp_path: Path) -> None:
    result = _tideway(command, tmp_path, FETCH_ALLOWED_HOSTS="example.org, bad host ,10.0.0.1/8,10.0.0.0/8:http")
    assert result.returncode == 2, result
    assert result.stderr.strip() == (
        "tideway: FETCH_ALLOWED_HOSTS has invalid entries: 'bad host' is not a host name, an IP address or a "
        "CIDR (non-ASCII names: use the xn-- form); '10.0.0.1/8' is not a valid IP address or CIDR (10.0.0.1/8 "
        "has host bits set); '10.0.0.0/8:http' has an invalid port 'http' (1-65535)"), result.stderr
    assert not (tmp_path / "start.db").exists()  # stopped before anything started


def test_invalid_temporal_tls_settings_stop_start_up(tmp_path: Path) -> None:
    result = _tideway("worker", tmp_path, TEMPORAL_TLS_CERT=str(tmp_path / "missing.pem"))
    assert result.returncode == 2, result
    assert result.stderr.strip() == (
        "tideway: Temporal TLS settings: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client "
        f"certificate and its key); TEMPORAL_TLS_CERT {tmp_path / 'missing.pem'}: No such file or directory")


def _pem_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tideway-worker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    paths = tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return paths


def test_tls_config_from_the_settings(tmp_path: Path) -> None:
    cert, key, ca = _pem_files(tmp_path)
    assert tls_config(Settings()) is False  # plain gRPC, as the dev server speaks
    mutual = tls_config(Settings(temporal_tls_cert=cert, temporal_tls_key=key, temporal_tls_ca=ca))
    assert isinstance(mutual, TLSConfig)
    assert (mutual.client_cert, mutual.client_private_key, mutual.server_root_ca_cert) == (
        cert.read_bytes(), key.read_bytes(), ca.read_bytes())
    server_only = tls_config(Settings(temporal_tls_ca=ca))
    assert isinstance(server_only, TLSConfig)
    assert (server_only.client_cert, server_only.client_private_key, server_only.server_root_ca_cert) == (
        None, None, ca.read_bytes())
    with pytest.raises(TemporalTlsError) as raised:
        tls_config(Settings(temporal_tls_key=key, temporal_tls_ca=tmp_path / "nope.pem"))
    assert raised.value.details["problems"] == [
        "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate and its key)",
        f"TEMPORAL_TLS_CA {tmp_path / 'nope.pem'}: No such file or directory"]


async def test_connect_uses_the_tls_config(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """The test dev server speaks plain gRPC: a TLS client fails its handshake there, which shows
    the configuration reaches the connection."""
    _, _, ca = _pem_files(tmp_path)
    address = temporal_env.client.service_client.config.target_host
    with pytest.raises(RuntimeError, match="InvalidContentType"):
        await connect(address, secrets_key=TEST_SECRETS_KEY, tls=tls_config(Settings(temporal_tls_ca=ca)))
    plain = await connect(address, secrets_key=TEST_SECRETS_KEY, tls=tls_config(Settings()))
    assert plain.namespace == "default"
