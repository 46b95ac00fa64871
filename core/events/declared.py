"""The computed events index of automations, apps and app instances.

* ``automation_events(automation)`` → ``{emit, listen, autocomplete}``: ``listen`` is
  ``when.events``; ``emit`` the static names of the ``emit`` instructions found anywhere in
  ``do`` (inside ``conditions``, ``repeat`` and ``all`` too); an ``emit`` carrying an
  ``autocomplete`` goes to ``autocomplete`` as ``{event, autocomplete}`` instead. Templated names
  without an autocomplete (``event: "{{name}}"``) cannot be known ahead and are left out.
* ``app_events(document)``: the union over the app version's enabled automations (private ones
  included: their events still cross the instance boundary, prefixed).
* ``instance_events(app_events, slug, config)`` → ``{emit, listen}`` of one instance: emitted
  names (static ones and autocompletions computed from the instance config) prefixed with the
  instance slug, listened names as the app declares them.
* ``compute_emitted_events(emit, config)``: the names an ``emit`` with an ``autocomplete`` can
  produce for a config. Each autocomplete entry ``{from: appConfig, path, template?}`` takes the
  values at ``path`` (JSONPath-Plus syntax, evaluated by python-jsonpath; a trailing ``~`` takes
  the property names of the matches as JSONPath-Plus does), formats each through ``template``
  (``${value}``) and is substituted for ``{{<key>}}`` in the event name; several entries combine.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import jsonpath

TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
CONFIG_SOURCES = ("appConfig", "config")


def _unique(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _emits(do: Any) -> list[dict[str, Any]]:
    """Every ``emit`` argument nested in a ``do`` list."""
    found: list[dict[str, Any]] = []
    if not isinstance(do, list):
        return found
    for item in do:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        name, arg = next(iter(item.items()))
        if name == "emit" and isinstance(arg, dict):
            found.append(arg)
        elif name == "conditions" and isinstance(arg, dict):
            for branch in arg.values():
                found += _emits(branch)
        elif name == "repeat" and isinstance(arg, dict):
            found += _emits(arg.get("do"))
        elif name == "all":
            found += _emits(arg)
    return found


def is_templated(name: str) -> bool:
    return "{{" in name or "{%" in name


def automation_events(automation: Any) -> dict[str, list[Any]]:
    index: dict[str, list[Any]] = {"emit": [], "listen": [], "autocomplete": []}
    if not isinstance(automation, dict):
        return index
    when = automation.get("when")
    listened = when.get("events") if isinstance(when, dict) else None
    index["listen"] = _unique([e for e in listened or [] if isinstance(e, str)])
    for emit in _emits(automation.get("do")):
        event, autocomplete = emit.get("event"), emit.get("autocomplete")
        if not isinstance(event, str):
            continue
        if isinstance(autocomplete, dict) and autocomplete:
            entry = {"event": event, "autocomplete": autocomplete}
            if entry not in index["autocomplete"]:
                index["autocomplete"].append(entry)
        elif not is_templated(event) and event not in index["emit"]:
            index["emit"].append(event)
    return index


def app_events(document: dict[str, Any]) -> dict[str, list[Any]]:
    index: dict[str, list[Any]] = {"emit": [], "listen": [], "autocomplete": []}
    for automation in (document.get("automations") or {}).values():
        if not isinstance(automation, dict) or automation.get("disabled"):
            continue
        for key, values in automation_events(automation).items():
            index[key] = _unique(index[key] + values)
    return index


def _jsonpath(path: str) -> tuple[str, bool]:
    """JSONPath-Plus text → (python-jsonpath query, keys wanted)."""
    path = path.strip()
    keys = path.endswith("~")
    if keys:
        path = path[:-1]
    if not path.startswith("$"):
        path = "$" + (path if path.startswith(("[", ".")) else "." + path)
    return path, keys


def _autocomplete_values(spec: Any, config: Any) -> list[str]:
    if not isinstance(spec, dict) or spec.get("from", "appConfig") not in CONFIG_SOURCES:
        return []
    path = spec.get("path")
    if not isinstance(path, str) or not path.strip():
        return []
    query, keys = _jsonpath(path)
    try:
        matches = list(jsonpath.finditer(query, config if config is not None else {}))
    except jsonpath.JSONPathError:
        return []
    values: list[str] = []
    for match in matches:
        if keys:
            if not match.parts:
                continue
            value: Any = match.parts[-1]
        else:
            value = match.obj
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, str | int | float):
            continue
        template = spec.get("template")
        text = template.replace("${value}", str(value)) if isinstance(template, str) else str(value)
        values.append(text)
    return _unique(values)


def _fill(event: str, values: dict[str, str]) -> str:
    return TEMPLATE.sub(lambda m: values.get(m.group(1), m.group(0)), event)


def compute_emitted_events(emit: dict[str, Any], config: Any) -> list[str]:
    event = emit.get("event") if isinstance(emit, dict) else None
    if not isinstance(event, str):
        return []
    autocomplete = emit.get("autocomplete")
    if not isinstance(autocomplete, dict) or not autocomplete:
        return [] if is_templated(event) else [event]
    keys = list(autocomplete)
    choices = [_autocomplete_values(autocomplete[k], config) for k in keys]
    names: list[str] = []
    for combo in itertools.product(*choices):
        name = _fill(event, dict(zip(keys, combo, strict=True)))
        if not is_templated(name) and name not in names:
            names.append(name)
    return names


def instance_events(events: dict[str, list[Any]], slug: str, config: Any) -> dict[str, list[str]]:
    emitted = list(events.get("emit") or [])
    for entry in events.get("autocomplete") or []:
        emitted += compute_emitted_events(entry, config)
    return {"emit": _unique([f"{slug}.{name}" for name in emitted]), "listen": list(events.get("listen") or [])}
