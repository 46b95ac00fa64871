"""``fetch.auth`` (docs/fetch.md, "Authentication"): ``basic``, ``awsv4`` and ``prismeai``.

Applied in the activity, on the request exactly as it will be sent (method, final URL, headers and
body bytes, multipart included): workflow code never sees a signature or a token. The credentials
themselves reach the activity in its input (encrypted in Temporal history by the payload codec,
docs/history-encryption.md); nothing here puts a credential in an error message or a log.

* ``basic {username, password}``: ``Authorization: Basic …``.
* ``awsv4 {accessKeyId, secretAccessKey, service, region, sessionToken?}``: AWS Signature V4 by
  botocore's signer (``S3SigV4Auth`` for ``s3``, which also signs the payload hash header). The
  query string is first re-encoded the way AWS canonicalises it, so what is signed is what is sent.
* ``prismeai {forwardWorkspaceAuth: true}``: a short-lived token acting for the run's user on the
  run's workspace (core/access/forwarded.py), sent only to Tideway's own API (TIDEWAY_PUBLIC_URL).

A request carrying an ``awsv4`` signature or a forwarded token does not follow redirects: the
credentials stay with the origin they were made for, and the 3xx is the response. ``basic``
follows them (httpx drops ``Authorization`` when a redirect leaves the origin).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.access.forwarded import ForwardedTokens
from core.infra.settings import Settings

# Headers left out of an AWS signature: those a proxy or the transport may legitimately change.
UNSIGNED_HEADERS = frozenset({"accept", "accept-encoding", "content-length"})
# The headers botocore's signer adds, copied onto the request that is sent.
AWS_SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")
AWS_UNRESERVED = "-_.~"  # RFC 3986 unreserved characters: the only ones AWS leaves unencoded


class FetchAuthError(Exception):
    """``fetch.auth`` cannot be applied; the message names the field, never a credential."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class BasicAuth(_Strict):
    username: str
    password: str


class AwsV4Auth(_Strict):
    access_key_id: str = Field(alias="accessKeyId", min_length=1)
    secret_access_key: str = Field(alias="secretAccessKey", min_length=1)
    service: str = Field(min_length=1)
    region: str = Field(min_length=1)
    session_token: str | None = Field(None, alias="sessionToken")


class PrismeaiAuth(_Strict):
    forward_workspace_auth: bool = Field(False, alias="forwardWorkspaceAuth")


class FetchAuthOptions(_Strict):
    basic: BasicAuth | None = None
    awsv4: AwsV4Auth | None = None
    prismeai: PrismeaiAuth | None = None

    @property
    def forwards(self) -> bool:
        return self.prismeai is not None and self.prismeai.forward_workspace_auth

    def kinds(self) -> list[str]:
        """The kinds that act on the request (``prismeai`` only when it forwards)."""
        return [name for name, on in (("basic", self.basic is not None), ("awsv4", self.awsv4 is not None),
                                      ("prismeai", self.forwards)) if on]


def parse_auth(raw: Any) -> FetchAuthOptions | None:
    """The rendered ``auth`` field, checked; None when absent. Messages name fields only (a
    pydantic message never quotes the input here: only ``loc`` and ``msg`` are used)."""
    if raw is None:
        return None
    try:
        options = FetchAuthOptions.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"fetch.auth{''.join(f'.{part}' for part in error['loc'])}: {error['msg']}"
                             for error in exc.errors(include_url=False, include_input=False))
        raise FetchAuthError(f"Invalid fetch.auth ({problems})") from None
    kinds = options.kinds()
    if len(kinds) > 1:
        raise FetchAuthError(f"fetch.auth takes one of basic, awsv4 or prismeai, got {' and '.join(kinds)}")
    return options


@dataclass(frozen=True)
class OwnApi:
    """Where Tideway's own API answers (TIDEWAY_PUBLIC_URL) and the issuer of forwarded tokens."""

    base: httpx.URL
    tokens: ForwardedTokens

    @classmethod
    def from_settings(cls, settings: Settings) -> OwnApi:
        return cls(httpx.URL(settings.public_url), ForwardedTokens.from_settings(settings))

    def serves(self, url: httpx.URL) -> bool:
        """Same scheme, host and port as the public URL, under its path (a deployment behind a
        path prefix serves only below it)."""
        prefix = self.base.path.rstrip("/")
        return (url.scheme == self.base.scheme and url.host == self.base.host
                and (url.port or _default_port(url.scheme)) == (self.base.port or _default_port(self.base.scheme))
                and (not prefix or url.path == prefix or url.path.startswith(prefix + "/")))


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)


def _aws_query(url: httpx.URL) -> bytes:
    """The query string encoded as AWS canonicalises it (every byte but the unreserved ones
    percent-encoded, ``%20`` for a space), so the signature holds for the request sent. A ``+``
    is a space, as httpx reads and writes query strings (``%2B`` is a plus)."""
    pairs = []
    for item in url.query.decode("ascii", "replace").split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append(f"{quote(unquote_plus(key), safe=AWS_UNRESERVED)}={quote(unquote_plus(value), safe=AWS_UNRESERVED)}")
    return "&".join(pairs).encode()


def sign_aws_v4(request: httpx.Request, auth: AwsV4Auth) -> None:
    """Sign ``request`` in place (its body already read) with botocore's SigV4 signer."""
    request.url = request.url.copy_with(query=_aws_query(request.url) or None)
    headers = {name: value for name, value in request.headers.items() if name.lower() not in UNSIGNED_HEADERS}
    aws = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
    credentials = Credentials(auth.access_key_id, auth.secret_access_key, auth.session_token)
    signer = S3SigV4Auth if auth.service.lower() == "s3" else SigV4Auth
    try:
        signer(credentials, auth.service, auth.region).add_auth(aws)
    except Exception as exc:  # noqa: BLE001 - botocore's message may quote the request; name the kind only
        raise FetchAuthError(f"fetch.auth.awsv4: the request could not be signed ({type(exc).__name__})") from None
    for name in AWS_SIGNATURE_HEADERS:
        if name in aws.headers:
            request.headers[name] = aws.headers[name]


def basic_header(auth: BasicAuth) -> str:
    return "Basic " + base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()


@dataclass(frozen=True)
class RunUser:
    """The run's user and session, as the workflow passes them for ``forwardWorkspaceAuth``."""

    user_id: str | None
    session_id: str | None

    @classmethod
    def of(cls, request: dict[str, Any]) -> RunUser:
        raw = request.get("runUser")
        raw = raw if isinstance(raw, dict) else {}
        user, session = raw.get("userId"), raw.get("sessionId")
        return cls(user if isinstance(user, str) and user else None,
                   session if isinstance(session, str) and session else None)


class RequestAuth:
    """The authentication of one fetch, applied to each attempt of the request."""

    def __init__(self, options: FetchAuthOptions, bearer: str | None = None):
        self.options = options
        self.bearer = bearer  # the forwarded token, when forwardWorkspaceAuth

    @property
    def follow_redirects(self) -> bool:
        return self.options.awsv4 is None and self.bearer is None

    @classmethod
    def prepare(cls, request: dict[str, Any], own_api: OwnApi | None) -> RequestAuth | None:
        """Check ``auth`` and, for ``forwardWorkspaceAuth``, the destination and the run's user;
        mint the token. ``FetchAuthError`` before anything is sent."""
        options = parse_auth(request.get("auth"))
        if options is None or not options.kinds():
            return None
        if not options.forwards:
            return cls(options)
        url = httpx.URL(str(request.get("url")))
        if own_api is None:
            raise FetchAuthError("fetch.auth.prismeai.forwardWorkspaceAuth is not available on this worker")
        if not own_api.serves(url):
            raise FetchAuthError(f"fetch.auth.prismeai.forwardWorkspaceAuth only sends the run's token to Tideway's "
                                 f"own API ({own_api.base}, TIDEWAY_PUBLIC_URL), not to {url.scheme}://{url.netloc.decode()}")
        if request.get("allowSelfSignedCert") is True:
            raise FetchAuthError("fetch.auth.prismeai.forwardWorkspaceAuth cannot be combined with "
                                 "allowSelfSignedCert: the token is only sent over a verified connection")
        user = RunUser.of(request)
        if user.user_id is None:
            raise FetchAuthError("fetch.auth.prismeai.forwardWorkspaceAuth needs a run with a user (this run has "
                                 "none: it was not started with a user's token)")
        token = own_api.tokens.issue(str(request.get("workspaceId", "")), user.user_id, user.session_id)
        return cls(options, bearer=token)

    async def apply(self, request: httpx.Request) -> None:
        if self.options.basic is not None:
            request.headers["authorization"] = basic_header(self.options.basic)
        elif self.bearer is not None:
            request.headers["authorization"] = f"Bearer {self.bearer}"
        elif self.options.awsv4 is not None:
            await request.aread()  # the body bytes (a multipart body is generated here) are signed
            sign_aws_v4(request, self.options.awsv4)
