"""Failed-login limits (issue 14, item 16), shared by every api process through the database.

Two token buckets per attempt, both keyed by the email as typed (normalised), whether or not
an account has it, so a refusal says nothing about the account:

* (account, client address): ``LOGIN_RATE_PER_ADDRESS`` failed attempts per
  ``LOGIN_RATE_WINDOW_SECONDS`` — a brute force from one address stops there, while the
  account's owner elsewhere can still sign in;
* the account, all addresses together: ``LOGIN_RATE_PER_ACCOUNT`` per window — a distributed
  brute force stops there too. Keep it well above the per-address limit, so one address can
  never use up the account's budget.

An attempt takes a token from both before the password is checked (so parallel attempts cannot
overshoot) and gives it back when the password was right: only failures count. Bucket keys
are HMACs of the email and address (nothing in clear in the table). A limit of 0 turns it off.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from core.infra.db import Database
from core.infra.settings import Settings
from core.runs.ratelimits import Bucket, forget_full, give_back, reserve
from schemas.errors import TooManyRequestsError

SCOPE_PREFIX = "login:"  # rate_buckets.workspace_id of login buckets (the column holds 32 characters)


class LoginLimiter:
    def __init__(self, db: Database, settings: Settings, key: str):
        self.db = db
        self.window = float(settings.login_rate_window_seconds)
        self.per_address = settings.login_rate_per_address
        self.per_account = settings.login_rate_per_account
        self.key = key.encode()
        self._swept = 0.0

    def _digest(self, kind: str, value: str, length: int) -> str:
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:length]

    def buckets(self, email: str, address: str | None) -> dict[tuple[str, str], Bucket]:
        scope = SCOPE_PREFIX + self._digest("account", email, 26)
        buckets: dict[tuple[str, str], Bucket] = {}
        if self.per_address > 0:
            buckets[(scope, "addr:" + self._digest("address", address or "unknown", 27))] = Bucket(
                self.per_address / self.window, self.per_address)
        if self.per_account > 0:
            buckets[(scope, "account")] = Bucket(self.per_account / self.window, self.per_account)
        return buckets

    async def attempt(self, email: str, address: str | None) -> dict[tuple[str, str], Bucket]:
        """Count an attempt, or TooManyRequestsError (429, ``Retry-After``) when the account has
        no attempts left from this address or at all. Returns the buckets to :meth:`succeeded`."""
        buckets = self.buckets(email, address)
        if not buckets:
            return buckets
        async with self.db.session() as session:
            wait = await reserve(session, buckets)
        if wait > 0:
            raise TooManyRequestsError(
                f"Too many failed logins for this account; retry in {max(1, round(wait))} s",
                retry_after=wait)
        await self._sweep()
        return buckets

    async def succeeded(self, buckets: dict[tuple[str, str], Bucket]) -> None:
        """The password was right: the attempt does not count."""
        if buckets:
            async with self.db.session() as session:
                await give_back(session, buckets)

    async def _sweep(self) -> None:
        """Drop login buckets idle for a whole window (full again), at most once a window per
        process, so the table does not keep one row per address that ever failed."""
        now = time.time()
        if now - self._swept < self.window:
            return
        self._swept = now
        async with self.db.session() as session:
            await forget_full(session, SCOPE_PREFIX, self.window, now)
