"""The engine process: runs Custom Code calls one at a time for pool.py (docs/custom-code.md).

Started by the pool as ``python -I -B -c <boot> <root>`` with an empty environment (no secrets
reach it), it reads requests from stdin and answers on its original stdout (fd 1 is then pointed
at stderr, so nothing else can write into the protocol). Before it answers its first request it
hardens itself: no core files, no file writes (RLIMIT_FSIZE 0), an address-space ceiling, no new
privileges and, where the kernel lets it (root or user namespaces), a network namespace of its
own with no interface but a downed loopback. None of this is needed by the JavaScript sandbox,
which has no I/O at all; it is what stands if a QuickJS bug ever let code out of it.

A watchdog thread ends the process on the call's wall-clock deadline, after answering "timeout"
with the console lines printed so far: QuickJS runs with the GIL released, so the thread runs
while JavaScript loops, even inside a regular-expression match. It also ends the process when
the parent dies.

Frames: 4-byte big-endian length, then the payload. Request: JSON. Answer: a JSON header, and
for a result, a newline and the result's JSON text (not re-encoded).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from core.custom_code import crypto_host, engine
from core.custom_code.frames import HEADER, read_exact, write_frame
from core.custom_code.models import CodeLimits

ADDRESS_SPACE_HEADROOM = 4 << 30  # over what the process maps after its imports
# The engine answers a timeout itself when it can (between promise jobs) and keeps the process;
# the watchdog, which must end the process, acts this much later.
WATCHDOG_GRACE_SECONDS = 0.2


class Answerer:
    """Writes each request's one answer: the main thread's result or the watchdog's timeout,
    whichever comes first."""

    def __init__(self, fd: int):
        self.fd = fd
        self.lock = threading.Lock()
        self.deadline: float | None = None
        self.console: engine.Console | None = None
        self.limits = CodeLimits()
        self.answered = True

    def start(self, limits: CodeLimits, console: engine.Console) -> None:
        with self.lock:
            self.limits, self.console, self.answered = limits, console, False
            self.deadline = time.monotonic() + limits.timeout_seconds + WATCHDOG_GRACE_SECONDS

    def answer(self, payload: bytes) -> bool:
        with self.lock:
            if self.answered:
                return False
            self.answered = True
            self.deadline = None
            write_frame(self.fd, payload)
            return True


def _watch(answerer: Answerer, parent: int) -> None:
    while True:
        time.sleep(0.02)
        if os.getppid() != parent:
            os._exit(0)
        deadline = answerer.deadline
        if deadline is None or time.monotonic() < deadline:
            continue
        console = list(answerer.console.lines) if answerer.console else []
        header = {"ok": False, "reason": "timeout", "exiting": True, "console": console,
                  "message": f"the function ran longer than {answerer.limits.timeout_seconds:g} s"}
        if answerer.answer(json.dumps(header).encode()):
            os._exit(0)  # the script may still be running: this process cannot be reused


def harden() -> dict[str, Any]:
    """Best effort; answers what held, for the pool to report."""
    import ctypes
    import resource
    import signal

    facts: dict[str, Any] = {}
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    facts["file_writes"] = "refused"
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + ADDRESS_SPACE_HEADROOM,) * 2)
        facts["address_space_bytes"] = mapped + ADDRESS_SPACE_HEADROOM
    except (OSError, ValueError):
        facts["address_space_bytes"] = None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, clone_newnet = 38, 0x40000000
    facts["no_new_privileges"] = libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0
    facts["network_namespace"] = libc.unshare(clone_newnet) == 0  # before any thread: unshare needs one
    return facts


def handle(request: dict[str, Any], answerer: Answerer) -> None:
    limits = CodeLimits(**request["limits"])
    console = engine.Console(limits.max_console_bytes)
    answerer.start(limits, console)
    if request["op"] == "check":
        outcome = engine.check(request["code"], request["names"])
    else:
        outcome = engine.run(request["code"], request["names"], request["parameters_json"], limits, console)
    header = {"ok": outcome.ok, "console": outcome.console, "reason": outcome.reason,
              "message": outcome.message, "line": outcome.line, "has_value": outcome.value_json is not None}
    payload = json.dumps(header).encode()
    if outcome.value_json is not None:
        payload += b"\n" + outcome.value_json.encode("utf-8", "surrogatepass")
    answerer.answer(payload)


def main() -> None:
    requests, answers = 0, os.dup(1)
    os.dup2(2, 1)  # stray prints of any library go to stderr, never into the protocol
    sys.stdout = sys.stderr
    crypto_host.preload()
    facts = harden()
    answerer = Answerer(answers)
    threading.Thread(target=_watch, args=(answerer, os.getppid()), daemon=True).start()
    write_frame(answers, json.dumps({"ready": True, "hardening": facts}).encode())
    while True:
        head = read_exact(requests, HEADER.size)
        if head is None:
            return  # the pool closed the pipe
        body = read_exact(requests, HEADER.unpack(head)[0])
        if body is None:
            return
        try:
            handle(json.loads(body), answerer)
        except Exception as exc:  # a bug of Tideway's: say so, keep serving
            answerer.answer(json.dumps({"ok": False, "reason": "internal", "console": [],
                                        "message": f"{type(exc).__name__} in the engine process"}).encode())
