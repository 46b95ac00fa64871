"""Identity (issue 6): users, login, anonymous sessions, access tokens, token verification."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from core.access.identity import IdentityService
from schemas.errors import UnauthorizedError
from tests.stack import Stack

PASSWORD = "correct horse battery"


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def _user(stack: Stack) -> tuple[str, str]:
    email = _email()
    created = await stack.http.post("/v2/users", json={"email": email, "password": PASSWORD}, headers=stack.auth)
    assert created.status_code == 200, created.text
    assert created.json()["email"] == email and created.json()["superadmin"] is False
    return email, created.json()["id"]


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_create_user_login_and_verify(stack: Stack) -> None:
    email, user_id = await _user(stack)
    ok = await stack.http.post("/v2/login", json={"email": email.upper(), "password": PASSWORD})
    assert ok.status_code == 200, ok.text
    session = ok.json()
    assert set(session) == {"token", "id", "sessionId", "expires"} and session["id"] == user_id
    assert datetime.fromisoformat(session["expires"]) > datetime.now(UTC) + timedelta(days=29)
    caller = await IdentityService(stack.services.db, stack.services.settings).verify(session["token"])
    assert (caller.user_id, caller.session_id, caller.superadmin) == (user_id, session["sessionId"], False)

    wrong_password = await stack.http.post("/v2/login", json={"email": email, "password": "not-the-password"})
    unknown_email = await stack.http.post("/v2/login", json={"email": _email(), "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()  # no hint which part was wrong


async def test_anonymous_login_gives_fresh_ids(stack: Stack) -> None:
    first = (await stack.http.post("/v2/login/anonymous")).json()
    second = (await stack.http.post("/v2/login/anonymous")).json()
    assert set(first) == {"token", "id", "sessionId", "expires"}
    assert first["id"] != second["id"] and first["sessionId"] != second["sessionId"]
    caller = await IdentityService(stack.services.db, stack.services.settings).verify(first["token"])
    assert caller.anonymous and caller.user_id == first["id"] and caller.session_id == first["sessionId"]
    # an anonymous session cannot hold personal access tokens
    refused = await stack.http.post("/v2/user/accessTokens", json={"name": "x"}, headers=_bearer(first["token"]))
    assert refused.status_code == 401


async def test_access_tokens_create_use_and_revoke(stack: Stack) -> None:
    email, user_id = await _user(stack)
    session = (await stack.http.post("/v2/login", json={"email": email, "password": PASSWORD})).json()
    created = await stack.http.post("/v2/user/accessTokens", json={"name": "ci"}, headers=_bearer(session["token"]))
    assert created.status_code == 200, created.text
    access = created.json()
    assert access["name"] == "ci" and access["token"]
    listed = await stack.http.get("/v2/user/accessTokens", headers=_bearer(access["token"]))
    assert listed.status_code == 200 and [t["id"] for t in listed.json()["result"]] == [access["id"]]
    identity = IdentityService(stack.services.db, stack.services.settings)
    assert (await identity.verify(access["token"])).user_id == user_id

    revoked = await stack.http.delete(f"/v2/user/accessTokens/{access['id']}", headers=_bearer(session["token"]))
    assert revoked.status_code == 200 and revoked.json() == {"id": access["id"]}
    after = await stack.http.get("/v2/user/accessTokens", headers=_bearer(access["token"]))
    assert after.status_code == 401 and after.json()["error"] == "UnauthorizedError"
    with pytest.raises(UnauthorizedError):
        await identity.verify(access["token"])
    again = await stack.http.delete(f"/v2/user/accessTokens/{access['id']}", headers=_bearer(session["token"]))
    assert again.status_code == 404
    missing_name = await stack.http.post("/v2/user/accessTokens", json={}, headers=_bearer(session["token"]))
    assert missing_name.status_code == 400 and "name" in missing_name.json()["message"]


async def test_expired_forged_and_missing_tokens_are_refused(stack: Stack) -> None:
    _, user_id = await _user(stack)
    identity = IdentityService(stack.services.db, stack.services.settings)
    past = datetime.now(UTC) - timedelta(minutes=5)
    expired = jwt.encode({"sub": user_id, "sid": "s", "typ": "session", "iat": past - timedelta(hours=1),
                          "exp": past}, identity.key, algorithm="HS256")
    forged = jwt.encode({"sub": user_id, "sid": "s", "typ": "session", "exp": past + timedelta(days=1)},
                        "not-the-signing-key-" * 3, algorithm="HS256")
    for token, message in ((expired, "Expired token"), (forged, "Invalid token"), ("garbage", "Invalid token")):
        response = await stack.http.get("/v2/user/accessTokens", headers=_bearer(token))
        assert response.status_code == 401 and response.json()["message"] == message, (token, response.text)
    assert (await stack.http.get("/v2/user/accessTokens")).status_code == 401


async def test_user_creation_rules(stack: Stack) -> None:
    email, _ = await _user(stack)
    duplicate = await stack.http.post("/v2/users", json={"email": email.upper(), "password": PASSWORD},
                                      headers=stack.auth)
    assert duplicate.status_code == 400 and duplicate.json()["error"] == "AlreadyUsed"
    bad_email = await stack.http.post("/v2/users", json={"email": "nope", "password": PASSWORD}, headers=stack.auth)
    assert bad_email.status_code == 400 and "email" in bad_email.json()["message"]
    short = await stack.http.post("/v2/users", json={"email": _email(), "password": "short"}, headers=stack.auth)
    assert short.status_code == 400 and "password" in short.json()["message"]

    body = {"email": _email(), "password": PASSWORD}
    assert (await stack.http.post("/v2/users", json=body)).status_code == 401
    session = (await stack.http.post("/v2/login", json={"email": email, "password": PASSWORD})).json()
    as_user = await stack.http.post("/v2/users", json=body, headers=_bearer(session["token"]))
    assert as_user.status_code == 403  # a valid user token, but creating users is for superadmins
