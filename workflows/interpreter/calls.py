"""Calls to automations: resolved in the run's pinned tree, private and missing apps refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from language import UNDEFINED
from language.values import deep_copy
from schemas.errors import (
    AppNotAvailableError,
    ForbiddenError,
    InvalidInstructionError,
    ObjectNotFoundError,
)
from schemas.instructions import Call
from workflows.interpreter.frames import Frame, location

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter


async def run_call(it: Interpreter, frame: Frame, node: Call, path: str) -> Any:
    """A call to an automation of the workspace or of an app instance (spec §3.9)."""
    name = node.name
    args = it.render(frame, node.arguments)
    if not isinstance(args, dict):
        raise InvalidInstructionError(
            f"Arguments of the call to '{name}' must be an object", {"automation": name})
    target = await it.resolve(frame.instance.full_slug, name)
    if target is not None and target.missing_app is not None:
        raise AppNotAvailableError(
            f"App '{target.missing_app}' is not available on this Tideway: instance '{target.instance.full_slug}' "
            f"was imported without it (missingApps=allow); publish or install the app to call '{name}'",
            {"appSlug": target.missing_app, "instance": target.instance.full_slug, "slug": name})
    automation = it.model(target) if target is not None and target.automation is not None else None
    if target is None or automation is None or automation.disabled:
        raise ObjectNotFoundError(
            f"Automation '{name}' not found (called from {location(frame, path)})",
            {"slug": name, "automation": frame.slug, "instruction": path})
    if automation.private and target.instance.full_slug != frame.instance.full_slug:
        raise ForbiddenError(
            f"Automation '{name}' is private to its app: only that app's automations can call it "
            f"(called from {location(frame, path)})", {"slug": name, "instruction": path})
    payload = {k: deep_copy(v) for k, v in args.items() if v is not UNDEFINED}
    caller = f"{frame.instance.full_slug}.{frame.slug}" if frame.instance.full_slug else frame.slug
    return await it.execute(target, payload, frame.depth, {"type": "automation", "value": caller})
