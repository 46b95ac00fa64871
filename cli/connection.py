"""How the commands reach a Tideway API: ``--url``/``--token``/``--profile``, the environment, the
profile file (cli/profiles.py), and the HTTP calls with their errors as one line.

Precedence, first wins: the option, ``TIDEWAY_URL``/``TIDEWAY_TOKEN`` (CI), the profile
(``--profile``, else ``$TIDEWAY_PROFILE``, else ``default``), ``http://127.0.0.1:8000``. A profile's
token is only sent to that profile's URL: with another URL (an option or ``TIDEWAY_URL``) it is
left out rather than handed to a server it was not issued by."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from cli.output import CliError
from cli.profiles import DEFAULT_PROFILE, read_profile

DEFAULT_URL = "http://127.0.0.1:8000"  # where `tideway run` / `tideway api` listen (TIDEWAY_PORT)
# A rerun or an import waits for the work like its webhook would; a read answers at once.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
TEST_TRANSPORT: httpx.BaseTransport | None = None  # the unit tests' stand-in server

UrlOption = Annotated[str | None, typer.Option(
    "--url", help=f"the Tideway API (default: $TIDEWAY_URL, the profile's, else {DEFAULT_URL})")]
TokenOption = Annotated[str | None, typer.Option("--token", help="a bearer token (default: $TIDEWAY_TOKEN, the profile's)")]
ProfileOption = Annotated[str | None, typer.Option(
    "--profile", help="a profile of ~/.config/tideway/config.toml (default: $TIDEWAY_PROFILE, else 'default')")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON (for scripts)")]


def api_error(response: httpx.Response) -> CliError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping) and "error" in body:
        return CliError(str(body.get("message", "")), str(body["error"]), detail_lines(body.get("details")))
    text = " ".join(response.text.split())[:200]
    return CliError(f"{text or response.reason_phrase}", f"HTTP {response.status_code}")


def detail_lines(details: Any) -> list[str]:
    """``details: [{path, message}]`` of an API error, one ``  path: message`` a line."""
    if not isinstance(details, list):
        return []
    return [f"  {d.get('path')}: {d.get('message')}" for d in details
            if isinstance(d, Mapping) and "path" in d and "message" in d]


@dataclass
class Connection:
    url: str
    token: str | None
    transport: httpx.BaseTransport | None = None

    def client(self, timeout: httpx.Timeout = TIMEOUT) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout,
                            transport=self.transport or TEST_TRANSPORT)

    def failed(self, exc: httpx.HTTPError) -> CliError:
        """A connection failure as a CliError naming the URL."""
        if isinstance(exc, httpx.ConnectError):
            return CliError(f"cannot connect to the Tideway API at {self.url} ({exc}); "
                            "is it running? (--url or TIDEWAY_URL)")
        if isinstance(exc, httpx.TimeoutException):
            return CliError(f"the Tideway API at {self.url} did not answer in time")
        return CliError(f"request to {self.url} failed: {exc}")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The API's answer, whatever its status."""
        try:
            with self.client() as client:
                return client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self.failed(exc) from exc

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise api_error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"the API at {self.url} answered {path} with something else than JSON") from exc


def resolve_connection(url: str | None = None, token: str | None = None, profile: str | None = None,
                       environ: Mapping[str, str] = os.environ) -> Connection:
    name = profile or environ.get("TIDEWAY_PROFILE") or DEFAULT_PROFILE
    stored = read_profile(name, environ, required=profile is not None)
    chosen = (url or environ.get("TIDEWAY_URL") or stored.get("url") or DEFAULT_URL).rstrip("/")
    stored_token = stored.get("token") if stored.get("url", "").rstrip("/") == chosen else None
    return Connection(chosen, token or environ.get("TIDEWAY_TOKEN") or stored_token or None)


def workspace_path(workspace_id: str, *rest: str) -> str:
    return "/".join([f"/v2/workspaces/{quote(workspace_id, safe='')}", *(quote(p, safe="") for p in rest)])


def find_workspace(conn: Connection, reference: str) -> dict[str, Any] | None:
    """The workspace a ``--workspace`` names (``slug:<slug>``, a slug, or an id): its summary
    ``{id, slug, name, …}``, or None when there is none the caller can read."""
    slug = reference.removeprefix("slug:")
    listed = conn.json("GET", "/v2/workspaces", params={"slug": slug})
    for workspace in listed if isinstance(listed, list) else []:
        if isinstance(workspace, Mapping) and workspace.get("slug") == slug:
            return dict(workspace)
    if reference.startswith("slug:"):
        return None
    response = conn.request("GET", workspace_path(reference))
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise api_error(response)
    found = response.json()
    return dict(found) if isinstance(found, Mapping) else None


def require_workspace(conn: Connection, reference: str) -> dict[str, Any]:
    found = find_workspace(conn, reference)
    if found is None:
        raise CliError(f"no workspace '{reference}' (a slug, slug:<slug> or an id) at {conn.url}",
                       "ObjectNotFoundError")
    return found
