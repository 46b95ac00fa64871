"""The garbage collector of the long-running processes (api, worker, ``tideway run``)."""

from __future__ import annotations

import gc


def server_gc() -> None:
    """Fewer garbage-collector passes for the long-running processes: every request allocates
    thousands of short-lived objects (pydantic, protobuf, JSON) that reference counting frees
    anyway, and the default gen-0 threshold (700) makes the collector rescan young objects
    hundreds of times a second under load. What is loaded at start is frozen out of the scans
    once the process has built its services (:func:`freeze_startup`).

    The older generations stay close to the default (a full pass every 4 gen-0 passes, at most
    every ~200,000 new objects): a run the worker evicts from its cache (most often a run parked
    in ``wait``) is a cycle of objects only a full pass frees. With (50,000, 20, 50) a full pass
    came every ~50 M objects and the worker grew ~100 KB per parked run (issue 22); with the
    start-up objects frozen a full pass scans only what the process holds now, and its cost did
    not show in the worker's CPU per run (docs/scaling.md)."""
    gc.set_threshold(50_000, 2, 2)


def freeze_startup() -> None:
    """Move what exists now (modules, services, the app or worker) out of the collector's scans,
    then run an (empty) full pass so the collector counts only later objects when it decides a
    full pass is due. Each server entry point calls it once, after building what it serves."""
    gc.collect()
    gc.freeze()
    gc.collect()
