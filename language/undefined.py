"""The JavaScript ``undefined`` value, distinct from ``None`` (JSON ``null``)."""

from __future__ import annotations

from typing import Any


class UndefinedType:
    """Singleton type of :data:`UNDEFINED`. Falsy, equal only to itself."""

    __slots__ = ()
    _instance: UndefinedType | None = None

    def __new__(cls) -> UndefinedType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> tuple[Any, ...]:
        return (UndefinedType, ())

    def __copy__(self) -> UndefinedType:
        return self

    def __deepcopy__(self, memo: Any) -> UndefinedType:
        return self


UNDEFINED = UndefinedType()
