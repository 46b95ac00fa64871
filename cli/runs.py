"""``tideway runs list|show|rerun|cancel``: the runs API (docs/runs.md) from a terminal.

The commands talk HTTP to a running API (``--url``/``TIDEWAY_URL``, ``--token``/``TIDEWAY_TOKEN``);
they import nothing of the server. The rendering (the runs table, a run's header and its trace
as an indented tree) is in cli/runs_render.py."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from cli.runs_render import one_line_json, render_run, render_runs, symbols_for

DEFAULT_URL = "http://127.0.0.1:8000"  # where `tideway run` / `tideway api` listen (TIDEWAY_PORT)
STATUSES = ("succeeded", "failed", "running", "waiting", "cancelled")
TRIGGER_TYPES = ("endpoint", "event", "schedule", "automation", "test")
# A rerun waits for the new run like its webhook would; a read answers at once.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


def iso_date(text: str) -> str:
    """An ISO date or date-time, passed to the API as written (checked here for a clear error)."""
    try:
        datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from exc
    return text


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"{number} is not in {low}..{high if high is not None else ''}")
        return number

    return parse


def add_runs_parser(sub: Any) -> None:
    """``tideway runs ...`` on the main parser's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help=f"the Tideway API (default: $TIDEWAY_URL, else {DEFAULT_URL})")
    common.add_argument("--token", help="a bearer token (default: $TIDEWAY_TOKEN)")
    common.add_argument("--json", action="store_true", help="print the API's JSON answer")
    runs = sub.add_parser("runs", help="list, show, rerun and cancel runs (issue 19)")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)

    listing = runs_sub.add_parser("list", parents=[common], help="a workspace's runs, newest first")
    listing.add_argument("workspace_id")
    listing.add_argument("--automation", help="an automation slug")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--trigger-type", choices=TRIGGER_TYPES)
    listing.add_argument("--correlation-id")
    listing.add_argument("--user-id")
    listing.add_argument("--after", type=iso_date, help="runs started after this ISO date")
    listing.add_argument("--before", type=iso_date, help="runs started before this ISO date")
    listing.add_argument("--page", type=bounded_int(0), default=None, help="page number, from 0")
    listing.add_argument("--limit", type=bounded_int(1, 100), default=None, help="runs per page (default 20)")

    show = runs_sub.add_parser("show", parents=[common], help="a run's details and its trace as a tree")
    show.add_argument("workspace_id")
    show.add_argument("run_id")

    rerun = runs_sub.add_parser("rerun", parents=[common], help="run a run again with its input")
    rerun.add_argument("workspace_id")
    rerun.add_argument("run_id")
    rerun.add_argument("--original", action="store_true",
                       help="with the automation's definition of the original run (default: the current one)")

    cancel = runs_sub.add_parser("cancel", parents=[common], help="cancel a running or waiting run")
    cancel.add_argument("workspace_id")
    cancel.add_argument("run_id")


def list_params(args: argparse.Namespace) -> dict[str, str | int]:
    """The ``runs list`` options as the API's query parameters (unset ones left out)."""
    names = {"automation": "automation", "status": "status", "trigger_type": "triggerType",
             "correlation_id": "correlationId", "user_id": "userId", "after": "afterDate",
             "before": "beforeDate", "page": "page", "limit": "limit"}
    return {api: getattr(args, option) for option, api in names.items() if getattr(args, option) is not None}


class CliError(Exception):
    """Printed as ``error: <message>`` with exit code 1."""


def api_error(response: httpx.Response) -> CliError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping) and "error" in body:
        return CliError(f"{body['error']}: {body.get('message', '')}")
    text = " ".join(response.text.split())[:200]
    return CliError(f"HTTP {response.status_code}: {text or response.reason_phrase}")


@dataclass
class Connection:
    url: str
    token: str | None
    transport: httpx.BaseTransport | None = None  # the tests' stand-in server

    @classmethod
    def of(cls, args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Connection:
        url = args.url or environ.get("TIDEWAY_URL") or DEFAULT_URL
        return cls(url.rstrip("/"), args.token or environ.get("TIDEWAY_TOKEN") or None)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The API's answer; a connection failure becomes a CliError naming the URL."""
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT,
                              transport=self.transport) as client:
                return client.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise CliError(f"cannot connect to the Tideway API at {self.url} ({exc}); "
                           "is it running? (--url or TIDEWAY_URL)") from exc
        except httpx.TimeoutException as exc:
            raise CliError(f"the Tideway API at {self.url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise CliError(f"request to {self.url} failed: {exc}") from exc

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise api_error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"the API at {self.url} answered {path} with something else than JSON") from exc


def run_path(workspace_id: str, run_id: str | None = None) -> str:
    path = f"/v2/workspaces/{quote(workspace_id, safe='')}/runs"
    return path if run_id is None else f"{path}/{quote(run_id, safe='')}"


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def list_command(conn: Connection, args: argparse.Namespace) -> int:
    body = conn.json("GET", run_path(args.workspace_id), params=list_params(args))
    if args.json:
        print_json(body)
    else:
        print("\n".join(render_runs(body.get("result", {}).get("runs", []))))
    return 0


def show_command(conn: Connection, args: argparse.Namespace) -> int:
    body = conn.json("GET", run_path(args.workspace_id, args.run_id))
    if args.json:
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


def rerun_command(conn: Connection, args: argparse.Namespace) -> int:
    payload = {"definition": "original"} if args.original else {}
    body = rerun_result(conn.request("POST", run_path(args.workspace_id, args.run_id) + "/rerun", json=payload))
    run = body.get("result", {}).get("run", {})
    if args.json:
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


def cancel_command(conn: Connection, args: argparse.Namespace) -> int:
    body = conn.json("POST", run_path(args.workspace_id, args.run_id) + "/cancel")
    if args.json:
        print_json(body)
    else:
        run = body.get("result", {}).get("run", {})
        print(f"run {run.get('id', args.run_id)} {run.get('status', 'cancelled')}")
    return 0


COMMANDS = {"list": list_command, "show": show_command, "rerun": rerun_command, "cancel": cancel_command}


def run_runs_command(args: argparse.Namespace, conn: Connection | None = None) -> int:
    """``tideway runs <command>``: its exit code; API and connection errors are one line on stderr."""
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot print a character gets "?"
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    try:
        return COMMANDS[args.runs_command](conn or Connection.of(args), args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an answer of an unexpected shape: one line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
