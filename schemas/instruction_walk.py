"""Walking a list of typed instructions (schemas/instructions.py): every node with its path, and
what the import reports about them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from schemas.instructions import All, Conditions, Instruction, Invalid, Native, Repeat, Try
from schemas.problems import Finding, Path


def walk(instructions: Sequence[Instruction], path: Path) -> Iterator[tuple[Path, Instruction]]:
    """Every node with its path, nested lists included (``do[2].conditions["{{a}}"][0]``)."""
    for index, node in enumerate(instructions):
        here = (*path, index)
        yield here, node
        match node:
            case Conditions(branches=branches, default=default):
                for key, branch in branches:
                    yield from walk(branch, (*here, "conditions", key))
                if default is not None:
                    yield from walk(default, (*here, "conditions", "default"))
            case Repeat(do=body):
                yield from walk(body, (*here, "repeat", "do"))
            case All(branches=branches):
                yield from walk(branches, (*here, "all"))
            case Try(do=body, catch=catch, final=final):
                yield from walk(body, (*here, "try", "do"))
                yield from walk(catch, (*here, "try", "catch"))
                yield from walk(final, (*here, "try", "finally"))
            case _:
                pass


def findings(instructions: Sequence[Instruction], path: Path = ()) -> list[Finding]:
    """What the import reports about a list of instructions: the ``Invalid`` nodes' findings, and
    a warning per argument key an instruction does not have."""
    found: list[Finding] = []
    for here, node in walk(instructions, path):
        if isinstance(node, Invalid):
            found += node.findings
        elif isinstance(node, Native) and node.ignored_keys:
            known = ", ".join(type(node).dsul_fields())
            found += [Finding(path=(*here, node.keyword, key), severity="warning", message=(
                f"'{key}' is not a field of `{node.keyword}` (it has: {known})")) for key in node.ignored_keys]
    return found
