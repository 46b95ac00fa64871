"""Knowing that the worker is evicting a run from its cache.

A worker keeps at most ``WORKER_MAX_CACHED_WORKFLOWS`` runs in memory; past that it evicts the
least recently used, a run parked in ``wait`` most often. Evicting cancels the run's asyncio
tasks so they unwind, and the SDK requires that they then end: nothing more may be awaited,
and no command may be issued. Handlers written for a real cancellation (``POST …/cancel``: run
the automation's ``finally`` blocks, cancel the wait, flush, wait for pending update handlers)
must therefore step aside: run during an eviction they left tasks waiting forever, the SDK
retried the eviction every 2 s for ever, and each such run kept its memory and a workflow-task
slot (issue 22: worker memory grew ~100 KB per parked run past the cache, and parking slowed).
The run itself is untouched: Temporal replays it from its history when its next task comes.

The SDK exposes no public flag for this; its instance marks itself ``_deleting`` from the
eviction job on (temporalio 1.35, ``_apply_remove_from_cache``).
tests/workflows/test_eviction.py pins that behaviour.
"""

from __future__ import annotations

from temporalio import workflow


def being_evicted() -> bool:
    """True while this run is being evicted from the worker's cache (see the module docstring)."""
    runtime = workflow._Runtime.maybe_current()
    return bool(getattr(runtime, "_deleting", False))
