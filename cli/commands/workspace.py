"""Workspaces as code: ``tideway validate|push|pull|diff|test`` on a workspace folder
(docs/cli.md). ``validate`` and ``test`` work offline; the others talk to a Tideway API."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.connection import (
    JsonOption,
    ProfileOption,
    TokenOption,
    UrlOption,
    require_workspace,
    resolve_connection,
)
from cli.output import CliError, line, print_json, progress, styled
from cli.workspace_diff import compare, counts, patch, summary
from cli.workspace_folder import write_workspace
from cli.workspace_remote import (
    compiler_parts,
    fetch_export,
    import_folder,
    push_target,
    read_local,
)
from cli.yaml_lines import Locator

FolderArg = Annotated[Path, typer.Argument(metavar="DIR", help="the workspace folder", exists=True, file_okay=False)]
WorkspaceOption = Annotated[str | None, typer.Option(
    "--workspace", "-w", help="the workspace: a slug, slug:<slug> or an id (default: index.yml's slug)")]
PruneOption = Annotated[bool, typer.Option(
    "--prune/--no-prune", help="delete what the folder leaves out (default) or keep it")]


def validate(directory: FolderArg, as_json: JsonOption = False) -> int:
    """Check a workspace folder offline: every problem the import would report."""
    from cli.offline_checks import check_folder
    from core.infra.settings import get_settings

    found = asyncio.run(check_folder(directory, get_settings()))
    locator = Locator(directory)
    placed = sorted(((locator.place(f.path, f.message), f) for f in found),
                    key=lambda pair: (pair[0].file, pair[0].line or 0, pair[0].column or 0))
    errors = sum(1 for f in found if f.severity == "error")
    warnings = len(found) - errors
    if as_json:
        problems = [{"file": os.path.normpath(os.path.join(str(directory), place.file)), "line": place.line,
                     "column": place.column, "path": place.path, "severity": problem.severity,
                     "message": problem.message, "importPath": problem.path} for place, problem in placed]
        print_json({"valid": errors == 0, "errors": errors, "warnings": warnings, "problems": problems})
    else:
        for place, problem in placed:
            styled(compiler_parts(directory, place, problem.message, problem.severity))
        verdict = "valid" if errors == 0 else "invalid"
        line(f"{directory}: {verdict} ({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)})",
             "ok" if errors == 0 else "error")
    return 1 if errors else 0


def show_changes(lines: list[tuple[str, str]], heading: str) -> None:
    line(heading, "title")
    for text, style in lines or [("no changes", "dim")]:
        line(f"  {text}", style)


def push(directory: FolderArg, workspace: WorkspaceOption = None, prune: PruneOption = True,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change, import nothing")] = False,
         url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None,
         as_json: JsonOption = False) -> int:
    """Import a workspace folder: show what changes, then import it (creating the workspace when
    index.yml's slug does not exist yet)."""
    conn = resolve_connection(url, token, profile)
    local = read_local(directory)
    target = push_target(conn, local, workspace)
    with progress(quiet=as_json, bytes_=True) as steps:
        remote = fetch_export(conn, target.id, steps) if target.id else None
    changes = compare(local, remote, prune=prune)
    result: dict[str, Any] = {"workspace": target.summary and {k: target.summary.get(k) for k in ("id", "slug")},
                              "url": conn.url, "dryRun": dry_run, "changes": changes.to_json(), "pushed": False}
    if not as_json:
        show_changes(summary(changes, local), f"{'Would push' if dry_run else 'Pushing'} {directory} to "
                                              f"{target.describe(conn)}: {counts(changes)}")
    if dry_run or (remote is not None and changes.count == 0):
        if as_json:
            print_json(result)
        elif not dry_run:
            line("nothing to push", "dim")
        return 0
    with progress(quiet=as_json, bytes_=True) as steps:
        answer = import_folder(conn, directory, target, prune, steps)
    stored = answer.get("workspace") or {}
    warnings = [w for w in answer.get("warnings") or [] if isinstance(w, dict)]
    result.update(pushed=True, created=target.id is None, changed=answer.get("changed", True), warnings=warnings,
                  workspace={k: stored.get(k) for k in ("id", "slug", "revision")})
    if as_json:
        print_json(result)
        return 0
    locator = Locator(directory)
    for warning in warnings:
        message = str(warning.get("message", ""))
        styled(compiler_parts(directory, locator.place(str(warning.get("path", "")), message), message, "warning"))
    verb = "created" if target.id is None else "pushed"
    line(f"{verb} workspace '{stored.get('slug')}' ({stored.get('id')}), revision {stored.get('revision')}", "ok")
    return 0


def pull(workspace: Annotated[str, typer.Argument(metavar="WORKSPACE", help="the workspace: a slug, slug:<slug> or an id")],
         directory: Annotated[Path, typer.Argument(metavar="DIR", help="the folder to write (created when missing)", file_okay=False)],
         url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None,
         as_json: JsonOption = False) -> int:
    """Write a workspace into a folder in the reference layout (tests/ and apps/ are left alone)."""
    conn = resolve_connection(url, token, profile)
    found = require_workspace(conn, workspace)
    with progress(quiet=as_json, bytes_=True) as steps:
        remote = fetch_export(conn, str(found["id"]), steps)
    files = 1 + (remote.security is not None) + len(remote.automations) + len(remote.imports) + len(remote.pages)
    with progress(quiet=as_json) as steps:
        steps.start("writing", float(files))
        result = write_workspace(remote, directory, steps.advance)
    if as_json:
        print_json({"workspace": {k: found.get(k) for k in ("id", "slug", "revision")}, "directory": str(directory),
                    **result.to_json()})
        return 0
    for written in result.written:
        line(f"  + {written}", "added")
    for removed in result.removed:
        line(f"  - {removed}", "removed")
    line(f"pulled workspace '{found.get('slug')}' into {directory}: {len(result.written)} written, "
         f"{len(result.removed)} removed, {len(result.unchanged)} unchanged", "ok")
    return 0


def diff(directory: FolderArg, workspace: WorkspaceOption = None, prune: PruneOption = True,
         exit_code: Annotated[bool, typer.Option("--exit-code", help="exit 1 when there are changes")] = False,
         url: UrlOption = None, token: TokenOption = None, profile: ProfileOption = None,
         as_json: JsonOption = False) -> int:
    """What push would change: a summary and a unified diff (server → folder)."""
    conn = resolve_connection(url, token, profile)
    local = read_local(directory)
    target = push_target(conn, local, workspace)
    with progress(quiet=as_json, bytes_=True) as steps:
        remote = fetch_export(conn, target.id, steps) if target.id else None
    changes = compare(local, remote, prune=prune)
    lines = patch(changes, local, remote)
    if as_json:
        print_json({"workspace": target.summary and {k: target.summary.get(k) for k in ("id", "slug")},
                    "url": conn.url, "changes": changes.to_json(), "patch": "\n".join(lines)})
    else:
        show_changes(summary(changes, local), f"{directory} against {target.describe(conn)}: {counts(changes)}")
        for text in lines:
            style = ("title" if text.startswith(("+++", "---")) else "added" if text.startswith("+")
                     else "removed" if text.startswith("-") else "dim" if text.startswith("@@") else None)
            styled([(text, style)])
    return 1 if exit_code and changes.count else 0


def test(directory: FolderArg,
         server: Annotated[str | None, typer.Option("--server", help="run against this Tideway API instead of offline")]
         = None,
         token: TokenOption = None, profile: ProfileOption = None,
         junit: Annotated[Path | None, typer.Option("--junit", help="write a JUnit XML report", dir_okay=False)] = None,
         as_json: JsonOption = False,
         select: Annotated[str | None, typer.Option("-k", help="only the cases whose name matches PATTERN",
                                                    metavar="PATTERN")] = None) -> int:
    """Run the automation tests of a workspace folder (tests/*.yml)."""
    try:
        from cli.workspace_tests import run_test_command
    except ImportError as exc:  # the runner is a package of its own (cli/workspace_tests)
        raise CliError(f"the automation test runner is not available ({exc})", "NotImplementedError") from None
    resolved = resolve_connection(server, token, profile).token if server else token
    from cli.output import console

    terminal = console()
    color = terminal.is_terminal and terminal.color_system is not None and not terminal.no_color
    code: int = run_test_command(directory, server=server, token=resolved, junit=junit, json_output=as_json,
                                 select=select, color=color)
    return code


PANEL = "Workspaces as code"


def register(app: typer.Typer) -> None:
    app.command("validate", rich_help_panel=PANEL)(validate)
    app.command("push", rich_help_panel=PANEL)(push)
    app.command("pull", rich_help_panel=PANEL)(pull)
    app.command("diff", rich_help_panel=PANEL)(diff)
    app.command("test", rich_help_panel=PANEL)(test)
