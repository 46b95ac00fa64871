"""Errors raised by the language. Nothing else escapes the public functions."""

from __future__ import annotations

from typing import Any

from schemas.errors import TidewayError


class ExpressionError(TidewayError):
    """Base of every language error; carries the expression text and a position."""

    default_message = "Invalid expression"

    def __init__(
        self,
        message: str | None = None,
        *,
        expression: str | None = None,
        position: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        info: dict[str, Any] = {"expression": expression, "position": position}
        if details:
            info.update(details)
        super().__init__(message, info)
        self.expression = expression
        self.position = position


class InvalidExpressionSyntax(ExpressionError):
    """A syntax error, an unknown function, bad function arguments or a bad regex."""

    default_message = "Invalid expression syntax"
    #: the message without its "at position N in expression ..." suffix (set by :func:`syntax_error`)
    reason: str | None = None


class InvalidVariableNameError(ExpressionError):
    """A variable path that cannot be parsed (trailing ``.``, leading ``[``, empty segment)."""

    default_message = "Invalid variable name"


class ExpressionLimitError(ExpressionError):
    """An expression or template exceeds a :class:`LanguageLimits` bound."""

    default_message = "Expression exceeds the language limits"


def syntax_error(message: str, expression: str | None, position: int | None) -> InvalidExpressionSyntax:
    where = f" at position {position}" if position is not None else ""
    text = f"{message}{where} in expression {expression!r}" if expression is not None else message
    error = InvalidExpressionSyntax(text, expression=expression, position=position)
    error.reason = message
    return error
