"""``POST /codec/decode``: the remote codec the Temporal Web UI and CLI call to show encrypted payloads.

Every payload Tideway hands to Temporal is encrypted (core/infra/payload_codec.py). The Temporal UI
(``temporal server start-dev --ui-codec-endpoint <public url>/codec``, which ``tideway run``
passes) and ``temporal workflow show --codec-endpoint <public url>/codec --codec-auth "Bearer
<token>"`` POST ``{"payloads": [...]}`` (proto3 JSON) to ``<endpoint>/decode`` with an
``X-Namespace`` header, and show what comes back. That makes this route a decryption oracle for
everything in Temporal history (secrets included), so it answers superadmins only:

* ``Authorization: Bearer <admin token>`` (or a superadmin user's token): what the CLI sends.
* The browser session cookie of a superadmin, only on a request whose ``Origin`` is one of the
  Temporal UI origins (``TIDEWAY_CODEC_ORIGINS``); the answer carries the CORS headers that let
  that origin read it with credentials. The UI sends the cookie only when "Include cross-origin
  credentials" is on in its codec settings (docs/security.md). The CSRF header of other cookie
  writes is not required: the UI cannot send it, and decoding changes nothing — a cross-origin
  page could at most make the browser send a request whose answer it cannot read.

Anyone else gets 401 or 403 and nothing is decoded. There is no ``/codec/encode``: the UI only
needs it to send input (signals, starts) to workflows, and a decode passes plain payloads through.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.authorization import Actor
from api.bodies import InvalidBodyError, JsonBody
from api.cookies import SESSION_COOKIE
from api.deps import ServicesDep, token_actor
from api.permissions import CheckedInRoute, Public, Superadmin
from core.infra.payload_codec import EncryptionCodec, PayloadCodecError
from core.infra.settings import Settings
from core.services import Services
from schemas.errors import ForbiddenError, ObjectNotFoundError, TidewayError, UnauthorizedError

router = APIRouter(tags=["codec"])

MAX_DECODE_BYTES = 4 * 1024 * 1024  # Temporal's own gRPC message limit
ALLOWED_HEADERS = "authorization, content-type, x-namespace"


class UndecodablePayloadError(TidewayError):
    """A payload sent to /codec/decode that this installation's key cannot decrypt."""

    default_message = "Undecodable payload"


def codec_origins(settings: Settings) -> set[str]:
    """Browser origins whose cookie-authenticated requests are accepted (the Temporal UI)."""
    if settings.tideway_codec_origins:
        return {o.strip().rstrip("/") for o in settings.tideway_codec_origins.split(",") if o.strip()}
    port = settings.temporal_ui_port
    return {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}


def _cors(request: Request, services: Services) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None or origin.rstrip("/") not in codec_origins(services.settings):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin"}


def _operation(path: str) -> str:
    # Codec clients name the operation by the last path segment (the protocol lets the endpoint
    # sit at any depth); the UI's ``<endpoint>/decode`` may arrive as ``/codec//decode``.
    return path.rstrip("/").rsplit("/", 1)[-1]


async def _superadmin(request: Request, services: Services) -> Actor:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        actor = await token_actor(services, token.strip())
    elif request.cookies.get(SESSION_COOKIE):
        origins = codec_origins(services.settings)
        origin = (request.headers.get("origin") or "").rstrip("/")
        if origin not in origins:
            raise ForbiddenError(
                "The session cookie is accepted on /codec/decode only from the Temporal UI "
                f"(Origin {', '.join(sorted(origins))}; TIDEWAY_CODEC_ORIGINS); this request's Origin is "
                f"{origin or 'missing'}. Scripts send Authorization: Bearer <admin token>.",
                {"origin": origin or None})
        actor = await token_actor(services, request.cookies[SESSION_COOKIE].strip())
    else:
        raise UnauthorizedError("Decoding Temporal payloads needs a superadmin: Authorization: Bearer <admin token>, "
                                "or a superadmin's session cookie from the Temporal UI")
    if not actor.superadmin:
        raise ForbiddenError("Only a superadmin may decode Temporal payloads (they hold workspace secrets)")
    return actor


def _payloads(body: Any) -> Payloads:
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise InvalidBodyError('The body must be {"payloads": [...]} (Temporal Payloads as proto3 JSON)')
    bad = [i for i, item in enumerate(body["payloads"]) if not isinstance(item, dict)]
    if bad:
        raise InvalidBodyError(f"Invalid payloads: payloads[{bad[0]}] is not an object {{metadata, data}}",
                               [{"path": f"payloads[{i}]", "message": "not an object"} for i in bad])
    try:
        return json_format.ParseDict(body, Payloads(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidBodyError(f"Invalid payloads: {exc}") from None


# The route answers its own errors (with the CORS headers the Temporal UI needs to read them).
CODEC_ACCESS = CheckedInRoute(Superadmin())


@router.options("/codec/{path:path}", include_in_schema=False,
                dependencies=[Depends(Public("CORS preflight of the Temporal UI (it decodes nothing)"))])
async def preflight(path: str, request: Request, services: ServicesDep) -> Response:
    cors = _cors(request, services)
    if not cors:
        error = ForbiddenError(f"Origin {request.headers.get('origin') or 'missing'} may not call /codec "
                               "(TIDEWAY_CODEC_ORIGINS)")
        return JSONResponse(error.to_dict(), status_code=error.status)
    return Response(status_code=204, headers={**cors, "Access-Control-Allow-Methods": "POST",
                                              "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                              "Access-Control-Max-Age": "600"})


@router.post("/codec/{path:path}", summary="Decode Temporal payloads for the Temporal UI/CLI (superadmin)",
             dependencies=[Depends(CODEC_ACCESS)])
async def decode(path: str, request: Request, services: ServicesDep,
                 body: Annotated[Any, Depends(JsonBody(MAX_DECODE_BYTES))]) -> JSONResponse:
    cors = _cors(request, services)  # also on errors, so the UI can read why it was refused
    try:
        if _operation(path) != "decode":
            raise ObjectNotFoundError(f"Unknown codec operation '{_operation(path)}': only POST /codec/decode "
                                      "exists (Tideway does not encode payloads for clients)")
        await _superadmin(request, services)
        payloads = _payloads(body)
        codec = services.client.data_converter.payload_codec
        if not isinstance(codec, EncryptionCodec):
            raise PayloadCodecError("This process's Temporal client has no payload codec (it was not made by "
                                    "core.infra.temporal.connect)")
        try:
            decoded = Payloads(payloads=await codec.decode(payloads.payloads))
        except PayloadCodecError as exc:
            raise UndecodablePayloadError(exc.message) from None
        return JSONResponse(json_format.MessageToDict(decoded), headers={**cors, "Cache-Control": "no-store"})
    except TidewayError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=cors)
