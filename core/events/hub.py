"""Live event streams: one poller per process, fanning events out to every subscriber.

Each ``GET …/events/stream`` used to poll the database itself five times a second, so 200 idle
streams cost 1,000 queries a second (issue 14, item 15). Now the process's :class:`EventHub`
reads the new events of every workspace someone follows once per tick (one
:class:`core.events.store.EventTail` over all of them) and hands each event to the subscribers of
its workspace. A subscriber keeps its own filters and read check (``accepts``); a new one first
catches up from its start point with a read of its own, then takes the hub's deliveries.

Why nothing is lost or repeated at the hand-over: a subscriber reads its backlog only after a
hub poll that *started after it subscribed* has completed. Every event committed before that
backlog read is in it; every later one has a seq above the hub's floor and reaches the hub's
later polls (the tail's floor only passes committed seqs). The two overlap only above the floor
the hub had when the subscriber joined, so those backlog seqs are remembered and skipped once.

Caps: ``EVENTS_STREAM_MAX_PER_CALLER`` streams per caller (user, API key, or client address for
anonymous sessions) and ``EVENTS_STREAM_MAX_PER_PROCESS`` in all; beyond them
``TooManyRequestsError`` (429 with ``Retry-After``). A subscriber whose queue grows past
``QUEUE_LIMIT`` (a client that does not read) is dropped as lagging: it reconnects with
``Last-Event-ID`` and catches up from the database.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from core.events.store import EventTail, max_seq
from schemas.errors import TooManyRequestsError

log = logging.getLogger("tideway.eventhub")

QUEUE_LIMIT = 1000  # events waiting for one subscriber before it is dropped as lagging
RETRY_AFTER_SECONDS = 5  # a slot frees when a stream closes: no precise time to give

Accepts = Callable[[dict[str, Any]], bool]


@dataclass(eq=False)
class Subscription:
    """One open stream: the events of ``workspace_id`` that ``accepts`` lets through."""

    workspace_id: str
    caller: str
    accepts: Accepts
    # (seq, event, the hub's floor before the poll that read it)
    queue: collections.deque[tuple[int, dict[str, Any], int]] = field(default_factory=collections.deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # a poll begun after joining has ended
    joined_floor: int = 0  # the hub's floor before that poll
    lagging: bool = False
    closed: bool = False

    def offer(self, seq: int, event: dict[str, Any], floor: int, limit: int = QUEUE_LIMIT) -> None:
        if self.lagging or self.closed:
            return
        try:
            wanted = self.accepts(event)
        except Exception:  # one subscriber's check must never stop the others' deliveries
            log.exception("event stream filter failed; closing that stream")
            self.closed = True
            self.wake.set()
            return
        if not wanted:
            return
        if len(self.queue) >= limit:
            self.lagging = True
            self.queue.clear()
        else:
            self.queue.append((seq, event, floor))
        self.wake.set()


class EventHub:
    """The process's event poller and its subscribers (``Services.event_hub``)."""

    def __init__(self, db: Any, *, max_per_process: int, max_per_caller: int, poll_seconds: float = 0.2,
                 batch: int = 500, queue_limit: int = QUEUE_LIMIT):
        self.db = db
        self.max_per_process = max_per_process
        self.max_per_caller = max_per_caller
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.queue_limit = queue_limit
        self.polls = 0  # completed polls (tests count them against the queries they issued)
        self._by_workspace: dict[str, set[Subscription]] = {}
        self._by_caller: collections.Counter[str] = collections.Counter()
        self._count = 0
        self._tail: EventTail | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        return self._count

    @property
    def running(self) -> bool:
        """Whether the poller runs (only while someone listens)."""
        return self._task is not None

    def streams_of(self, caller: str) -> int:
        return self._by_caller[caller]

    # -- subscribers -----------------------------------------------------------------------
    def subscribe(self, workspace_id: str, caller: str, accepts: Accepts) -> Subscription:
        """A new stream, or TooManyRequestsError (429) past a cap. Release it with
        :meth:`unsubscribe` (a closed client frees its slot)."""
        if self._count >= self.max_per_process:
            raise TooManyRequestsError(
                f"Too many event streams open on this server (EVENTS_STREAM_MAX_PER_PROCESS = "
                f"{self.max_per_process}); retry later", {"limit": self.max_per_process, "scope": "process"},
                retry_after=RETRY_AFTER_SECONDS)
        if self._by_caller[caller] >= self.max_per_caller:
            raise TooManyRequestsError(
                f"Too many event streams open by this caller (EVENTS_STREAM_MAX_PER_CALLER = "
                f"{self.max_per_caller}); close one first", {"limit": self.max_per_caller, "scope": "caller"},
                retry_after=RETRY_AFTER_SECONDS)
        sub = Subscription(workspace_id, caller, accepts)
        self._by_workspace.setdefault(workspace_id, set()).add(sub)
        self._by_caller[caller] += 1
        self._count += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-hub")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Idempotent."""
        subs = self._by_workspace.get(sub.workspace_id)
        if subs is None or sub not in subs:
            return
        sub.closed = True
        subs.discard(sub)
        if not subs:
            del self._by_workspace[sub.workspace_id]
        self._by_caller[sub.caller] -= 1
        if self._by_caller[sub.caller] <= 0:
            del self._by_caller[sub.caller]
        self._count -= 1

    # -- the poller ------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self._count:
                try:
                    caught_up = await self._poll()
                except Exception as exc:  # the database away: streams stay open, the poller retries
                    log.warning("event stream poll failed: %s", exc)
                    caught_up = True
                if caught_up and self._count:
                    await asyncio.sleep(self.poll_seconds)
        finally:
            # Nobody left: the next subscriber starts a fresh tail from the newest event.
            self._task = None
            self._tail = None

    async def _poll(self) -> bool:
        if self._tail is None:
            async with self.db.session() as session:
                start = await max_seq(session)
            self._tail = EventTail(self.db, [], start, batch=self.batch)
        tail = self._tail
        floor = tail.floor
        # Only the subscribers present when the read starts take its events (see the module doc).
        targets = {ws: list(subs) for ws, subs in self._by_workspace.items()}
        joining = [sub for subs in targets.values() for sub in subs if not sub.ready.is_set()]
        for sub in joining:
            sub.joined_floor = floor
        tail.workspace_ids = list(targets)
        events = await tail.poll()
        self.polls += 1
        for seq, event in events:
            for sub in targets.get(str(event.get("source", {}).get("workspaceId")), ()):
                sub.offer(seq, event, floor, self.queue_limit)
        for sub in joining:
            sub.ready.set()
        return len(events) < tail.batch

    @property
    def floor(self) -> int:
        return self._tail.floor if self._tail is not None else 0

    # -- one subscriber's feed -------------------------------------------------------------
    async def deliveries(self, sub: Subscription, start: int,
                         idle_seconds: float) -> AsyncIterator[list[tuple[int, dict[str, Any]]]]:
        """The subscriber's events after ``start``, in batches; an empty batch after
        ``idle_seconds`` without any (time for a keep-alive). Ends when the subscriber lags
        (``sub.lagging``) or is closed."""
        while not sub.ready.is_set():
            try:
                await asyncio.wait_for(sub.ready.wait(), idle_seconds)
            except TimeoutError:
                yield []
        # The backlog, read on its own (once, not every tick).
        backlog = EventTail(self.db, sub.workspace_id, start, batch=self.batch)
        overlap: set[int] = set()
        while True:
            events = await backlog.poll()
            batch = [(seq, event) for seq, event in events if sub.accepts(event)]
            overlap.update(seq for seq, _ in batch if seq > sub.joined_floor)
            if batch:
                yield batch
            if len(events) < backlog.batch:
                break
        # Then the hub's deliveries.
        while not (sub.lagging or sub.closed):
            if not sub.queue:
                sub.wake.clear()
                try:
                    await asyncio.wait_for(sub.wake.wait(), idle_seconds)
                except TimeoutError:
                    yield []
                continue
            items = list(sub.queue)
            sub.queue.clear()
            batch = []
            for seq, event, _ in items:
                if seq in overlap:
                    overlap.discard(seq)
                else:
                    batch.append((seq, event))
            # Later deliveries all have seqs above the floor of the last poll taken.
            overlap = {seq for seq in overlap if seq > items[-1][2]}
            if batch:
                yield batch
