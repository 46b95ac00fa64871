"""The install form of an app: an HTML form generated from the app's ``config.schema``.

``GET /v2/workspaces/{id}/apps/install/{appSlug}`` shows it, ``POST`` to the same path (form
urlencoded) installs the instance through ``AppInstanceService.install``, the same call as
``POST /v2/workspaces/{id}/apps``, so the config is validated in one place; its error details
are shown next to the fields they name (400, the form re-rendered with what was typed).

Field names are dotted paths (``config.server.port``). Widgets by schema: strings (``ui:widget:
textarea`` → textarea, ``secret: true`` → password), numbers and integers, booleans
(checkbox), ``enum`` (select), objects with ``properties`` (fieldset), arrays of an enum
(checkboxes), arrays of scalars (one item per line), anything else (JSON in a textarea).
"""

from __future__ import annotations

import html
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.authorization import Actor
from api.bodies import FormBody, FormReader
from api.cookies import CSRF_COOKIE, CSRF_HEADER
from api.deps import ServicesDep, current_actor
from api.permissions import CheckedInRoute, require
from api.routers.pages import error_page, html_page
from core.apps.catalog import config_view
from core.services import Services
from schemas import strict_json
from schemas.automations import slug_problem
from schemas.errors import (
    AlreadyUsedError,
    InvalidArgumentsError,
    InvalidSlugError,
    MissingFieldError,
    TidewayError,
)

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/apps/install", tags=["app instances"])
Values = dict[str, list[str]]  # form field name -> the strings sent (or shown)
MAX_FORM_BYTES = 1_000_000
SCALARS = ("string", "number", "integer", "boolean")
FORMAT_HINTS = {"lines": "(one item per line)", "json": "(JSON)"}
# Without a session cookie the form posts normally (API clients send Authorization); with one,
# the CSRF header cookie-authenticated writes need is added by this script (api/cookies.py).
SUBMIT_SCRIPT = ("<script>(function(){var f=document.getElementById('install');var m=document.cookie.match("
                 "/(?:^|; )" + CSRF_COOKIE + "=([^;]*)/);if(!f||!m)return;f.addEventListener('submit',function(e){"
                 "e.preventDefault();fetch(f.action,{method:'POST',credentials:'same-origin',headers:{'content-type':"
                 "'application/x-www-form-urlencoded','" + CSRF_HEADER + "':decodeURIComponent(m[1])},body:new "
                 "URLSearchParams(new FormData(f))}).then(function(r){return r.text()}).then(function(t){"
                 "document.open();document.write(t);document.close()})})})()</script>")


def _type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else "string"


def _kind(prop: dict[str, Any]) -> str:
    """The widget of a schema property."""
    kind = _type(prop)
    if isinstance(prop.get("enum"), list):
        return "enum"
    if kind in ("number", "integer", "boolean"):
        return kind
    if kind == "object":
        return "object" if isinstance(prop.get("properties"), dict) else "json"
    if kind == "array":
        found = prop.get("items")
        items: dict[str, Any] = found if isinstance(found, dict) else {}
        if isinstance(items.get("enum"), list):
            return "multi"
        return "lines" if _type(items) in SCALARS and "type" in items else "json"
    return "string" if kind == "string" or kind.startswith("localized:") else "json"


def _shown(value: Any) -> str:
    """How a value is written in a form field."""
    return value if isinstance(value, str) else json.dumps(value)


def _properties(schema: Any) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in schema.items() if isinstance(v, dict)} if isinstance(schema, dict) else {}


# -- rendering ----------------------------------------------------------------------------------
def default_values(schema: dict[str, Any], prefix: str = "config") -> Values:
    """The schema's ``default`` values as form strings (what a fresh form shows)."""
    out: Values = {}
    for key, prop in _properties(schema).items():
        name, kind, default = f"{prefix}.{key}", _kind(prop), prop.get("default")
        if kind == "object":
            out.update(default_values(prop["properties"], name))
        elif default is None:
            continue
        elif kind == "multi" and isinstance(default, list):
            out[name] = [_shown(v) for v in default]
        elif kind == "lines" and isinstance(default, list):
            out[name] = ["\n".join(_shown(v) for v in default)]
        elif kind == "boolean":
            out[name] = ["true"] if default is True else []
        else:
            out[name] = [_shown(default)]
    return out


def render_fields(schema: dict[str, Any], values: Values, errors: dict[str, str], prefix: str = "config",
                  required: frozenset[str] = frozenset()) -> str:
    parts = []
    for key, prop in _properties(schema).items():
        name, kind = f"{prefix}.{key}", _kind(prop)
        title = prop.get("title")
        title_html = html.escape(title if isinstance(title, str) else key) + (" *" if key in required else "")
        help_text = prop.get("description") if isinstance(prop.get("description"), str) else ""
        help_text = f"{help_text} {FORMAT_HINTS.get(kind, '')}".strip()
        help_html = f"<small>{html.escape(help_text)}</small>" if help_text else ""
        error_html = f"<p class=\"error\" id=\"{html.escape(name)}-error\">{html.escape(errors[name])}</p>" \
            if name in errors else ""
        if kind == "object":
            inner = prop.get("required")
            inner_required = frozenset(inner) if isinstance(inner, list) else frozenset()
            parts.append(f"<fieldset><legend>{title_html}</legend>{help_html}{error_html}"
                         f"{render_fields(prop['properties'], values, errors, name, inner_required)}</fieldset>")
            continue
        field = _widget(name, kind, prop, values.get(name, []))
        if kind == "boolean":
            parts.append(f"<label>{field} {title_html}</label>{help_html}{error_html}")
        else:
            parts.append(f"<label for=\"{html.escape(name)}\">{title_html}</label>{help_html}{field}{error_html}")
    return "".join(parts)


def _widget(name: str, kind: str, prop: dict[str, Any], sent: list[str]) -> str:
    attr = f"name=\"{html.escape(name)}\" id=\"{html.escape(name)}\""
    current = sent[-1] if sent else ""
    value = html.escape(current)
    if kind == "boolean":
        # The hidden "false" makes an unticked box an explicit false (browsers omit unticked boxes).
        ticked = " checked" if "true" in sent else ""
        return (f"<input type=\"hidden\" name=\"{html.escape(name)}\" value=\"false\">"
                f"<input type=\"checkbox\" {attr} value=\"true\"{ticked}>")
    if kind in ("number", "integer"):
        step = "1" if kind == "integer" else "any"
        return f"<input type=\"number\" step=\"{step}\" {attr} value=\"{value}\">"
    if kind == "enum":
        options = ["<option value=\"\"></option>"]
        for option in prop["enum"]:
            shown = _shown(option)
            selected = " selected" if shown == current else ""
            options.append(f"<option value=\"{html.escape(shown)}\"{selected}>{html.escape(shown)}</option>")
        return f"<select {attr}>{''.join(options)}</select>"
    if kind == "multi":
        boxes = [f"<input type=\"hidden\" name=\"{html.escape(name)}\" value=\"\">"]
        for option in prop["items"]["enum"]:
            shown = _shown(option)
            ticked = " checked" if shown in sent else ""
            boxes.append(f"<label><input type=\"checkbox\" name=\"{html.escape(name)}\" "
                         f"value=\"{html.escape(shown)}\"{ticked}> {html.escape(shown)}</label>")
        return "".join(boxes)
    if kind in ("lines", "json") or prop.get("ui:widget") == "textarea":
        return f"<textarea {attr} rows=\"4\" cols=\"60\">{value}</textarea>"
    secret = prop.get("secret") is True or prop.get("ui:widget") == "password"
    return f"<input type=\"{'password' if secret else 'text'}\" {attr} value=\"{value}\">"


# -- parsing ------------------------------------------------------------------------------------
def _scalar(text: str, kind: str) -> Any:
    """A typed value from a field's text (ValueError with the message to show)."""
    if kind == "integer":
        number = float(text)  # accepts "3.0"; "abc" raises ValueError
        if not number.is_integer():
            raise ValueError("must be an integer")
        return int(number)
    if kind == "number":
        number = float(text)
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError("must be true or false")
        return text.lower() == "true"
    return text


def _parse_error(kind: str, prop: dict[str, Any], exc: ValueError) -> str:
    if kind == "lines":
        return f"each line must be a {_type(prop['items'])}"
    if kind == "json":
        return "must be valid JSON"
    if kind in ("number", "integer"):
        return f"must be a{'n integer' if kind == 'integer' else ' number'}"
    return str(exc)


def _choice(text: str, options: list[Any]) -> Any:
    # The option whose form string was sent; anything else goes through as typed, so the
    # schema check reports it like any other bad value.
    return next((o for o in options if _shown(o) == text), text)


def parse_fields(schema: dict[str, Any], form: Values, errors: dict[str, str], prefix: str = "config") -> dict[str, Any]:
    """The config a submitted form describes; empty fields are left out (the app's defaults
    apply) and fields that cannot be read get an entry in ``errors``."""
    out: dict[str, Any] = {}
    for key, prop in _properties(schema).items():
        name, kind = f"{prefix}.{key}", _kind(prop)
        sent = form.get(name)
        if kind == "object":
            nested = parse_fields(prop["properties"], form, errors, name)
            if nested:
                out[key] = nested
            continue
        if sent is None:
            continue
        text = sent[-1].strip() if kind != "string" else sent[-1]
        try:
            if kind == "boolean":
                out[key] = "true" in sent
            elif kind == "multi":
                out[key] = [_choice(v, prop["items"]["enum"]) for v in sent if v != ""]
            elif not text:
                continue
            elif kind in ("number", "integer"):
                out[key] = _scalar(text, kind)
            elif kind == "enum":
                out[key] = _choice(text, prop["enum"])
            elif kind == "lines":
                item_kind = _type(prop["items"])
                out[key] = [_scalar(line.strip(), item_kind) for line in text.splitlines() if line.strip()]
            elif kind == "json":
                out[key] = strict_json.loads(text)
            else:
                out[key] = text
        except ValueError as exc:
            errors[name] = _parse_error(kind, prop, exc)
    return out


def field_errors(details: Any, fields: set[str]) -> tuple[dict[str, str], list[str]]:
    """The service's ``[{path: "config.a.b", message}]`` as errors per form field (a path inside
    a field, e.g. an array item, goes to that field; a missing required property to itself), plus
    the messages no field matches."""
    errors: dict[str, str] = {}
    general: list[str] = []
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        path, message = str(detail.get("path") or ""), str(detail.get("message") or "invalid value")
        if message.endswith("is a required property") and message.startswith("'"):
            path = f"{path}.{message.split(chr(39))[1]}"
            message = "required"
        target = path
        while target and target not in fields:
            target = target.rpartition(".")[0]
        if target:
            errors.setdefault(target, message)
        else:
            general.append(f"{path}: {message}" if path else message)
    return errors, general


def field_names(schema: dict[str, Any], prefix: str = "config") -> set[str]:
    names: set[str] = set()
    for key, prop in _properties(schema).items():
        name = f"{prefix}.{key}"
        names.add(name)
        if _kind(prop) == "object":
            names |= field_names(prop["properties"], name)
    return names


# -- routes -------------------------------------------------------------------------------------
# HTML routes: they answer their own errors (an error page, the form with the errors), so they
# check in the route what they declare.
SHOW_FORM = CheckedInRoute(require("read"))
INSTALL = CheckedInRoute(require("update"))


async def _caller(request: Request, services: Services, workspace_id: str, access: CheckedInRoute) -> Actor:
    actor = await current_actor(request, services)
    await access.check(services, actor, workspace_id)
    return actor


async def _app(services: Services, app_slug: str) -> tuple[str, str, dict[str, Any]]:
    """(name, version, config.schema) of the app's latest version."""
    row = await services.apps.row(app_slug)
    version, document = await services.apps.version_document(app_slug, None)
    schema = config_view(document).get("schema")
    return row.name or app_slug, version, schema if isinstance(schema, dict) else {}


async def _free_slug(services: Services, workspace_id: str, app_slug: str) -> str:
    taken = set((await services.workspaces.source(workspace_id)).imports)
    base = app_slug if not slug_problem(app_slug, "app instance") else "app"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _form(request: Request, name: str, version: str, schema: dict[str, Any], values: Values,
          errors: dict[str, str], general: list[str], status: int) -> HTMLResponse:
    slug_error = f"<p class=\"error\">{html.escape(errors['slug'])}</p>" if "slug" in errors else ""
    general_html = "".join(f"<p class=\"error\">{html.escape(m)}</p>" for m in general)
    slug_value = html.escape((values.get("slug") or [""])[-1])
    body = (f"<h1>Install {html.escape(name)}</h1><p><small>version {html.escape(version)}</small></p>"
            f"{general_html}<form id=\"install\" method=\"post\" action=\"{html.escape(request.url.path)}\">"
            f"<label for=\"slug\">Instance slug *</label><input type=\"text\" name=\"slug\" id=\"slug\" "
            f"value=\"{slug_value}\" required>{slug_error}"
            f"{render_fields(schema, values, errors)}<p><button type=\"submit\">Install</button></p></form>"
            f"{SUBMIT_SCRIPT}")
    return html_page(f"Install {name}", body, status, {"cache-control": "no-store"})


@router.get("/{app_slug:path}", response_class=HTMLResponse, dependencies=[Depends(SHOW_FORM)])
async def install_form(workspace_id: str, app_slug: str, request: Request, services: ServicesDep) -> HTMLResponse:
    try:
        await _caller(request, services, workspace_id, SHOW_FORM)
        name, version, schema = await _app(services, app_slug)
        values = {**default_values(schema), "slug": [await _free_slug(services, workspace_id, app_slug)]}
    except TidewayError as exc:
        return error_page(exc.status, "Cannot install this app", exc.message)
    return _form(request, name, version, schema, values, {}, [], 200)


@router.post("/{app_slug:path}", response_class=HTMLResponse, dependencies=[Depends(INSTALL)])
async def install_from_form(workspace_id: str, app_slug: str, request: Request, services: ServicesDep,
                            submitted: Annotated[FormReader, Depends(FormBody(MAX_FORM_BYTES))]) -> HTMLResponse:
    try:
        actor = await _caller(request, services, workspace_id, INSTALL)
        name, version, schema = await _app(services, app_slug)
        if submitted.content_type != "application/x-www-form-urlencoded":
            return error_page(400, "Cannot install this app",
                              "Send the form as application/x-www-form-urlencoded.")
        raw = await submitted.read()
    except TidewayError as exc:
        return error_page(exc.status, "Cannot install this app", exc.message)
    try:
        form: Values = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        return error_page(400, "Cannot install this app", "The form body could not be read.")
    errors: dict[str, str] = {}
    config = parse_fields(schema, form, errors)
    slug = (form.get("slug") or [""])[-1].strip()
    if not slug:
        errors["slug"] = "required"
    if errors:
        return _form(request, name, version, schema, form, errors, [], 400)
    try:
        instance = await services.app_instances.install(
            workspace_id, {"appSlug": app_slug, "slug": slug, "config": config}, actor=actor.id or None)
    except InvalidArgumentsError as exc:
        errors, general = field_errors(exc.details, field_names(schema))
        return _form(request, name, version, schema, form, errors, general or ([] if errors else [exc.message]), 400)
    except (AlreadyUsedError, InvalidSlugError, MissingFieldError) as exc:
        return _form(request, name, version, schema, form, {"slug": exc.message}, [], 400)
    except TidewayError as exc:
        return _form(request, name, version, schema, form, {}, [exc.message], exc.status)
    body = (f"<h1>{html.escape(name)} installed</h1><p>Instance <code>{html.escape(instance['slug'])}</code> "
            f"of app <code>{html.escape(app_slug)}</code> (version {html.escape(version)}).</p>"
            f"<pre>{html.escape(json.dumps(instance.get('config') or {}, indent=2))}</pre>")
    return html_page(f"{name} installed", body, 200, {"cache-control": "no-store"})
