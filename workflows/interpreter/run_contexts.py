"""The contexts of one run (spec §5, DECISIONS 10–11, 19).

Each place code runs — the root workspace or an app instance — has its own ``config``,
``$workspace``, ``global``, ``user``, ``session`` and ``socket``; ``run`` is shared by the
whole run (its correlation id ties it together). ``global``/``user``/``session``/``run`` are
persisted: loaded when code first runs there, written back as operations at each flush.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from language.values import deep_copy, strip_undefined
from schemas.errors import TidewayError
from schemas.events import json_size
from schemas.run_settings import RunSettings
from schemas.runs import ContextKeys, ContextWrite, InstanceInfo, RunInput
from workflows.interpreter.effects import Effects

RUN_BUILTINS = ("depth", "automationSlug", "trigger", "date", "correlationId", "appSlug", "appInstanceSlug",
                "appInstanceFullSlug", "parentAppSlug")


def deployment_globals(run: RunInput, limits: RunSettings) -> dict[str, str]:
    """What ``global`` says about the deployment (read-only facts, set again at every run)."""
    api = limits.api_url.rstrip("/")
    return {"apiUrl": api, "studioUrl": limits.studio_url.rstrip("/") or api,
            "pagesUrl": f"{api}/pages/{run.workspace.slug}", "pagesHost": urlsplit(api).netloc}


class ContextQuotaExceededError(TidewayError):
    default_message = "Context quota exceeded"


class RunContexts:
    def __init__(self, run: RunInput, effects: Effects, limits: RunSettings):
        self.run = run
        self.effects = effects
        self.quota, self.run_ttl = limits.context_quota_bytes, limits.run_context_ttl
        self.session_ttl = limits.session_context_ttl
        self.deployment = deployment_globals(run, limits)
        self.user_id = run.user_id
        self.session_id = run.session_id or run.user_id or run.correlation_id
        self.shared_run: dict[str, Any] = {"correlationId": run.correlation_id}
        self.by_instance: dict[str, dict[str, Any]] = {}  # full slug -> contexts dict
        self.infos: dict[str, InstanceInfo] = {}
        self.writes: list[ContextWrite] = []

    # -- building ---------------------------------------------------------------------
    def _fresh(self, info: InstanceInfo, stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
        ws = self.run.workspace
        workspace_view: dict[str, Any] = {"id": ws.id, "slug": ws.slug, "name": ws.name} if not info.full_slug else {
            "appSlug": info.app_slug, "appInstanceSlug": info.slug, "appInstanceFullSlug": info.full_slug,
            "version": info.version}
        workspace_view["config"] = {"value": info.config}
        user = dict(stored.get("user", {}))
        if self.user_id:
            user = {"authData": {}, **user, "id": self.user_id}
        return {
            "config": deep_copy(info.config),  # run-local: `set config.x` never leaks (DECISIONS 11)
            "$workspace": workspace_view,
            "global": {**stored.get("global", {}), **self.deployment, "workspaceId": ws.id, "workspaceName": ws.name,
                       "workspaceSlug": ws.slug,
                       "endpoints": {name: f"{self.deployment['apiUrl']}/v2/workspaces/{ws.id}/webhooks/{name}"
                                     for name in info.endpoints}},
            "user": user,
            "session": {**stored.get("session", {}), "id": self.session_id},
            "socket": {},
            "run": self.shared_run,
        }

    def keys(self, info: InstanceInfo) -> ContextKeys:
        return ContextKeys(scope=info.scope or self.run.workspace.id, user_id=self.user_id,
                           session_key=self.session_id, correlation_id=self.run.correlation_id)

    async def enter(self, info: InstanceInfo) -> dict[str, Any]:
        """The contexts of ``info``, loading its persisted ones the first time."""
        current = self.by_instance.get(info.full_slug)
        if current is None:
            self.infos[info.full_slug] = info
            stored = await self._load(info) if info.uses_contexts else {}
            current = self.by_instance[info.full_slug] = self._fresh(info, stored)
        return current

    async def _load(self, info: InstanceInfo) -> dict[str, dict[str, Any]]:
        stored = await self.effects.load_contexts(self.keys(info))
        run_values = stored.get("run")
        if run_values and info.full_slug == "":
            for key, value in run_values.items():
                if key not in RUN_BUILTINS:
                    self.shared_run[key] = value
        return stored

    async def reload(self) -> None:
        """Re-read every persisted context in use (after a wait, or an identity switch)."""
        for full_slug, info in self.infos.items():
            contexts = self.by_instance[full_slug]
            stored = await self._load(info) if info.uses_contexts else {}
            fresh = self._fresh(info, stored)
            for kind in ("global", "user", "session"):
                contexts[kind].clear()
                contexts[kind].update(fresh[kind])

    async def switch_identity(self, value: str) -> None:
        """``set user.id`` / ``set session.id`` to a new value (spec §3.1)."""
        self.user_id = value
        self.session_id = value
        await self.reload()

    # -- writes -----------------------------------------------------------------------
    def record(self, info: InstanceInfo, kind: str, path: list[str | int], value: Any, op: str) -> None:
        key = {"global": "", "user": self.user_id, "session": self.session_id,
               "run": self.run.correlation_id}.get(kind)
        if key is None:
            return  # user writes are not saved without a user id
        contexts = self.by_instance.get(info.full_slug, {})
        if op != "delete" and json_size(strip_undefined(contexts.get(kind))) > self.quota:
            raise ContextQuotaExceededError(f"Context '{kind}' is over its quota of {self.quota} bytes",
                                            {"context": kind, "limit": self.quota})
        scope = self.run.workspace.id if kind == "run" else (info.scope or self.run.workspace.id)
        ttl = self.run_ttl if kind == "run" else self.session_ttl if kind == "session" else None
        self.writes.append(ContextWrite(id=self.effects.new_id(), scope=scope, kind=kind, key=key, type=op,
                                        path=path, value=strip_undefined(deep_copy(value)), ttl_seconds=ttl))

    def take_writes(self) -> list[ContextWrite]:
        writes, self.writes = self.writes, []
        return writes
