"""What the commands print: plain lines for pipes, colours (Rich) only on a terminal, JSON for
scripts, one-line errors, and progress bars on stderr for long work.

Rich decides whether a stream is a terminal and honours ``NO_COLOR`` and ``TERM=dumb``. Text that
is not on a terminal is printed with ``print`` as it is: never wrapped at 80 columns, never read as
Rich markup (``do[0]`` is a path, not a style)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.text import Text

STYLES = {"error": "bold red", "warning": "yellow", "added": "green", "changed": "yellow", "removed": "red",
          "title": "bold", "dim": "dim", "ok": "green"}


class CliError(Exception):
    """A command that cannot do its work: printed as ``error: <name>: <message>`` (``error:
    <message>`` without a name) on stderr, exit 1; ``lines`` follow it (the problems of an
    invalid workspace, one a line)."""

    def __init__(self, message: str, name: str | None = None, lines: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.name = name
        self.lines = lines or []

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.name else self.message


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, soft_wrap=True)


def replace_unprintable() -> None:
    """A terminal that cannot print a character gets ``?`` rather than a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def line(text: str, style: str | None = None, *, stderr: bool = False) -> None:
    """One line, in ``style`` (a key of STYLES or a Rich style) when the stream is a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    if style is not None and stream.isatty():
        target = console(stderr)
        if target.is_terminal and target.color_system is not None:
            target.print(Text(text, style=STYLES.get(style, style)))
            return
    print(text, file=stream)


def styled(parts: list[tuple[str, str | None]], *, stderr: bool = False) -> None:
    """One line made of differently styled parts (plain text off a terminal)."""
    stream = sys.stderr if stderr else sys.stdout
    target = console(stderr)
    if stream.isatty() and target.is_terminal and target.color_system is not None:
        text = Text()
        for part, style in parts:
            text.append(part, style=STYLES.get(style, style) if style else None)
        target.print(text)
        return
    print("".join(part for part, _ in parts), file=stream)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def print_error(error: CliError) -> None:
    styled([("error", "error"), (f": {error}", None)], stderr=True)
    for extra in error.lines:
        print(extra, file=sys.stderr)


class Steps:
    """A progress bar on stderr; shows nothing off a terminal or under ``--json``."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, description: str, total: float | None) -> None:
        if self.progress is not None:
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task(description, total=total)

    def advance(self, amount: float = 1) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, amount)


@contextlib.contextmanager
def progress(*, quiet: bool = False, bytes_: bool = False) -> Iterator[Steps]:
    target = console(stderr=True)
    if quiet or not target.is_terminal:
        yield Steps(None)
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               DownloadColumn() if bytes_ else TextColumn("{task.completed:.0f}/{task.total:.0f}")]
    with Progress(*columns, console=target, transient=True) as bar:
        yield Steps(bar)
