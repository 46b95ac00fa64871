"""``--junit report.xml``: the results as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub
reporters, Azure) read. One ``<testsuite>`` per test file, one ``<testcase>`` per case
(``classname`` the file, ``time`` in seconds), ``<failure>`` with the differences, ``<skipped>``
with the reason (a refused case is an ``<error>``: it could not run where it was asked to).

Built with ``xml.etree``, which escapes text and attributes; characters XML 1.0 cannot carry at
all (control characters from a run's output) are replaced first, or the report would not parse.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from cli.workspace_tests.report import CaseResult, counts

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def junit_tree(results: list[CaseResult], elapsed: float, name: str) -> ET.ElementTree:
    found = counts(results)
    root = ET.Element("testsuites", name=clean(name), tests=str(len(results)), failures=str(found["failed"]),
                      errors=str(found["refused"]), skipped=str(found["skipped"]), time=f"{elapsed:.3f}")
    files: dict[str, list[CaseResult]] = {}
    for result in results:
        files.setdefault(result.file, []).append(result)
    for file, cases in files.items():
        suite_counts = counts(cases)
        suite = ET.SubElement(root, "testsuite", name=clean(file), tests=str(len(cases)),
                              failures=str(suite_counts["failed"]), errors=str(suite_counts["refused"]),
                              skipped=str(suite_counts["skipped"]), time=f"{sum(c.duration for c in cases):.3f}")
        for case in cases:
            element = ET.SubElement(suite, "testcase", name=clean(case.name), classname=clean(file),
                                    time=f"{case.duration:.3f}")
            message = clean(case.failures[0]) if case.failures else ""
            body = clean("\n".join(case.failures))
            if case.status == "failed":
                ET.SubElement(element, "failure", message=message, type="AssertionError").text = body
            elif case.status == "refused":
                ET.SubElement(element, "error", message=message, type="Refused").text = body
            elif case.status == "skipped":
                ET.SubElement(element, "skipped", message=message)
    return ET.ElementTree(root)


def write_junit(results: list[CaseResult], elapsed: float, path: Path, name: str) -> None:
    tree = junit_tree(results, elapsed, name)
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
