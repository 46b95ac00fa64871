"""Prints the drills' one-line figures at the end of the pytest run."""

from __future__ import annotations

import pytest

from tests.drills.helpers import FIGURES, FULL


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section(f"failure drills ({'full' if FULL else 'reduced'})")
        for line in FIGURES:
            terminalreporter.write_line(line)
