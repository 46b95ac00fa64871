"""``python -m cli.workspace_tests DIR [--server URL] [--token T] [--junit FILE] [--json] [-k PATTERN]``:
the ``tideway test`` command without the ``tideway`` CLI (the same function runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cli.workspace_tests.command import run_test_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.workspace_tests",
                                     description="Run the automation tests of a workspace folder.")
    parser.add_argument("directory", type=Path, help="the workspace folder (its tests/ holds the test files)")
    parser.add_argument("--server", help="run against this live Tideway instead of offline")
    parser.add_argument("--token", help="API token for --server (default: $TIDEWAY_TOKEN)")
    parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("-k", dest="select", help="run the cases whose '<file>::<name>' contains this")
    parser.add_argument("--color", action=argparse.BooleanOptionalAction, default=None,
                        help="colours (default: on a terminal, unless NO_COLOR is set)")
    args = parser.parse_args(argv)
    color = args.color if args.color is not None else sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return run_test_command(args.directory, server=args.server, token=args.token or os.environ.get("TIDEWAY_TOKEN"),
                            junit=args.junit, json_output=args.json, select=args.select, color=color)


if __name__ == "__main__":
    sys.exit(main())
