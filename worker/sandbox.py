"""The Temporal sandbox workflow code runs in (always in the test suite; in production when
``TIDEWAY_WORKFLOW_SANDBOX`` is on).

Only the ground floor (``language``, ``schemas``), the workflow code itself and the libraries
they use are passed through (imported once, shared by every run). Tideway's services and
anything that does I/O cannot even be imported from workflow code: a database or HTTP import
there fails the workflow task (tests/unit/test_sandbox.py), on top of the import-linter contract
that ``make test`` checks.
"""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxMatcher, SandboxRestrictions

GROUND_FLOOR = ("language", "schemas")
# Third-party libraries the ground floor and the workflow code use.
LIBRARIES = ("pydantic", "pydantic_core", "annotated_types", "jsonschema", "jsonschema_specifications",
             "referencing", "rpds", "attrs", "re2", "yaml", "orjson")
# What workflow code may never import: the services, the processes, and every I/O library.
FORBIDDEN = frozenset({"core", "activities", "api", "worker", "cli", "sqlalchemy", "sqlmodel", "psycopg",
                       "aiosqlite", "alembic", "httpx", "httpcore", "uvicorn", "fastapi", "starlette"})


def workflow_sandbox() -> SandboxRestrictions:
    passed = SandboxRestrictions.default.with_passthrough_modules(*GROUND_FLOOR, "workflows", *LIBRARIES)
    return dataclasses.replace(passed, invalid_modules=passed.invalid_modules | SandboxMatcher(access=set(FORBIDDEN)))
