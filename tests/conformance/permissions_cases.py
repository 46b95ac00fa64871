"""Runner for ``permissions.yaml``: drives :mod:`core.access.permissions` as the README's case forms say."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.access.permissions import Permissions, PermissionsConfig, inject_conditions, inject_rules
from schemas.errors import TidewayError
from tests.conformance.matching import matches


def run_permissions(case: dict[str, Any]) -> None:
    if "inject_conditions" in case:
        spec = case["inject_conditions"]
        got: Any = inject_conditions(spec["conditions"], spec["context"])
        assert got == case["expected"], f"got {got!r}"  # plain equality: `$in` is data here
        return
    if "inject_rules" in case:
        spec = case["inject_rules"]
        got = inject_rules(spec["rules"], spec["context"])
        assert got == case["expected"], f"got {got!r}"
        return
    config = PermissionsConfig.from_raw(case["configs"][case["config"]])
    actors = {name: Permissions(user, config) for name, user in (case.get("users") or {}).items()}
    saved: dict[str, Any] = {}

    def subject(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"$ref"}:
            return saved[value["$ref"]]
        return copy.deepcopy(value)

    for index, step in enumerate(case["steps"]):
        where = f"step {index}"
        if "can" in step:
            op = step["can"]
            got = actors[op["as"]].can(op["action"], op["subject_type"],
                                       subject(op["subject"]) if "subject" in op else None, op.get("field"))
            assert got is step["expected"], f"{where}: can {op['action']} {op['subject_type']} -> {got}"
        elif "grant" in step or "revoke" in step:
            kind = "grant" if "grant" in step else "revoke"
            op = step[kind]
            perms = actors[op["as"]]

            def call(op: dict[str, Any] = op, perms: Permissions = perms, kind: str = kind) -> Any:
                if kind == "grant":
                    return perms.grant(op["permission"], op["subject_type"], subject(op["subject"]), op["target"])
                return perms.revoke(op["permission"], op["subject_type"], subject(op["subject"]), op["target_id"])

            if "expected_error" in step:
                with pytest.raises(TidewayError) as info:
                    call()
                assert info.value.name == step["expected_error"], f"{where}: raised {info.value.name}"
                continue
            result = call()
            if "save_as" in step:
                saved[step["save_as"]] = result
            if "expected_permissions" in step:
                assert matches(step["expected_permissions"], result.get("permissions"), subset=True), (
                    f"{where}: permissions {result.get('permissions')!r}")
        elif "pull_role" in step:
            op = step["pull_role"]
            actors[op["as"]].pull_role_from_subject(op["subject_type"], subject(op["subject"]))
        elif "load_roles" in step:
            op = step["load_roles"]
            actors[op["as"]].load_roles(op["roles"])
        elif "loaded_subject_role" in step:
            op = step["loaded_subject_role"]
            got = actors[op["as"]].loaded_subject_role(op["subject_type"], op["subject_id"])
            assert got == step["expected"], f"{where}: loaded role {got!r}"
        else:
            raise AssertionError(f"{where}: unknown step {sorted(step)}")
