"""Running automations by hand (``/test``) and the health check."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed


class TestBody(Closed):
    """``POST …/test/{slug}``: the run's input, whose fields are the automation's variables (an
    automation written for a webhook reads ``body``, ``query``, ``headers``)."""

    __test__ = False  # not a pytest class

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"payload": {"body": {"name": "Ada"}}}]})

    payload: dict[str, Any] = Field(default_factory=dict)


class Health(Closed):
    status: str = Field(description="`ok`, or `unavailable` with the problems")
    problems: list[str] | None = None
