"""The Jinja2 sandbox pages are rendered in (docs/pages.md).

A page template is written by a workspace editor and may be shown to anonymous visitors, so it
runs in ``ImmutableSandboxedEnvironment`` (no ``_``-prefixed attributes, no mutation of lists,
dicts and sets, only safe callables) with autoescape on. A missing value (an optional query
parameter, a field the automation left out) prints as nothing, as Jinja's default does; a value
the sandbox blocked is an error wherever it is used (the sandbox returns an undefined value for
a blocked attribute, which the default ``Undefined`` would print as nothing, hiding the attempt).

The sandbox keeps templates away from Python internals but not from exhausting the process, so
the operations that size their result from a number are bounded too: ``*``, ``**``, ``%`` and
``+``, ``~`` (string building), padding filters and methods, format widths, ``range`` (the
sandbox's own 100 000 limit), and the whole render gets a wall-clock budget, checked at every
loop iteration and macro call by code the compiler adds.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from types import TracebackType
from typing import Any

from jinja2 import Environment, Template, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATE_FILENAME = "<template>"  # the filename Jinja gives templates built from strings
MAX_SIZE = 1_000_000  # characters of a string, items of a list, built by one template operation
MAX_INT_BITS = 4096  # integers a template may compute with ** and *
MAX_OUTPUT = 5_000_000  # characters of a rendered page
RENDER_SECONDS = 2.0  # wall-clock budget of one render
PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
# A format spec with a huge width or precision, or a width taken from an argument.
_BRACE_WIDTH = re.compile(r"\{[^{}]*:[^{}]*(\d{6,}|\{)")
_PERCENT_WIDTH = re.compile(r"%[^%a-zA-Z]*?(\*|\d{6,})")


class PageUndefined(Undefined):
    """Lenient for missing values, strict for what the sandbox refused (``exc=SecurityError``)."""

    __slots__ = ()

    def _blocked(self) -> None:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._blocked()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._blocked()
        return iter(())

    def __bool__(self) -> bool:
        self._blocked()
        return False

    def __len__(self) -> int:
        self._blocked()
        return 0


class RenderTimeout(Exception):
    """The render went over its budget (raised inside the template's frames)."""


def _refuse(message: str) -> SecurityError:
    return SecurityError(f"{message} (the page sandbox allows at most {MAX_SIZE} characters or items)")


def _bounded(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_SIZE:
        raise _refuse(f"a value of {len(value)} characters or items")
    return value


def check_format(text: str) -> None:
    if _BRACE_WIDTH.search(text) or _PERCENT_WIDTH.search(text):
        raise SecurityError("format widths and precisions above 99999, or taken from arguments, "
                            "are not allowed in pages")


def _check_sizes(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
            raise _refuse(f"{name}({value})")


def _check_replace(text: str, old: Any, new: Any) -> None:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        count = len(text) + 1 if not old else text.count(old)
        if len(text) + count * (len(new) - len(old)) > MAX_SIZE:
            raise _refuse("replace() result")


SIZED_FILTERS = frozenset({"center", "indent", "batch", "slice", "truncate", "wordwrap"})


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose sizing arguments, format string and result are bounded."""

    @wraps(func)  # keeps Jinja's pass_eval_context / pass_environment markers
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not isinstance(a, EvalContext | Environment)]
        if name == "format" and values and isinstance(values[0], str):
            check_format(values[0])
        elif name == "replace" and len(values) >= 3 and isinstance(values[0], str):
            _check_replace(values[0], values[1], values[2])
        elif name in SIZED_FILTERS:
            _check_sizes(name, tuple(values[1:]), kwargs)
        return _bounded(func(*args, **kwargs))

    return guarded


class _GuardedCodeGenerator(CodeGenerator):
    """Wraps every ``~`` concatenation in a size check, so a doubling loop stops at ``MAX_SIZE``,
    and starts every block body with a call to the render clock (a loop iteration, however
    empty, is a block body; a per-line trace function would cost 4x on loop-heavy pages)."""

    def blockvisit(self, nodes: Iterable[nodes.Node], frame: Frame) -> None:
        self.writeline("environment.tick()")
        super().blockvisit(nodes, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded(")
        super().visit_Concat(node, frame)
        self.write(")")


class PageSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=PageUndefined)
        self.globals.pop("lipsum", None)  # sized by an argument and useless in a page
        for name in (*SIZED_FILTERS, "format", "replace", "join", "list"):
            self.filters[name] = _guard_filter(name, self.filters[name])

    @staticmethod
    def bounded(value: Any) -> Any:
        return _bounded(value)

    @staticmethod
    def tick() -> None:
        tick()

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if operator == "**" and numbers and abs(left) > 1 and right > 1:
            if math.log2(abs(left)) * right > MAX_INT_BITS:
                raise SecurityError(f"{left} ** {right} is too large for a page")
        elif operator == "*" and numbers and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise SecurityError("the product is too large for a page")
        elif operator == "*" and not numbers:
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_SIZE:
                raise _refuse("a repetition")
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            if len(left) + len(right) > MAX_SIZE:
                raise _refuse("a concatenation")
        elif operator == "%" and isinstance(left, str):
            check_format(left)
        return _bounded(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str) and name in PADDING:
            _check_sizes(name, args, kwargs)
        if isinstance(owner, str) and name == "replace" and len(args) >= 2:
            _check_replace(owner, args[0], args[1])
        return _bounded(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            check_format(value.__self__)
        return wrapped


SANDBOX = PageSandbox()


def compile_template(source: str) -> Template:
    """Parse and compile (raises ``jinja2.TemplateSyntaxError`` with ``lineno``)."""
    return SANDBOX.from_string(source)


def template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised from: Jinja rewrites tracebacks so the frames
    of template code carry template line numbers."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    line = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


_clock = threading.local()  # the deadline of the render running in this thread


def tick() -> None:
    """Called at the top of every block body (each loop iteration, macro call, branch): reads the
    clock every 256 calls and stops a render past its deadline."""
    count = getattr(_clock, "count", 0) + 1
    _clock.count = count
    if not count & 255 and time.monotonic() > getattr(_clock, "deadline", math.inf):
        raise RenderTimeout(f"the page took longer than {_clock.seconds:g} s to render")


def render_bounded(template: Template, context: dict[str, Any], seconds: float = RENDER_SECONDS) -> str:
    """Render within the time budget (blocking: call it from a worker thread)."""
    _clock.deadline, _clock.seconds, _clock.count = time.monotonic() + seconds, seconds, 0
    try:
        out = template.render(context)
    finally:
        _clock.deadline = math.inf
    if len(out) > MAX_OUTPUT:
        raise SecurityError(f"the page is {len(out)} characters long, over the {MAX_OUTPUT} characters limit")
    return out
