"""Forwarded workspace tokens: what ``fetch`` with ``auth.prismeai.forwardWorkspaceAuth`` sends to
Tideway's own API (docs/fetch.md, "Forwarding the run's user").

A forwarded token lets an automation call its own workspace's routes as the run's user, for a few
minutes, and nothing more:

* it is an HS256 JWT (PyJWT, like session tokens) signed with a key *derived* from the session
  signing key (``core.access.identity.signing_key``) under its own label, so a forwarded token
  can never pass for a session or access token, nor one of those for a forwarded token; its
  header's ``kid`` says which verifier reads it;
* claims: ``sub`` (the run's user), ``sid`` (the run's session, if any), ``ws`` (the run's
  workspace), ``scope`` (the marker ``workspace``), ``aud``, ``iat``, ``exp`` (``iat`` +
  ``FETCH_FORWARDED_TOKEN_TTL_SECONDS``, 5 minutes by default), ``jti``;
* the API accepts it only on routes of that workspace (``/v2/workspaces/<ws>/…``), never as a
  superadmin, and never for what would let an automation raise anyone's rights or read what
  the run cannot: ``manage_security``, ``manage_permissions`` and every secrets route
  (:func:`refusal`).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from core.access.identity import ALGORITHM, signing_key
from core.infra.settings import Settings
from schemas.errors import UnauthorizedError

KEY_ID = "tideway-forwarded"  # the JWT header's kid: which verifier reads the token
AUDIENCE = "tideway-api:workspace"
SCOPE = "workspace"  # the scope marker: acts on one workspace only
# What a forwarded token never grants, whatever the user's role: changing who may do what
# (security.yml, members, API keys) and every secrets route (values are revealed there).
REFUSED_ACTIONS = frozenset({"manage_security", "manage_permissions"})
REFUSED_SUBJECTS = frozenset({"secrets"})


@dataclass(frozen=True)
class ForwardedGrant:
    """What a valid forwarded token says: act as ``user_id`` on ``workspace_id`` only."""

    user_id: str
    session_id: str
    workspace_id: str


def _derived_key(settings: Settings) -> str:
    return hmac.new(signing_key(settings).encode(), b"tideway-forwarded-workspace-token",
                    hashlib.sha256).hexdigest()


def is_forwarded_token(token: str) -> bool:
    """Whether ``token`` claims to be a forwarded token (its unverified header; the signature is
    checked by :meth:`ForwardedTokens.verify`)."""
    try:
        return jwt.get_unverified_header(token).get("kid") == KEY_ID
    except jwt.InvalidTokenError:
        return False


def refusal(scope: str, workspace_id: str, action: str, subject_type: str = "workspaces") -> str | None:
    """Why a forwarded token for workspace ``scope`` may not do ``action`` on ``subject_type`` of
    ``workspace_id`` (None: the user's own rights decide)."""
    if workspace_id != scope:
        return f"A forwarded workspace token acts only on workspace '{scope}'"
    if action in REFUSED_ACTIONS:
        return f"A forwarded workspace token never grants {action}"
    if subject_type in REFUSED_SUBJECTS:
        return f"A forwarded workspace token never reaches {subject_type}"
    return None


class ForwardedTokens:
    """Issues (in the fetch activity) and verifies (in the API) forwarded workspace tokens."""

    def __init__(self, key: str, ttl_seconds: int, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.key = key
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> ForwardedTokens:
        return cls(_derived_key(settings), settings.fetch_forwarded_token_ttl_seconds)

    def issue(self, workspace_id: str, user_id: str, session_id: str | None = None) -> str:
        now = self.clock()
        claims = {"sub": user_id, "sid": session_id or f"fwd-{uuid.uuid4().hex}", "ws": workspace_id,
                  "scope": SCOPE, "aud": AUDIENCE, "iat": now, "exp": now + self.ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": KEY_ID})

    def verify(self, token: str) -> ForwardedGrant:
        """The grant of a valid token; expired, forged or malformed → ``UnauthorizedError``."""
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                options={"require": ["exp", "iat", "sub", "sid", "ws", "scope", "aud"]})
        except jwt.ExpiredSignatureError:
            raise UnauthorizedError("Expired token") from None
        except jwt.InvalidTokenError:
            raise UnauthorizedError("Invalid token") from None
        if claims["scope"] != SCOPE or not all(isinstance(claims[k], str) and claims[k] for k in ("sub", "sid", "ws")):
            raise UnauthorizedError("Invalid token")
        return ForwardedGrant(user_id=claims["sub"], session_id=claims["sid"], workspace_id=claims["ws"])
