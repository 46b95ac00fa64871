"""One test per 5xx the schema fuzzing drill found (tests/drills/test_schema_fuzzing.py): each is
now a 4xx naming the problem, and nothing is half-written (both databases)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api.app import create_app
from tests.api.helpers import unique_slug
from tests.stack import Stack


@pytest.fixture
def http(stack: Stack) -> httpx.AsyncClient:
    # A 500 must come back as an answer (as from a real server), not as an exception in the test.
    transport = httpx.ASGITransport(app=create_app(stack.services), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60, headers=stack.auth)


async def test_concurrent_creations_with_one_slug(stack: Stack, http: httpx.AsyncClient) -> None:
    """Two creations of the same slug at once: both passed the free-slug check, the second insert
    hit the unique index and answered 500. Now one is created, the others are AlreadyUsedError."""
    slug = unique_slug()
    answers = await asyncio.gather(*(http.post("/v2/workspaces", json={"name": "Twin", "slug": slug})
                                     for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"AlreadyUsedError"}
    listed = (await http.get("/v2/workspaces", params={"slug": slug})).json()
    assert len(listed) == 1


async def test_a_version_description_is_a_localized_text(stack: Stack, http: httpx.AsyncClient) -> None:
    """A description object holding lists or numbers was stored, and listing the versions then
    failed its response's validation (500). Now it is a 400 and nothing is stored."""
    ws = (await http.post("/v2/workspaces", json={"name": "Versions", "slug": unique_slug()})).json()["id"]
    refused = await http.post(f"/v2/workspaces/{ws}/versions", json={"description": {"en": ["a"], "fr": 1}})
    assert refused.status_code == 400 and refused.json()["error"] == "InvalidVersionError", refused.text
    assert refused.json()["details"][0]["path"] == "body.description"
    assert (await http.get(f"/v2/workspaces/{ws}/versions")).json() == []
    kept = await http.post(f"/v2/workspaces/{ws}/versions", json={"description": {"en": "First", "fr": "Première"}})
    assert kept.status_code == 200 and kept.json()["description"] == {"en": "First", "fr": "Première"}
    assert (await http.get(f"/v2/workspaces/{ws}/versions")).status_code == 200
