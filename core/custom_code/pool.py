"""The engine processes Custom Code calls run in (docs/custom-code.md).

Each call takes one idle child process (child.py) for itself, sends it the request and waits for
the answer, at most the call's timeout plus a grace period: the child's watchdog answers
"timeout" and exits on the deadline; should it not (a child stuck holding the GIL), the parent
kills it. A child that exited, crashed or was killed is dropped and a new one is started on the
next call; the others serve on. At most ``max_processes`` children exist; a call that finds none
free waits for one, up to ``QUEUE_SECONDS``.

Why processes: QuickJS cannot stop a script that is inside a regular-expression match, nor any
script while Python host functions may be called (engine.py); the operating system can stop a
process. A process also keeps a QuickJS crash, or a memory corruption a hostile script found,
away from the worker, its secrets and its connections.

Thread-safe: any number of threads may call ``call`` at once.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from core.custom_code.frames import HEADER, write_frame

GRACE_SECONDS = 1.0  # past the call's timeout before the parent kills a child itself
QUEUE_SECONDS = 30.0  # a call waits this long for a free child
START_SECONDS = 30.0  # a new child must say it is ready within this
MAX_REQUEST_BYTES = 256 << 20
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the `core` package
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from core.custom_code.child import main; main()"


class EngineFailure(Exception):
    """The child could not answer: ``reason`` is "timeout", "crashed" or "busy"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", _BOOT, _ROOT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, close_fds=True,
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"}, start_new_session=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.to_child = self.process.stdin.fileno()
        self.from_child = self.process.stdout.fileno()
        try:
            hello = self._read_frame(time.monotonic() + START_SECONDS)
        except EngineFailure:
            self.stop()
            raise
        self.hardening: dict[str, Any] = json.loads(hello).get("hardening", {})

    def exchange(self, request: bytes, seconds: float) -> tuple[dict[str, Any], str | None]:
        deadline = time.monotonic() + seconds
        try:
            write_frame(self.to_child, request)
        except OSError:
            raise EngineFailure("crashed", "the engine process stopped before the call (it was restarted)") from None
        answer = self._read_frame(deadline)
        head, _, value = answer.partition(b"\n")
        return json.loads(head), value.decode("utf-8") if value else None

    def _read_frame(self, deadline: float) -> bytes:
        head = self._read(HEADER.size, deadline)
        return self._read(HEADER.unpack(head)[0], deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        chunks = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                raise EngineFailure("timeout", "")
            chunk = os.read(self.from_child, min(size, 1 << 20))
            if not chunk:
                code = self.process.poll()
                raise EngineFailure("crashed", "the engine process stopped during the call"
                                    + (f" (signal {-code})" if code is not None and code < 0 else ""))
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


class EnginePool:
    def __init__(self, max_processes: int | None = None):
        self.max_processes = max(1, max_processes or os.cpu_count() or 2)
        self._idle: list[_Child] = []
        self._count = 0
        self._changed = threading.Condition()
        self.hardening: dict[str, Any] = {}

    def call(self, request: dict[str, Any], timeout_seconds: float) -> tuple[dict[str, Any], str | None]:
        payload = json.dumps(request).encode()
        if len(payload) > MAX_REQUEST_BYTES:
            raise EngineFailure("parameters", f"the code and parameters are larger than {MAX_REQUEST_BYTES} bytes")
        child = self._acquire()
        reusable = False
        try:
            header, value = child.exchange(payload, timeout_seconds + GRACE_SECONDS)
            reusable = not header.get("exiting")
            return header, value
        except EngineFailure as failure:
            if failure.reason == "timeout":
                raise EngineFailure("timeout", f"the function ran longer than {timeout_seconds:g} s") from None
            raise
        finally:
            self._release(child, reusable)

    def warm_up(self, count: int = 1) -> None:
        """Start children now rather than on the first calls."""
        started = []
        for _ in range(min(count, self.max_processes)):
            started.append(self._acquire())
        for child in started:
            self._release(child, True)

    def shutdown(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for child in idle:
            child.stop()

    def _acquire(self) -> _Child:
        give_up = time.monotonic() + QUEUE_SECONDS
        with self._changed:
            while not self._idle and self._count >= self.max_processes:
                if not self._changed.wait(give_up - time.monotonic()) and time.monotonic() >= give_up:
                    raise EngineFailure("busy", f"all {self.max_processes} Custom Code engine processes stayed busy "
                                        f"for {QUEUE_SECONDS:g} s")
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            child = _Child()
        except Exception as exc:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            raise EngineFailure("crashed", f"the Custom Code engine process could not start ({type(exc).__name__})") from None
        self.hardening = child.hardening
        return child

    def _release(self, child: _Child, reusable: bool) -> None:
        if reusable and child.alive():
            with self._changed:
                self._idle.append(child)
                self._changed.notify()
            return
        child.stop()
        with self._changed:
            self._count -= 1
            self._changed.notify()
