"""The import's check of Custom Code instances (issue 18): every function of their
``config.functions`` must parse (an error naming the instance, the function and the line), and
Python functions are refused with the reason (docs/custom-code.md)."""

from __future__ import annotations

from typing import Any

from core.custom_code import check_function, python_refusal_message
from schemas.dsul import WorkspaceSource
from schemas.problems import Finding
from schemas.validation import SectionFinding

CUSTOM_CODE_APP = "Custom Code"


def custom_code_findings(source: WorkspaceSource) -> list[SectionFinding]:
    found: list[SectionFinding] = []
    for slug, instance in sorted(source.imports.items()):
        if not isinstance(instance, dict) or instance.get("appSlug") != CUSTOM_CODE_APP:
            continue
        config = instance.get("config")
        functions: Any = config.get("functions") if isinstance(config, dict) else None
        if functions is None:
            continue
        if not isinstance(functions, dict):
            found.append(SectionFinding("imports", slug, Finding(
                path=("config", "functions"), message="must be an object {<function name>: {code, parameters?}}")))
            continue
        for name, spec in sorted(functions.items()):
            here = ("config", "functions", name)
            if not isinstance(spec, dict) or not isinstance(spec.get("code"), str):
                found.append(SectionFinding("imports", slug, Finding(
                    path=here, message=f"function '{name}' needs `code`: the body of a JavaScript function")))
                continue
            if (spec.get("language") or "javascript") != "javascript":
                found.append(SectionFinding("imports", slug, Finding(
                    path=(*here, "language"), message=python_refusal_message())))
                continue
            if "{{" in spec["code"] and "}}" in spec["code"]:
                continue  # completed by the parent's config when the run starts: checked then
            declared = list(spec["parameters"]) if isinstance(spec.get("parameters"), dict) else []
            problem = check_function(name, spec["code"], declared)
            if problem:
                found.append(SectionFinding("imports", slug, Finding(
                    path=(*here, "code"), message=f"Custom Code instance '{slug}', function '{name}': {problem}")))
    return found
