"""``tideway runs list|show|rerun|cancel``: the runs API (docs/runs.md) from a terminal.

The commands talk HTTP to a running API (cli/connection.py); they import nothing of the server.
The rendering (the runs table, a run's header and its trace as an indented tree) is in
cli/runs_render.py."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import httpx
import typer

from cli.connection import (
    JsonOption,
    ProfileOption,
    TokenOption,
    UrlOption,
    api_error,
    resolve_connection,
    workspace_path,
)
from cli.output import print_json
from cli.runs_render import one_line_json, render_run, render_runs, symbols_for


class Status(StrEnum):  # an Enum rather than a Literal: choices every Typer >= 0.12 reads
    succeeded = "succeeded"
    failed = "failed"
    running = "running"
    waiting = "waiting"
    cancelled = "cancelled"


class TriggerType(StrEnum):
    endpoint = "endpoint"
    event = "event"
    schedule = "schedule"
    automation = "automation"
    test = "test"


runs_app = typer.Typer(help="List, show, rerun and cancel runs (issue 19).", no_args_is_help=True)


def iso_date(text: str) -> str:
    """An ISO date or date-time, passed to the API as written (checked here for a clear error)."""
    try:
        datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date: {text!r}") from exc
    return text


def list_params(**options: Any) -> dict[str, str | int]:
    """The ``runs list`` options as the API's query parameters (unset ones left out)."""
    names = {"automation": "automation", "status": "status", "trigger_type": "triggerType",
             "correlation_id": "correlationId", "user_id": "userId", "after": "afterDate",
             "before": "beforeDate", "page": "page", "limit": "limit"}
    return {names[option]: value.value if isinstance(value, StrEnum) else value
            for option, value in options.items() if value is not None}


def run_path(workspace_id: str, run_id: str | None = None) -> str:
    return workspace_path(workspace_id, "runs") if run_id is None else workspace_path(workspace_id, "runs", run_id)


WorkspaceArg = Annotated[str, typer.Argument(metavar="WORKSPACE_ID", help="the workspace id (or slug:<slug>)")]
RunArg = Annotated[str, typer.Argument(metavar="RUN_ID", help="the run id")]


@runs_app.command("list")
def list_command(
    workspace_id: WorkspaceArg,
    automation: Annotated[str | None, typer.Option(help="an automation slug")] = None,
    status: Annotated[Status | None, typer.Option(help="the runs' status")] = None,
    trigger_type: Annotated[TriggerType | None, typer.Option(help="what started the runs")] = None,
    correlation_id: Annotated[str | None, typer.Option()] = None,
    user_id: Annotated[str | None, typer.Option()] = None,
    after: Annotated[str | None, typer.Option(parser=iso_date, help="runs started after this ISO date")] = None,
    before: Annotated[str | None, typer.Option(parser=iso_date, help="runs started before this ISO date")] = None,
    page: Annotated[int | None, typer.Option(min=0, help="page number, from 0")] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=100, help="runs per page (default 20)")] = None,
    url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None, as_json: JsonOption = False,
) -> int:
    """A workspace's runs, newest first."""
    params = list_params(automation=automation, status=status, trigger_type=trigger_type,
                         correlation_id=correlation_id, user_id=user_id, after=after, before=before,
                         page=page, limit=limit)
    body = resolve_connection(url, token, profile).json("GET", run_path(workspace_id), params=params)
    if as_json:
        print_json(body)
    else:
        print("\n".join(render_runs(body.get("result", {}).get("runs", []))))
    return 0


@runs_app.command("show")
def show_command(workspace_id: WorkspaceArg, run_id: RunArg, url: UrlOption = None, token: TokenOption = None,
                 profile: ProfileOption = None, as_json: JsonOption = False) -> int:
    """A run's details and its trace as a tree."""
    body = resolve_connection(url, token, profile).json("GET", run_path(workspace_id, run_id))
    if as_json:
        print_json(body)
    else:
        print("\n".join(render_run(body.get("result", {}).get("run", {}), symbols_for(sys.stdout.encoding))))
    return 0


def rerun_result(response: httpx.Response) -> dict[str, Any]:
    """The new run from a rerun's answer, as ``{"result": {"run": {id, status, output, ...}}}``
    (what reruns of non-webhook runs answer). A webhook run's rerun is answered like its webhook
    (the automation's output, its status code), the new run's id in ``X-Tideway-Run-Id``; a
    run that failed before answering is an API error (no new id)."""
    new_id = response.headers.get("x-tideway-run-id")
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text  # a streamed (Server-Sent Events) webhook answer
    run = body.get("result", {}).get("run") if isinstance(body, Mapping) else None
    if response.status_code < 400 and isinstance(run, Mapping) and "id" in run and new_id in (None, run["id"]):
        return dict(body)
    if new_id is None and response.status_code >= 400:
        raise api_error(response)
    failed = response.status_code >= 400 and isinstance(body, Mapping) and "error" in body
    return {"result": {"run": {"id": new_id, "status": "failed" if failed else "succeeded",
                               "httpStatus": response.status_code, "output": body}}}


@runs_app.command("rerun")
def rerun_command(workspace_id: WorkspaceArg, run_id: RunArg,
                  original: Annotated[bool, typer.Option(
                      "--original", help="with the automation's definition of the original run (default: the current one)")]
                  = False,
                  url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None,
                  as_json: JsonOption = False) -> int:
    """Run a run again with its input."""
    conn = resolve_connection(url, token, profile)
    payload = {"definition": "original"} if original else {}
    body = rerun_result(conn.request("POST", run_path(workspace_id, run_id) + "/rerun", json=payload))
    run = body.get("result", {}).get("run", {})
    if as_json:
        print_json(body)
    else:
        symbols = symbols_for(sys.stdout.encoding)
        print(f"new run  {run.get('id', '?')}  ({run.get('status', '?')})")
        if "output" in run:
            print(f"output   {one_line_json(run['output'], symbols, width=200)}")
    output = run.get("output")
    if run.get("status") == "failed":  # the rerun happened but failed: say why, exit 1 for scripts
        reason = (f"{output['error']}: {output.get('message', '')}" if isinstance(output, Mapping) and "error" in output
                  else f"the new run {run.get('id', '')} failed")
        print(f"error: {reason}", file=sys.stderr)
        return 1
    return 0


@runs_app.command("cancel")
def cancel_command(workspace_id: WorkspaceArg, run_id: RunArg, url: UrlOption = None, token: TokenOption = None,
                   profile: ProfileOption = None, as_json: JsonOption = False) -> int:
    """Cancel a running or waiting run."""
    body = resolve_connection(url, token, profile).json("POST", run_path(workspace_id, run_id) + "/cancel")
    if as_json:
        print_json(body)
    else:
        run = body.get("result", {}).get("run", {})
        print(f"run {run.get('id', run_id)} {run.get('status', 'cancelled')}")
    return 0
