"""The optional n8n peer for the side-by-side benchmark (``make bench-peers``).

Installs n8n from the npm registry into ``bench/peers/n8n`` (git-ignored) following
``../shared/peers/n8n/`` (exact version, the ``xlsx`` override, the workflow, the
environment), imports and activates the workflow, and can start/stop n8n for
``bench/run_all.py``. Anything missing (node, npm, the registry, the shared folder)
skips the peer with a printed reason instead of failing.

    .venv/bin/python bench/peers.py install   # idempotent; ~4 min and ~1.7 GB the first time
    .venv/bin/python bench/peers.py check     # prints "ready" or the reason it is not
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_DIR = ROOT / "bench" / "peers" / "n8n"
SHARED_CANDIDATES = [ROOT.parent / "shared" / "peers" / "n8n", Path("/work/shared/peers/n8n")]
PORT = 5690
URL = f"http://127.0.0.1:{PORT}/webhook/peerbench"
WORKFLOW_ID = "PeerBenchWf00001"


def shared_dir() -> Path | None:
    return next((p for p in SHARED_CANDIDATES if (p / "package.json").exists()), None)


# n8n on PostgreSQL (issue 22: both systems on the same database server): its own database
# on the local server, its own user folder (workflow imported there once).
PG_DATABASE = "n8nbench"
PG_ENV = {"DB_TYPE": "postgresdb", "DB_POSTGRESDB_HOST": "127.0.0.1", "DB_POSTGRESDB_PORT": "5432",
          "DB_POSTGRESDB_DATABASE": PG_DATABASE, "DB_POSTGRESDB_USER": "postgres", "DB_POSTGRESDB_PASSWORD": ""}
DATABASES = ("sqlite", "postgresdb")


def home(db: str) -> Path:
    return PEER_DIR / ("home" if db == "sqlite" else f"home-{db}")


def n8n_env(save_executions: str = "none", db: str = "sqlite") -> dict[str, str]:
    """The variables of ``env.sh``, with executions not saved by default; ``db`` is n8n's
    ``DB_TYPE`` (``sqlite`` as ``env.sh`` has it, or ``postgresdb`` on the local server)."""
    env = dict(os.environ)
    env.update({
        "N8N_USER_FOLDER": str(home(db)), "DB_TYPE": "sqlite", "N8N_PORT": str(PORT),
        "N8N_LISTEN_ADDRESS": "127.0.0.1", "N8N_HOST": "127.0.0.1", "N8N_PROTOCOL": "http",
        "WEBHOOK_URL": f"http://127.0.0.1:{PORT}/", "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false", "N8N_PERSONALIZATION_ENABLED": "false",
        "N8N_TEMPLATES_ENABLED": "false", "N8N_HIRING_BANNER_ENABLED": "false",
        "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true", "N8N_LOG_LEVEL": "warn",
        "EXECUTIONS_DATA_SAVE_ON_SUCCESS": save_executions,
        "EXECUTIONS_DATA_SAVE_ON_ERROR": "all" if save_executions == "all" else "none",
        "EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS": "false",
        "PATH": f"{PEER_DIR / 'node_modules' / '.bin'}:{os.environ.get('PATH', '')}",
    })
    if db == "postgresdb":
        env.update(PG_ENV)
    return env


def n8n_bin() -> Path:
    return PEER_DIR / "node_modules" / ".bin" / "n8n"


def installed_version() -> str | None:
    manifest = PEER_DIR / "node_modules" / "n8n" / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def why_not_ready(db: str = "sqlite") -> str | None:
    """None when n8n is installed and its workflow imported for ``db``, else the reason."""
    if installed_version() is None or not n8n_bin().exists():
        return f"n8n not installed in {PEER_DIR} (run `make bench-peers`)"
    if not (home(db) / ".imported").exists():
        return f"n8n installed but the workflow was not imported for {db} (run `make bench-peers`)"
    return None


def _create_pg_database() -> str | None:
    """The n8n database on the local PostgreSQL server (None when it exists or was made)."""
    import psycopg

    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3,
                             autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    except Exception as exc:
        return f"PostgreSQL unreachable for n8n ({exc.__class__.__name__}: {str(exc).strip()[:120]})"
    return None


def _import_workflow(db: str, wanted: str) -> str | None:
    """Import and activate the bench workflow in ``db`` once; None on success, else the reason."""
    marker = home(db) / ".imported"
    if marker.exists():
        return None
    if db == "postgresdb":
        missing = _create_pg_database()
        if missing:
            return f"skipped: {missing}"
    home(db).mkdir(parents=True, exist_ok=True)
    env = n8n_env(db=db)
    for args in (["import:workflow", f"--input={PEER_DIR / 'workflow.json'}"],
                 ["update:workflow", f"--id={WORKFLOW_ID}", "--active=true"]):
        done = subprocess.run([str(n8n_bin()), *args], cwd=PEER_DIR, env=env, check=False,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            return f"skipped: n8n {args[0]} ({db}) failed: {(done.stderr or done.stdout).strip()[-300:]}"
    marker.write_text(wanted + "\n")
    return None


def install() -> str | None:
    """Install and import; returns None on success or the reason the peer is skipped."""
    shared = shared_dir()
    if shared is None:
        return "skipped: ../shared/peers/n8n not found"
    if not shutil.which("node") or not shutil.which("npm"):
        return "skipped: node/npm not on PATH (apt-get install -y nodejs npm)"
    wanted = json.loads((shared / "package.json").read_text())["dependencies"]["n8n"]
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "package.json", PEER_DIR / "package.json")
    shutil.copy(shared / "workflow.json", PEER_DIR / "workflow.json")
    if installed_version() != wanted:
        print(f"installing n8n {wanted} into {PEER_DIR} (npm, ~4 min, ~1.7 GB)…", flush=True)
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR,
                              check=False)
        if done.returncode != 0 or installed_version() != wanted:
            return f"skipped: npm install of n8n {wanted} failed (exit {done.returncode})"
    for db in DATABASES:
        failed = _import_workflow(db, wanted)
        if failed:
            if db == "sqlite":
                return failed
            print(f"n8n on {db}: {failed}")
    print(f"n8n {installed_version()} ready in {PEER_DIR}; webhook {URL}")
    return None


class N8nProcess:
    """``n8n start`` in its own process group (executions not saved; ``db`` as :func:`n8n_env`)."""

    def __init__(self, save_executions: str = "none", db: str = "sqlite"):
        self.save_executions = save_executions
        self.db = db
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        import httpx

        log = open(PEER_DIR / "n8n.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen([str(n8n_bin()), "start"], cwd=PEER_DIR,
                                        env=n8n_env(self.save_executions, self.db), stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"n8n exited with {self.process.returncode}; see {PEER_DIR / 'n8n.log'}")
            try:
                if httpx.post(URL, json={"probe": 1}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("n8n did not answer its webhook in time")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "install"
    if command == "install":
        reason = install()
        if reason:
            print(f"n8n peer {reason}")
        return 0  # the peer is optional: never fail the make target
    if command == "check":
        print(why_not_ready() or f"ready: n8n {installed_version()}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
