"""Loading the corpus: every ``*.yaml`` of CONFORMANCE_DIR (default ../shared/conformance)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    return Path(os.environ.get("CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))


@dataclass
class Case:
    file: str
    data: dict[str, Any]
    shared: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data.get("name"))

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def load_cases() -> list[Case]:
    cases: list[Case] = []
    directory = corpus_dir()
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        document = yaml.safe_load(path.read_text())
        if isinstance(document, dict):
            shared = {k: v for k, v in document.items() if k != "cases"}
            items = document.get("cases") or []
        else:
            shared, items = {}, document or []
        cases += [Case(path.name, item, shared) for item in items if isinstance(item, dict)]
    return cases
