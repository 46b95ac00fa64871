"""The OpenAPI document: what ``/openapi.json`` says beyond what FastAPI infers by itself.

Request bodies are read by the strict readers of ``api/bodies.py``, not by FastAPI, so a route
documents its body with ``openapi_extra=json_body(Model)``: the model (``schemas/api/``,
``schemas/requests.py``) is the one definition, its JSON schema lands in
``components.schemas``. ``install_openapi`` then adds to every operation what its declared access
(``api/permissions.py``) implies: the security schemes, ``x-tideway-access``, and the documented
error answers (``ErrorBody``) of the check, of the body reader, of an unknown path object, of an
unavailable database, plus the ones the route lists with ``errors(…)``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.bodies import BodyReader
from api.permissions import api_routes, declared_access
from schemas.api.common import ErrorBody

COMPONENT = "#/components/schemas/{model}"
ERROR_DESCRIPTIONS = {
    400: "Invalid request: `details` lists every problem as `{path, message}`",
    401: "Missing, invalid or expired credentials",
    403: "The caller may not do this (`details`: action, subject, workspaceId)",
    404: "Unknown workspace or object",
    409: "A concurrent write got in between; retry",
    413: "Body too large (`details.limit`)",
    429: "Too many requests (`Retry-After` says when to retry)",
    503: "The database or Temporal is unavailable",
}
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "TIDEWAY_ADMIN_TOKEN (a superadmin), or a user's session or access token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-prismeai-api-key",
               "description": "a workspace API key: adds its rules on its own workspace"},
}
# Models documented without being a FastAPI parameter or response: request bodies, the error body.
_DOCUMENTED: dict[str, type[BaseModel]] = {ErrorBody.__name__: ErrorBody}
BINARY = {"type": "string", "format": "binary"}


def _register(model: type[BaseModel]) -> str:
    name = model.__name__
    known = _DOCUMENTED.setdefault(name, model)
    if known is not model:
        raise ValueError(f"two documented models are named {name}: {known.__module__} and {model.__module__}")
    return name


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": COMPONENT.format(model=_register(model))}


def json_body(model: type[BaseModel], *, required: bool = True, description: str | None = None,
              also: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` of a route whose body reader reads JSON shaped by ``model``; ``also``
    adds other media types."""
    body: dict[str, Any] = {"required": required,
                            "content": {"application/json": {"schema": ref(model)}, **(also or {})}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its query string with ``model`` itself (one reader,
    every problem in one 400): the model's fields as optional query parameters."""
    params = []
    for name, field in model.model_fields.items():
        annotation = str(field.annotation)
        kind = "integer" if "int" in annotation else "string"
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
        if field.description:
            param["description"] = field.description
        params.append(param)
    return {"parameters": params}


def import_body(model: type[BaseModel]) -> dict[str, Any]:
    """The workspace import's bodies: one JSON or YAML document, or the folder as a zip."""
    document = {"schema": ref(model)}
    return json_body(model, description="One JSON or YAML document, or a zip of the workspace folder "
                     "(`index.yml`, `automations/*.yml`, `imports/*.yml`, `security.yml`, `pages/*.yml`), "
                     "as `application/zip` or the multipart field `archive`", also={
                         "application/yaml": document, "application/x-yaml": document,
                         "application/zip": {"schema": BINARY}, "application/octet-stream": {"schema": BINARY},
                         "multipart/form-data": {"schema": {"type": "object", "required": ["archive"],
                                                            "properties": {"archive": BINARY}}}})


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of the error answers a route adds to the ones its access and body imply."""
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


class ZipResponse(Response):
    media_type = "application/zip"


ZIP: dict[int | str, dict[str, Any]] = {200: {"description": "the workspace folder as a zip archive", "content": {"application/zip": {"schema": BINARY}}}}
ANY_JSON: dict[int | str, dict[str, Any]] = {200: {"description": "the automation's output: any JSON value",
                  "content": {"application/json": {"schema": {}}}}}


def _reads_body(route: APIRoute) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, BodyReader):
            return True
        pending.extend(dependency.dependencies)
    return False


def _error_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_DESCRIPTIONS[status], "content": {"application/json": {"schema": ref(ErrorBody)}}}


def _complete(operation: dict[str, Any], route: APIRoute) -> None:
    access = declared_access(route)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    # Parameter errors are a 400 ErrorBody (api/errors.py), never FastAPI's 422.
    statuses = {503}
    if responses.pop("422", None) is not None or _reads_body(route):
        statuses.add(400)
    if _reads_body(route):
        statuses.add(413)
    if route.param_convertors:
        statuses.add(404)
    if access is not None:
        statuses.update(access.statuses)
        operation["x-tideway-access"] = access.describe()
        operation["security"] = [dict(scheme) for scheme in access.security]
    html = isinstance(route.response_class, type) and issubclass(route.response_class, HTMLResponse)
    for status in sorted(statuses):
        # The HTML routes answer their errors as pages too (and the Activity view a login form).
        responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status], "content": {
            "text/html": {"schema": {"type": "string"}}}} if html else _error_response(status))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _complete(operation, route)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, top = models_json_schema([(model, "validation") for model in _DOCUMENTED.values()], ref_template=COMPONENT)
    for name, schema in top.get("$defs", {}).items():
        known = schemas.setdefault(name, schema)
        # A model FastAPI rendered too (a response as well): its serialization schema differs from
        # this validation one only by defaults, never by fields.
        if set(known.get("properties", {})) != set(schema.get("properties", {})):
            raise ValueError(f"components.schemas.{name}: two different models share the name")
    for unused in ("HTTPValidationError", "ValidationError"):  # the 422 bodies removed above
        schemas.pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
