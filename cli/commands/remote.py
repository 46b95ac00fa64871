"""``tideway login|call|events``: a profile for the other commands, an automation run by hand,
and a workspace's events (a search, or a live tail of ``…/events/stream``)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import typer

from cli.connection import (
    DEFAULT_URL,
    Connection,
    JsonOption,
    ProfileOption,
    TokenOption,
    UrlOption,
    api_error,
    require_workspace,
    resolve_connection,
    workspace_path,
)
from cli.output import CliError, line, print_json, styled
from cli.profiles import DEFAULT_PROFILE, save_profile
from cli.runs_render import one_line_json, symbols_for

WorkspaceArg = Annotated[str, typer.Argument(metavar="WORKSPACE", help="the workspace: a slug, slug:<slug> or an id")]
# A live tail waits for events as long as it takes; the server sends a comment every ~15 s.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=None)
RECONNECTS = 5


def login(url: UrlOption = None, token: TokenOption = None,
          email: Annotated[str | None, typer.Option(help="sign in with an email and password")] = None,
          password: Annotated[str | None, typer.Option(help="the password (prompted when not given)")] = None,
          profile: ProfileOption = None, as_json: JsonOption = False) -> int:
    """Check credentials with GET /v2/me and save them as a profile (mode 0600)."""
    name = profile or os.environ.get("TIDEWAY_PROFILE") or DEFAULT_PROFILE
    base = (url or os.environ.get("TIDEWAY_URL") or DEFAULT_URL).rstrip("/")
    if token is None and email is None:
        token = typer.prompt("API token (or use --email)", hide_input=True)
    if email is not None:
        if password is None:
            password = typer.prompt("Password", hide_input=True)
        session = Connection(base, None).json("POST", "/v2/login", json={"email": email, "password": password})
        token = str(session.get("token", "")) if isinstance(session, dict) else ""
    me = Connection(base, token).json("GET", "/v2/me")
    who = me.get("email") or me.get("id") if isinstance(me, dict) else None
    path = save_profile(name, {"url": base, "token": token or "", **({"email": email} if email else {})})
    if as_json:
        print_json({"profile": name, "url": base, "config": str(path), "me": me})
    else:
        line(f"logged in to {base} as {who}; saved as profile '{name}' in {path}", "ok")
    return 0


def call(workspace: WorkspaceArg, automation: Annotated[str, typer.Argument(metavar="AUTOMATION", help="the automation slug")],
         payload: Annotated[str, typer.Option("--payload", "-p", help="the automation's payload, a JSON object")] = "{}",
         url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None,
         as_json: JsonOption = False) -> int:
    """Run an automation with a payload (POST …/test/{slug}) and print its output."""
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise CliError(f"--payload is not JSON: {exc}", "InvalidArgumentsError") from None
    conn = resolve_connection(url, token, profile)
    found = require_workspace(conn, workspace)
    response = conn.request("POST", workspace_path(str(found["id"]), "test", automation), json={"payload": value})
    try:
        output: Any = response.json()
    except ValueError:
        output = response.text
    if response.status_code >= 400:
        if isinstance(output, dict) and "error" in output:
            raise api_error(response)
        raise CliError(f"the automation answered HTTP {response.status_code}: {one_line_json(output, symbols_for(sys.stdout.encoding))}",
                       f"HTTP {response.status_code}")
    if as_json:
        print_json(output)
    else:
        print(output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False))
    return 0


def event_line(event: dict[str, Any]) -> list[tuple[str, str | None]]:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    correlation = (source or {}).get("correlationId") or "-"
    payload = one_line_json(event.get("payload"), symbols_for("utf-8"), width=200) if "payload" in event else ""
    return [(f"{event.get('createdAt', '?')}  ", "dim"), (str(event.get("type", "?")), "title"),
            (f"  {correlation}  {payload}".rstrip(), None)]


def show_event(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event, ensure_ascii=False), flush=True)  # one event a line (JSON Lines)
    else:
        styled(event_line(event))
        sys.stdout.flush()


def server_sent_events(response: httpx.Response) -> Iterator[tuple[str | None, str]]:
    """``(id, data)`` of each Server-Sent Event of a streamed response (comments skipped)."""
    event_id: str | None = None
    data: list[str] = []
    for text in response.iter_lines():
        if text == "":
            if data:
                yield event_id, "\n".join(data)
            data = []
        elif text.startswith(":"):
            continue
        else:
            field, _, value = text.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "id":
                event_id = value


def follow(conn: Connection, path: str, params: dict[str, Any], as_json: bool) -> int:
    """Print the stream's events as they come; reconnect after the last one seen when the
    connection drops; Ctrl-C ends it (exit 0)."""
    last: str | None = None
    failures = 0
    try:
        while True:
            headers = {"last-event-id": last} if last else {}
            try:
                with conn.client(STREAM_TIMEOUT) as client, client.stream(
                        "GET", path + "/stream", params=params, headers=headers) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise api_error(response)
                    failures = 0
                    for event_id, data in server_sent_events(response):
                        last = event_id or last
                        try:
                            event = json.loads(data)
                        except ValueError:
                            continue
                        if isinstance(event, dict):
                            show_event(event, as_json)
                time.sleep(0.5)  # the server ended the stream (a restart?): resume after the last event
            except httpx.HTTPError as exc:
                failures += 1
                if failures > RECONNECTS:
                    raise conn.failed(exc) from exc
                time.sleep(min(2.0 ** failures / 4, 5.0))
    except KeyboardInterrupt:
        return 0


def events(workspace: WorkspaceArg,
           follow_: Annotated[bool, typer.Option("--follow", "-f", help="print new events as they come (Ctrl-C ends)")]
           = False,
           types: Annotated[list[str] | None, typer.Option("--type", "-t", help="an event type (repeat for more)")]
           = None,
           correlation_id: Annotated[str | None, typer.Option(help="events of one correlation id")] = None,
           limit: Annotated[int | None, typer.Option(min=1, max=500, help="how many (default 50; not with --follow)")]
           = None,
           url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None,
           as_json: JsonOption = False) -> int:
    """A workspace's events, newest last; --follow tails them live."""
    conn = resolve_connection(url, token, profile)
    found = require_workspace(conn, workspace)
    params: dict[str, Any] = {}
    if types:
        params["types"] = ",".join(types)
    if correlation_id:
        params["source.correlationId"] = correlation_id
    path = workspace_path(str(found["id"]), "events")
    if follow_:
        return follow(conn, path, params, as_json)
    if limit is not None:
        params["limit"] = limit
    body = conn.json("GET", path, params=params)
    if as_json:
        print_json(body)
        return 0
    listed = body.get("result", {}).get("events", []) if isinstance(body, dict) else []
    for event in reversed(listed):  # the API answers newest first; a terminal reads down
        show_event(event, False)
    if not listed:
        line("no events", "dim")
    return 0


PANEL = "A running Tideway"


def register(app: typer.Typer) -> None:
    app.command("login", rich_help_panel=PANEL)(login)
    app.command("call", rich_help_panel=PANEL)(call)
    app.command("events", rich_help_panel=PANEL)(events)

