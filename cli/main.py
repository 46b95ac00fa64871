"""The ``tideway`` command's entry point (pyproject ``[project.scripts]``); the command itself is
cli/app.py."""

from __future__ import annotations

import os
import sys

from core.infra.settings import get_settings


async def run_retention_command(dry_run: bool, as_json: bool) -> int:
    """``tideway retention`` with this module's settings (tests/retention replaces ``get_settings``)."""
    from cli.commands.server import retention_report

    return await retention_report(get_settings(), dry_run, as_json)


def main(argv: list[str] | None = None) -> None:
    from cli.app import run

    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # A temporalio client still alive at interpreter exit can abort the process (sdk-python #300).
    os._exit(code)


if __name__ == "__main__":
    main()
