"""Activities of the automation and dispatch workflows: flushing events and context writes,
matching waits, loading definitions, contexts and blobs (local, short database work)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from temporalio import activity

from core.access.permissions.checks import automation_executable, member_permissions
from core.events import waits
from core.infra.tables import Wait
from core.runs import ratelimits
from core.runs.contexts import apply_writes, load_contexts
from core.runs.ratelimits import Bucket
from core.runs.records import BLOB_KEY, is_large, record_row
from core.services import Services
from core.workspaces.service import ROW_TTL
from schemas import activity_names as names
from schemas.errors import ObjectNotFoundError
from schemas.events import EMIT_TOPIC, TRIGGERING_NATIVES, Event, json_size
from schemas.runs import (
    AuthorizeRequest,
    CallRequest,
    CallTarget,
    ContextKeys,
    FlushRequest,
    FlushResult,
    InstanceInfo,
    RunRecord,
    TriggerSpec,
    WaitRequest,
)

log = logging.getLogger("tideway.activities")
SUPERADMIN_ACTOR = "admin"  # the identity of the TIDEWAY_ADMIN_TOKEN bearer

class EventSink(Protocol):
    async def write(self, events: list[Event], runs: Sequence[dict[str, Any]] = ()) -> dict[str, int]: ...


def triggers(event: Event) -> bool:
    return event.source.serviceTopic == EMIT_TOPIC or event.type in TRIGGERING_NATIVES


class RuntimeActivities:
    def __init__(self, services: Services, writer: EventSink, buckets: dict[str, Bucket] | None = None):
        self.db = services.db
        self.trees = services.trees
        self.members = services.members
        self.api_keys = services.api_keys
        self.buckets = buckets or {}
        self.workspaces = services.workspaces
        self.blobs = services.blobs
        self.writer = writer  # the process's batching EventWriter
        self.inline_bytes = services.settings.run.inline_value_bytes

    @activity.defn(name=names.FLUSH)
    async def flush(self, request: FlushRequest) -> FlushResult:
        """Apply context writes, persist events, fulfil waits, and list the listeners to start."""
        if request.writes:
            await self.db.run_sync(apply_writes, request.writes)
        throttle = 0.0
        if self.buckets and any(request.charges.values()):
            async with self.db.session() as session:
                throttle = await ratelimits.take(session, request.workspace_id, request.charges, self.buckets)
        runs = [await self._record_row(request.run)] if request.run is not None else []
        if not request.events:
            if runs:
                await self.writer.write([], runs)
            return FlushResult(throttle_seconds=throttle)
        seqs = await self.writer.write(request.events, runs)
        public = [(seqs[e.id], e.to_public()) for e in request.events if e.id in seqs]
        signals, cancelled = await self.db.run_sync(waits.match, request.workspace_id, public)
        for workflow_id, wait_id, event in signals:
            await self._signal(workflow_id, wait_id, event)
        marks = [seq for event_id, seq in seqs.items() if event_id not in request.not_watermark]
        result = FlushResult(watermark=max(marks, default=0), throttle_seconds=throttle)
        if not request.dispatch:
            return result
        quiet = {*cancelled, *request.quiet}
        candidates = [e for e in request.events if triggers(e) and e.id not in quiet]
        if not candidates:
            return result
        try:
            # A deleted workspace starts nothing but the lifecycle listeners of its deletion.
            closing = all(e.type in ("workspaces.deleted", "workspaces.apps.uninstalled") for e in candidates)
            # An uninstalled instance is gone from the current revision: its uninstall listeners
            # run in the last revision that still had it (spec §7.4).
            revision = next((e.payload.get("revision") for e in candidates if e.type == "workspaces.apps.uninstalled"
                             and isinstance(e.payload, dict) and isinstance(e.payload.get("revision"), int)), None)
            compiled, tree = await self.trees.current(request.workspace_id, include_deleted=closing,
                                                      revision=revision, max_age=ROW_TTL)
        except ObjectNotFoundError:
            return result  # a deleted workspace starts nothing
        for candidate in candidates:
            payload = candidate.payload if isinstance(candidate.payload, dict) else {}
            trigger = payload.get("trigger")
            trigger_type = trigger.get("type") if isinstance(trigger, dict) else None
            for found in tree.listeners(candidate.type, candidate.source.appInstanceFullSlug, trigger_type):
                result.triggers.append(TriggerSpec(
                    event_id=candidate.id, automation_slug=found.automation, instance=found.instance,
                    event_name=found.name if found.name != candidate.type else None))
        if result.triggers:
            result.workspace = compiled.ref()
            result.seqs = {t.event_id: seqs[t.event_id] for t in result.triggers}
            result.versions = tree.versions
            result.instances = {t.instance: tree.nodes[t.instance].info for t in result.triggers if t.instance}
        return result

    async def _record_row(self, record: RunRecord) -> dict[str, Any]:
        """The run record's row; a large input or output goes to the blob store, by reference."""
        row = record_row(record)
        for column in ("input", "output"):
            value = row.get(column)
            if is_large(value, self.inline_bytes):
                blob_id, chunks = await self.blobs.store(value)
                row[column] = {BLOB_KEY: blob_id, "$chunks": chunks, "bytes": json_size(value)}
        return row

    async def _signal(self, workflow_id: str, wait_id: str, event: dict[str, Any]) -> None:
        try:
            handle = activity.client().get_workflow_handle(workflow_id)
            await handle.signal("wait_fulfilled", args=[wait_id, event])
        except Exception as exc:  # the waiting run may have ended (timeout); nothing to wake
            log.info("wait %s of %s not signalled: %s", wait_id, workflow_id, exc)

    @activity.defn(name=names.LOAD_CONTEXTS)
    async def load_contexts(self, keys: ContextKeys) -> dict[str, dict[str, Any]]:
        return await self.db.run_sync(load_contexts, keys)

    @activity.defn(name=names.REGISTER_WAIT)
    async def register_wait(self, request: WaitRequest) -> dict[str, Any] | None:
        wait = Wait(id=request.wait_id, workspace_id=request.workspace_id, event_types=request.event_types,
                    filters=request.filters, cancel_triggers=request.cancel_triggers,
                    workflow_id=request.workflow_id, after_seq=request.after_seq,
                    expires_at=waits.expiry(request.timeout))
        return await self.db.run_sync(waits.register, wait)

    @activity.defn(name=names.CANCEL_WAIT)
    async def cancel_wait(self, wait_id: str) -> None:
        await self.db.run_sync(waits.cancel, wait_id)

    @activity.defn(name=names.AUTHORIZE)
    async def authorize_execute(self, request: AuthorizeRequest) -> bool:
        compiled = await self.workspaces.compiled_revision(request.workspace_id, request.revision)
        role = await self.members.role_of(request.workspace_id, request.user_id)
        key_rules = await self.api_keys.rules_by_id(request.api_key_id, request.workspace_id)
        perms = member_permissions(request.workspace_id, compiled.document.get("security"), user_id=request.user_id,
                                   superadmin=request.user_id == SUPERADMIN_ACTOR, role=role,
                                   api_keys=[key_rules] if key_rules is not None else [])
        return automation_executable(perms, request.automation, request.workspace_id)

    @activity.defn(name=names.RESOLVE_CALL)
    async def resolve_call(self, request: CallRequest) -> CallTarget | None:
        """The automation a name designates from inside an instance, in the run's pinned tree."""
        tree = await self.trees.pinned(request.workspace_id, request.revision, request.versions)
        found = tree.resolve_call(request.caller, request.name)
        if found is None:
            missing = tree.missing_app(request.caller, request.name)
            if missing is None:
                return None
            return CallTarget(instance=InstanceInfo(full_slug=missing[0]), slug=request.name, missing_app=missing[1])
        instance, slug = found
        node = tree.nodes[instance]
        automation = node.automations.get(slug)
        return CallTarget(instance=node.info, slug=slug, automation=automation if isinstance(automation, dict) else None)

    @activity.defn(name=names.LOAD_BLOB_CHUNK)
    async def load_blob_chunk(self, blob_id: str, index: int) -> str:
        return await self.blobs.load_chunk(blob_id, index)

    @activity.defn(name=names.LOAD_BLOB_CHUNKS)
    async def load_blob_chunks(self, blob_id: str, start: int, end: int, max_bytes: int) -> list[str]:
        """Chunks ``start``, ``start + 1``… of a blob, stopping before ``end`` or once ``max_bytes``
        (UTF-8) are loaded; at least one. A regular activity: its result is one history event."""
        parts: list[str] = []
        size = 0
        for index in range(start, end):
            if parts and size >= max_bytes:
                break
            part = await self.blobs.load_chunk(blob_id, index)
            parts.append(part)
            size += len(part.encode("utf-8"))
        return parts

    @activity.defn(name=names.STORE_BLOB_CHUNK)
    async def store_blob_chunk(self, blob_id: str, index: int, text: str) -> None:
        await self.blobs.store_chunk(blob_id, index, text)

    def all(self) -> list[Any]:
        return [self.flush, self.load_contexts, self.register_wait, self.cancel_wait, self.resolve_call,
                self.authorize_execute,
                self.load_blob_chunk, self.load_blob_chunks, self.store_blob_chunk]
