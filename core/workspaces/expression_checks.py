"""The import's check of the templates and conditions of every automation (issue 17): a string
that can never evaluate — ``+++``, an unclosed ``{{`` or ``{%``, a bare name inside ``{% %}``, an
unknown function — is an error naming the file, the instruction path and the column, with every
other problem of the import (schemas/validation.py ``SourceCheck``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from language import expression_problems, template_problems
from schemas.dsul import WorkspaceSource
from schemas.problems import Finding, Path
from schemas.validation import SectionFinding

CHECKED_FIELDS = ("do", "output")  # where an automation's strings are evaluated


def expression_findings(source: WorkspaceSource) -> list[SectionFinding]:
    found: list[SectionFinding] = []
    for slug, automation in sorted(source.automations.items()):
        if not isinstance(automation, dict):
            continue  # reported by the shape check
        for field in CHECKED_FIELDS:
            if field in automation:
                found += [SectionFinding("automations", slug, finding)
                          for finding in _findings(automation[field], (field,))]
    return found


def _findings(value: Any, path: Path) -> Iterator[Finding]:
    if isinstance(value, str):
        for problem in template_problems(value):
            yield Finding(path=path, message=f"{problem.message} (column {problem.column})")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _findings(item, (*path, index))
    elif isinstance(value, dict):
        if len(value) == 1 and "comment" in value:
            return  # a comment is never evaluated
        conditions = path[-1:] == ("conditions",)
        for key, item in value.items():
            here = (*path, key)
            if conditions and key != "default" and isinstance(key, str):
                for problem in expression_problems(key):
                    yield Finding(path=here, message=f"condition: {problem.message} (column {problem.column})")
            yield from _findings(item, here)
