"""``tideway test DIR``: load the folder's test files, run the selected cases offline (or against
``--server``), print the results, write ``--junit``, answer the exit code.

Exit codes: 0 every case run passed (skipped ones aside); 1 a case failed; 2 the test files or the
folder could not be read, nothing matched ``-k``, the server could not be used, or (server mode) a
case had to be refused and none failed.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path
from typing import TextIO

from cli.workspace_tests.expectations import check
from cli.workspace_tests.format import Case
from cli.workspace_tests.junit import write_junit
from cli.workspace_tests.loading import LoadedFile, TestFilesError, load_test_files
from cli.workspace_tests.offline import OfflineRunner
from cli.workspace_tests.outcome import CaseOutcome
from cli.workspace_tests.report import CaseResult, exit_code, write_json, write_problems, write_text
from cli.workspace_tests.server import ServerError, ServerRunner, refusal
from cli.workspace_tests.workspace import OfflineWorkspace, WorkspaceFolderError

Selected = list[tuple[LoadedFile, Case]]


def selects(pattern: str | None, file: str, name: str) -> bool:
    """``-k``: a case-insensitive part of ``<file>::<case name>`` (``*`` wildcards allowed); a
    leading ``not `` inverts it."""
    if not pattern:
        return True
    text = pattern.strip()
    negate = text.lower().startswith("not ")
    if negate:
        text = text[4:].strip()
    target = f"{file}::{name}".lower()
    needle = text.lower()
    if "*" in needle:
        found = re.search(".*".join(re.escape(part) for part in needle.split("*")), target) is not None
    else:
        found = needle in target
    return found != negate


def skipped(file: LoadedFile, case: Case) -> CaseResult:
    return CaseResult(file.label, case.name, case.trigger_kind, "skipped", failures=[f"skipped: {case.skip}"])


def judged(file: LoadedFile, case: Case, outcome: CaseOutcome, started: float) -> CaseResult:
    failures = check(case, outcome)
    return CaseResult(file.label, case.name, case.trigger_kind, "failed" if failures else "passed",
                      time.perf_counter() - started, failures)


async def run_offline(directory: Path, chosen: Selected) -> list[CaseResult]:
    runner = OfflineRunner(OfflineWorkspace.load(directory))
    results = []
    for file, case in chosen:
        if case.skip is not None:
            results.append(skipped(file, case))
            continue
        started = time.perf_counter()
        try:
            outcome = await runner.run_case(case, file.tests.mocks)
        except Exception as exc:  # noqa: BLE001 - a bug of the runner fails its case, not the others
            outcome = CaseOutcome(problem=f"the test runner failed: {type(exc).__name__}: {exc}")
        results.append(judged(file, case, outcome, started))
    return results


async def run_on_server(directory: Path, chosen: Selected, server: str, token: str | None) -> list[CaseResult]:
    slug = OfflineWorkspace.load(directory).slug
    results = []
    async with ServerRunner(server, token, slug) as runner:
        for file, case in chosen:
            if case.skip is not None:
                results.append(skipped(file, case))
                continue
            refused = refusal(case, file.tests.mocks)
            if refused is not None:
                results.append(CaseResult(file.label, case.name, case.trigger_kind, "refused", failures=[refused]))
                continue
            started = time.perf_counter()
            try:
                outcome = await runner.run_case(case)
            except ServerError as exc:
                outcome = CaseOutcome(problem=str(exc))
            results.append(judged(file, case, outcome, started))
    return results


def fail(stream: TextIO, message: str) -> int:
    stream.write(f"error: {message}\n")
    return 2


def run_test_command(directory: Path, *, server: str | None, token: str | None, junit: Path | None,
                     json_output: bool, select: str | None, color: bool) -> int:
    """Run the automation tests of a workspace folder (docs/workspace-tests.md); the exit code."""
    out, err = sys.stdout, sys.stderr
    directory = Path(directory)
    if not directory.is_dir():
        return fail(err, f"{directory} is not a folder")
    try:
        files = load_test_files(directory)
    except TestFilesError as exc:
        write_problems(exc.problems, out if json_output else err, json_output=json_output, color=color)
        return 2
    if not files:
        return fail(err, f"no test files in {directory / 'tests'} (tests/<name>.yml, docs/workspace-tests.md)")
    chosen = [(file, case) for file in files for case in file.tests.cases if selects(select, file.label, case.name)]
    if not chosen:
        return fail(err, f"no case matches -k {select!r}")
    started = time.perf_counter()
    try:
        if server:
            results = asyncio.run(run_on_server(directory, chosen, server, token))
        else:
            results = asyncio.run(run_offline(directory, chosen))
    except WorkspaceFolderError as exc:
        for problem in exc.problems:
            err.write(f"error: {problem}\n")
        return 2
    except ServerError as exc:
        return fail(err, str(exc))
    elapsed = time.perf_counter() - started
    mode = f"server {server}" if server else "offline"
    if json_output:
        write_json(results, elapsed, out, mode=mode)
    else:
        write_text(results, elapsed, out, color=color, mode=mode)
    if junit is not None:
        write_junit(results, elapsed, Path(junit), name=f"tideway test {directory.name}")
    out.flush()
    return exit_code(results)
