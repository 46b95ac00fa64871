"""Domain errors shared by every layer.

One class hierarchy, one wire shape: ``{"error": <Name>, "message", "details"?}``.
The API maps ``TidewayError.status`` to the HTTP status once (api/errors.py); the
workflow turns these into ``ApplicationError`` with ``type=<Name>`` so the same name
and details cross Temporal unchanged.
"""

from __future__ import annotations

import math
from typing import Any


class TidewayError(Exception):
    """Base of every error a user may see. ``name`` is the public error name."""

    status: int = 400
    default_message: str = "Error"

    def __init__(self, message: str | None = None, details: Any = None, *, name: str | None = None):
        self.message = message or self.default_message
        self.details = details
        self.name = name or type(self).__name__
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.name, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ObjectNotFoundError(TidewayError):
    status = 404
    default_message = "Object not found"


class AppNotAvailableError(TidewayError):
    """A call into an app instance kept by ``?missingApps=allow`` whose app is not on this Tideway."""

    status = 404
    default_message = "App not available"


class CustomCodeError(TidewayError):
    """A Custom Code function that could not give a result. ``details``: ``{function, reason,
    message?, line?}`` (reasons: core/custom_code/models.py); ``console`` holds what it printed before failing, which is
    the caller's to show (it is the function's own output, never Tideway's)."""

    default_message = "Custom Code function failed"

    def __init__(self, message: str | None = None, details: Any = None, *, console: list[str] | None = None):
        super().__init__(message, details)
        self.console = console or []


class ForbiddenError(TidewayError):
    status = 403
    default_message = "Forbidden"


class UnauthorizedError(TidewayError):
    status = 401
    default_message = "Unauthorized"


class PayloadTooLargeError(TidewayError):
    status = 413
    default_message = "Payload too large"


class ConflictError(TidewayError):
    """The resource changed between read and write; the caller may retry."""

    status = 409
    default_message = "Conflict"


class SearchError(TidewayError):
    """A search Tideway cannot answer as asked: a clause, option or body key it does not support
    (400, ``details`` lists every problem as ``{path, message}``), or aggregations over events
    the caller may not all read (403)."""

    status = 400
    default_message = "Invalid search"

    def __init__(self, message: str | None = None, details: Any = None, *, status: int | None = None,
                 name: str | None = None):
        super().__init__(message, details, name=name)
        if status is not None:
            self.status = status


class WorkspaceLockedError(TidewayError):
    """Another import of the workspace is running (its write lock is held)."""

    status = 409
    default_message = "The workspace is locked by an import in progress"


class RunCancelledError(TidewayError):
    """The run was cancelled (``POST …/runs/{runId}/cancel``) before it answered."""

    status = 409
    default_message = "The run was cancelled"


class AlreadyUsedError(TidewayError):
    default_message = "Already used"


class InvalidWorkspaceError(TidewayError):
    """Import/validation failure; details is a list of ``{"path", "message"}``."""

    default_message = "Invalid workspace"


class InvalidSlugError(TidewayError):
    default_message = "Invalid slug"


class InvalidInstructionError(TidewayError):
    default_message = "Invalid instruction"


class InvalidBodyError(TidewayError):
    """A request body that cannot be read: malformed or refused JSON (NaN, lone surrogates, too
    deep), a broken multipart body. ``details`` names where when known."""

    default_message = "Invalid request body"


class ValidationError(TidewayError):
    """A request body of the wrong shape; ``details`` lists every problem as ``{"path", "message"}``."""

    default_message = "Invalid request body"


class InvalidArgumentsError(TidewayError):
    default_message = "Invalid arguments"


class TooManyCallError(TidewayError):
    default_message = "Too many successive automation calls"


class TooManyBranchesError(TidewayError):
    default_message = "Too many parallel branches"


class InvalidEventError(TidewayError):
    default_message = "Invalid event"


class InvalidOutputError(TidewayError):
    default_message = "Invalid output"


class StepBudgetExceededError(TidewayError):
    default_message = "Run exceeded its step budget"


class MissingFieldError(TidewayError):
    default_message = "Missing field"


class InvalidVersionError(TidewayError):
    default_message = "Invalid version"


class ServiceUnavailableError(TidewayError):
    status = 503
    default_message = "Service unavailable"


class WebhookTimeoutError(TidewayError):
    """A webhook caller waited WEBHOOK_TIMEOUT_SECONDS; the run itself goes on."""

    status = 504
    default_message = "The run did not finish in time"


class TooManyRequestsError(TidewayError):
    """A rate limit or a concurrency cap refused the request; ``retry_after`` (seconds) becomes
    the ``Retry-After`` header."""

    status = 429
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, details: Any = None, *, retry_after: float = 1.0):
        super().__init__(message, details)
        self.retry_after = max(1, math.ceil(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after)}


def status_for(name: str) -> int:
    """The HTTP status of an error that crossed Temporal as its public name: the ``status`` its
    class declares (a name no class has, e.g. one of the reference's, is a 400)."""
    todo: list[type[TidewayError]] = [TidewayError]
    while todo:
        cls = todo.pop()
        if cls.__name__ == name:
            return cls.status
        todo += cls.__subclasses__()
    return 400
