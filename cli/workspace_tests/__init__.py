"""Automation tests as files in a workspace folder (``tests/<name>.yml``), run offline on the real
interpreter with in-memory side effects, or against a live Tideway (docs/workspace-tests.md).

``run_test_command`` is what ``tideway test DIR`` calls; ``python -m cli.workspace_tests DIR`` runs
it without the ``tideway`` command.
"""

from __future__ import annotations

from cli.workspace_tests.command import run_test_command

__all__ = ["run_test_command"]
