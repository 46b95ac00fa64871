"""Runs ``workspace_crud.yaml`` cases through the real management services (database included).

Each case gets fresh service objects over the test database whose dispatcher stores triggering
native events directly (no Temporal: listeners are not the point here), so every event a step
emits is in the event log when the call returns. The step's events are the ones logged for the
case's workspaces after the step started.

``app_catalog`` apps are published with ``AppService.publish_document``: the document carries the
catalogue's ``config`` (as ``config.value``) and ``details`` (photo, ``config`` schema, public
automations, blocks) and, for ``details.events``, a private automation listening to the declared
events and emitting the declared ones, so the published version exposes exactly those details.
Versions named by ``appVersion`` in the steps are published too.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlmodel import col, select

from api.app import ROUTERS
from api.permissions import required_permission
from core.apps.builtin import is_builtin
from core.apps.catalog import AppService
from core.apps.instances import AppInstanceService
from core.events.declared import compute_emitted_events
from core.events.store import insert_events
from core.infra.tables import Event as EventRow
from core.workspaces.automations import AutomationService
from core.workspaces.duplicates import duplicate_workspace
from core.workspaces.purge import purge_workspace
from core.workspaces.root_fields import patch_root_fields
from core.workspaces.service import WorkspaceService
from schemas.dsul import WorkspaceSource
from schemas.errors import TidewayError
from schemas.events import Event
from tests.conformance.matching import matches
from tests.stack import Stack

DEFAULT_WORKSPACE = "123456"


def catalog_document(slug: str, entry: dict[str, Any]) -> dict[str, Any]:
    details = entry.get("details") or {}
    doc: dict[str, Any] = {"name": slug, "description": f"{slug} (fixture app)",
                           "config": {"value": copy.deepcopy(entry.get("config") or {}),
                                      **copy.deepcopy(details.get("config") or {})}}
    if details.get("photo"):
        doc["photo"] = details["photo"]
    automations: dict[str, Any] = {}
    for automation in details.get("automations") or []:
        item = {k: v for k, v in automation.items() if k != "slug"}
        automations[automation["slug"]] = {**item, "do": item.get("do") or []}
    events = details.get("events") or {}
    if any(events.get(k) for k in ("listen", "emit", "autocomplete")):
        do = [{"emit": {"event": name}} for name in events.get("emit") or []]
        do += [{"emit": copy.deepcopy(entry)} for entry in events.get("autocomplete") or []]
        automations["declaredEvents"] = {"name": "declaredEvents", "private": True,
                                         "when": {"events": list(events.get("listen") or [])}, "do": do}
    doc["automations"] = automations
    blocks = details.get("blocks") or []
    if blocks:
        doc["blocks"] = {b["slug"]: {k: v for k, v in b.items() if k != "slug"} for b in blocks}
    return doc


def _step_versions(case: dict[str, Any]) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for step in case.get("steps") or []:
        args = step.get("args") or {}
        for instance in (args.get("app_instance"), args.get("patch")):
            if isinstance(instance, dict) and instance.get("appSlug") and instance.get("appVersion"):
                wanted.setdefault(instance["appSlug"], set()).add(str(instance["appVersion"]))
    return wanted


def renamed_builtin_apps(value: Any) -> Any:
    """The case with its fixture apps named like a Tideway built-in app (the reference's own
    "Custom Code", whose slug Tideway reserves: issue 18) renamed everywhere they appear, in the
    steps and in the expectations alike: the cases check app-instance mechanics, not that app."""
    if isinstance(value, str):
        return f"{value} fixture" if is_builtin(value) else value
    if isinstance(value, list):
        return [renamed_builtin_apps(v) for v in value]
    if isinstance(value, dict):
        return {renamed_builtin_apps(k): renamed_builtin_apps(v) for k, v in value.items()}
    return value


class CrudRunner:
    def __init__(self, stack: Stack, case: dict[str, Any]):
        self.case = case
        self.db = stack.services.db
        self.actor = str((case.get("actor") or {}).get("id") or "9999")
        self.workspaces = WorkspaceService(self.db, self._dispatch)
        self.apps = AppService(self.db, self.workspaces)
        self.instances = AppInstanceService(self.workspaces, self.apps)
        self.workspaces.import_checker = self.instances.checks.check_source  # as cli/composition.py wires it
        self.workspaces.call_targets = self.instances.checks.known_automations
        self.automations = AutomationService(self.workspaces)
        self.workspace_ids = {DEFAULT_WORKSPACE, str(case.get("generated_id") or DEFAULT_WORKSPACE)}
        self.saved: dict[str, Any] = {}

    async def _dispatch(self, _workspace_id: str, events: list[Event]) -> None:
        async with self.db.session() as session:
            await insert_events(session, events)
            await session.commit()

    async def setup(self) -> None:
        for workspace_id in self.workspace_ids:
            await purge_workspace(self.workspaces, workspace_id)
        creates = any(s.get("op") == "create_workspace" for s in self.case.get("steps") or [])
        if not creates:
            source = WorkspaceSource.from_document({"name": "Crud workspace", "slug": f"crud-{uuid.uuid4().hex[:8]}"})
            await self.workspaces.create(source, workspace_id=DEFAULT_WORKSPACE)
        versions = _step_versions(self.case)
        for slug, entry in (self.case.get("app_catalog") or {}).items():
            doc = catalog_document(slug, entry or {})
            await self.apps.publish_document(slug, doc)
            existing = {v["name"] for v in await self.apps.version_list(slug)}
            for name in sorted(versions.get(slug, set()) - existing):
                await self.apps.publish_document(slug, doc, version=name)

    async def _last_seq(self) -> int:
        async with self.db.session() as session:
            stmt = select(EventRow.seq).order_by(col(EventRow.seq).desc()).limit(1)
            return (await session.exec(stmt)).first() or 0

    async def _events_since(self, seq: int) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            stmt = select(EventRow).where(col(EventRow.seq) > seq,
                                          col(EventRow.workspace_id).in_(sorted(self.workspace_ids)))
            rows = (await session.exec(stmt.order_by(col(EventRow.seq)))).all()
        return [{"type": r.type, "source": r.source, "payload": r.payload} for r in rows]

    async def perform(self, op: str, args: dict[str, Any]) -> Any:
        ws_id = str(args.get("workspace_id", DEFAULT_WORKSPACE))
        actor, service, instances, automations = self.actor, self.workspaces, self.instances, self.automations
        if op == "create_automation":
            return await automations.save(ws_id, args["automation"], actor=actor)
        if op == "update_automation":
            return await automations.save(ws_id, args["automation"], slug=args["slug"], actor=actor)
        if op == "delete_automation":
            await automations.delete(ws_id, args["slug"], actor=actor)
            return {"slug": args["slug"]}
        if op == "install_app":
            return await instances.install(ws_id, args["app_instance"], actor=actor)
        if op == "configure_app":
            return await instances.configure(ws_id, args["slug"], args["patch"], actor=actor)
        if op == "uninstall_app":
            return await instances.uninstall(ws_id, args["slug"], actor=actor)
        if op == "get_app_instance":
            return await instances.get(ws_id, args["slug"])
        if op in ("list_app_instances", "get_detailed_app_instances"):
            return await instances.list(ws_id)
        if op == "create_workspace":
            source = WorkspaceSource.from_document(copy.deepcopy(args["workspace"]))
            row = await service.create(source, actor=actor, workspace_id=self.case.get("generated_id"))
            self.workspace_ids.add(row.id)
            return await service.dsul(row.id)
        if op == "update_workspace":
            await patch_root_fields(service, ws_id, copy.deepcopy(args["workspace"]), actor=actor)
            return await service.dsul(ws_id)
        if op == "duplicate_workspace":
            row = await duplicate_workspace(service, ws_id, actor=actor)
            self.workspace_ids.add(row.id)
            return await service.dsul(row.id)
        if op == "delete_workspace":
            await service.delete(ws_id, actor=actor)
            return {"id": ws_id}
        if op == "compute_emitted_events":
            return compute_emitted_events(args["emit"], args.get("config"))
        raise AssertionError(f"unknown operation {op!r}")

    async def step(self, index: int, step: dict[str, Any]) -> None:
        op, args = step["op"], step.get("args") or {}
        where = f"step {index} ({op})"
        if "expected_permission_check" in step:
            # What the operation's route declares (api/permissions.py): one definition.
            checked = required_permission([r for router in ROUTERS for r in router.routes], op, args.get("workspace_id"))
            assert checked is not None and matches(step["expected_permission_check"], checked, subset=True), \
                f"{where}: checks {checked}"
        before = await self._last_seq()
        try:
            result = await self.perform(op, args)
        except TidewayError as exc:
            assert "expected_error" in step, f"{where}: unexpected {exc.name}: {exc.message}"
            assert exc.name == step["expected_error"], f"{where}: raised {exc.name}: {exc.message}"
            return
        assert "expected_error" not in step, f"{where}: expected {step['expected_error']}, got {result!r}"
        if "expected_result" in step:
            assert matches(step["expected_result"], result, subset=True), f"{where}: result {result!r}"
        if "save_as" in step:
            self.saved[step["save_as"]] = result
        if "expected_result_slug_differs_from" in step:
            other = self.saved[step["expected_result_slug_differs_from"]]
            assert result.get("slug") != other.get("slug"), f"{where}: same slug {result.get('slug')!r}"
        events = await self._events_since(before)
        for expected in step.get("expected_events") or []:
            assert any(matches(expected, event, subset=True) for event in events), \
                f"{where}: no event matches {expected!r}; emitted {events!r}"
        if "expected_event_count" in step:
            assert len(events) == step["expected_event_count"], \
                f"{where}: {len(events)} events emitted: {[e['type'] for e in events]}"


async def run_crud_case(stack: Stack, case: dict[str, Any]) -> None:
    case = renamed_builtin_apps(case)
    runner = CrudRunner(stack, case)
    await runner.setup()
    for index, step in enumerate(case.get("steps") or []):
        await runner.step(index, step)
