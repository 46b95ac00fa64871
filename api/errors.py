"""Domain errors mapped to HTTP once: ``{"error", "message", "details"?}``, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import TidewayError

log = logging.getLogger("tideway.api")

HTTP_NAMES = {401: "UnauthorizedError", 403: "ForbiddenError", 404: "ObjectNotFoundError",
              405: "MethodNotAllowedError", 413: "PayloadTooLargeError"}


def error_response(exc: TidewayError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TidewayError)
    async def on_tideway_error(_: Request, exc: TidewayError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"path": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
                   for err in exc.errors()]
        return JSONResponse({"error": "ValidationError", "message": "Invalid request", "details": details},
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = HTTP_NAMES.get(exc.status_code, "Error")
        return JSONResponse({"error": name, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def on_database_error(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database error: %s", exc)
        return JSONResponse({"error": "ServiceUnavailableError", "message": "The database is unavailable"},
                            status_code=503)

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"error": "InternalError", "message": "Unexpected server error"}, status_code=500)
