"""Identity (issue 6): users, sessions and personal access tokens.

Passwords are argon2 hashes (argon2-cffi). Tokens are HS256 JWTs signed with
``TIDEWAY_JWT_SECRET`` (when unset, a key derived from ``TIDEWAY_ADMIN_TOKEN``; with neither,
a per-process random key, so tokens die with the process). Claims: ``sub`` (user id), ``sid``
(session id), ``typ`` (``session``, ``anonymous`` or ``access``), ``iat``, ``exp``; an access
token also carries ``jti``, the id of its ``access_tokens`` row, checked on every use so a
revoked token stops working at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from core.access.login_limits import LoginLimiter
from core.infra.db import Database
from core.infra.settings import Settings
from core.infra.tables import AccessToken, User, iso
from schemas.errors import (
    AlreadyUsedError,
    InvalidArgumentsError,
    ObjectNotFoundError,
    UnauthorizedError,
)

ALGORITHM = "HS256"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()
_RANDOM_KEY = secrets.token_urlsafe(48)  # last resort signing key: valid for this process only
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Caller:
    """Who made a request, from a verified token."""

    user_id: str
    session_id: str
    superadmin: bool = False
    anonymous: bool = False
    token_id: str | None = None  # the access token's id (jti) when the caller used one


def signing_key(settings: Settings) -> str:
    if settings.tideway_jwt_secret:
        return settings.tideway_jwt_secret
    if settings.tideway_admin_token:
        return hmac.new(settings.tideway_admin_token.encode(), b"tideway-jwt", hashlib.sha256).hexdigest()
    return _RANDOM_KEY


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class IdentityService:
    def __init__(self, db: Database, settings: Settings, limiter: LoginLimiter | None = None):
        self.db = db
        self.settings = settings
        self.key = signing_key(settings)
        self.limiter = limiter  # failed-login limits (the api's; none for the CLI)

    # Users

    def _check_credentials(self, email: Any, password: Any) -> str:
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            raise InvalidArgumentsError("Invalid email: expected an address like name@example.com",
                                        [{"path": "email", "message": "invalid email"}])
        minimum = self.settings.tideway_password_min_length
        if not isinstance(password, str) or len(password) < minimum:
            raise InvalidArgumentsError(f"Invalid password: at least {minimum} characters",
                                        [{"path": "password", "message": f"at least {minimum} characters"}])
        return email.strip().lower()

    async def create_user(self, email: Any, password: Any, *, superadmin: bool = False) -> User:
        normalised = self._check_credentials(email, password)
        if await self._user_by_email(normalised) is not None:
            raise AlreadyUsedError(f"Email already used: {normalised}", name="AlreadyUsed")
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        user = User(id=uuid.uuid4().hex, email=normalised, password_hash=hashed, is_superadmin=superadmin)
        async with self.db.session() as session:
            session.add(user)
            try:
                await session.commit()
            except IntegrityError as exc:  # a concurrent create with the same email
                raise AlreadyUsedError(f"Email already used: {normalised}", name="AlreadyUsed") from exc
        return user

    async def _user_by_email(self, email: str) -> User | None:
        async with self.db.session() as session:
            user: User | None = (await session.exec(select(User).where(User.email == email))).first()
        return user

    async def get_user(self, user_id: str) -> User | None:
        async with self.db.session() as session:
            return await session.get(User, user_id)

    # Sessions

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def _session(self, user_id: str, kind: str, superadmin: bool = False) -> dict[str, Any]:
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self.settings.tideway_session_ttl_seconds)
        session_id = uuid.uuid4().hex
        claims: dict[str, Any] = {"sub": user_id, "sid": session_id, "typ": kind, "iat": now, "exp": expires}
        if superadmin:
            claims["sa"] = True
        return {"token": self._sign(claims), "id": user_id, "sessionId": session_id, "expires": iso(expires)}

    async def login(self, email: Any, password: Any, address: str | None = None) -> dict[str, Any]:
        """``{token, id, sessionId, expires}``; a wrong email or password is the same 401. Past the
        failed-login limits of the email (from ``address``, or from anywhere), a 429 that is the
        same whether the account exists or not (``core.access.login_limits``)."""
        refused = UnauthorizedError("Invalid email or password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise refused
        normalised = email.strip().lower()
        attempt = await self.limiter.attempt(normalised, address) if self.limiter else {}
        user = await self._user_by_email(normalised)
        try:
            await asyncio.to_thread(_HASHER.verify, user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            raise refused from None
        if user is None:
            raise refused
        if self.limiter:
            await self.limiter.succeeded(attempt)
        return self._session(user.id, "session", user.is_superadmin)

    def anonymous(self) -> dict[str, Any]:
        """A fresh anonymous user id and session (nothing stored)."""
        return self._session(uuid.uuid4().hex, "anonymous")

    # Access tokens

    async def create_access_token(self, user_id: str, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidArgumentsError("Invalid name: a non-empty string of at most 200 characters",
                                        [{"path": "name", "message": "required, at most 200 characters"}])
        if await self.get_user(user_id) is None:
            raise UnauthorizedError("Access tokens need a registered user")
        now = datetime.now(UTC)
        row = AccessToken(id=uuid.uuid4().hex, user_id=user_id, name=name.strip(), created_at=now,
                          expires_at=now + timedelta(seconds=self.settings.tideway_access_token_ttl_seconds))
        async with self.db.session() as session:
            session.add(row)
            await session.commit()
        token = self._sign({"sub": user_id, "sid": f"at-{row.id}", "typ": "access", "jti": row.id,
                            "iat": now, "exp": row.expires_at})
        return {"id": row.id, "name": row.name, "token": token, "createdAt": iso(now),
                "expiresAt": iso(row.expires_at)}

    async def revoke_access_token(self, user_id: str, token_id: str) -> dict[str, Any]:
        async with self.db.session() as session:
            row = await session.get(AccessToken, token_id)
            if row is None or row.user_id != user_id or row.revoked_at is not None:
                raise ObjectNotFoundError(f"Access token not found: {token_id}")
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            await session.commit()
        return {"id": token_id}

    async def list_access_tokens(self, user_id: str) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = (await session.exec(select(AccessToken).where(
                AccessToken.user_id == user_id, col(AccessToken.revoked_at).is_(None)))).all()
        return [{"id": r.id, "name": r.name, "createdAt": iso(r.created_at),
                 "expiresAt": iso(r.expires_at)} for r in rows]

    # Verification

    async def verify(self, token: str) -> Caller:
        """The caller of a token; expired, revoked, forged or malformed → ``UnauthorizedError``."""
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid"]})
        except jwt.ExpiredSignatureError:
            raise UnauthorizedError("Expired token") from None
        except jwt.InvalidTokenError:
            raise UnauthorizedError("Invalid token") from None
        user_id, session_id, kind = str(claims["sub"]), str(claims["sid"]), claims.get("typ")
        if kind == "access":
            jti = claims.get("jti")
            async with self.db.session() as session:
                row = await session.get(AccessToken, str(jti)) if jti else None
                user = await session.get(User, user_id) if row is not None else None
            if row is None or row.user_id != user_id or user is None:
                raise UnauthorizedError("Invalid token")
            if row.revoked_at is not None:
                raise UnauthorizedError("Revoked token")
            if _aware(row.expires_at) <= datetime.now(UTC):
                raise UnauthorizedError("Expired token")
            return Caller(user_id, session_id, user.is_superadmin, token_id=row.id)
        if kind == "anonymous":
            return Caller(user_id, session_id, anonymous=True)
        if kind == "session":
            return Caller(user_id, session_id, bool(claims.get("sa")))
        raise UnauthorizedError("Invalid token")
