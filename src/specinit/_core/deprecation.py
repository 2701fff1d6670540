"""Renamed arguments and attributes keep working for one release, with a DeprecationWarning."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "SpecinitDeprecationWarning",
    "renamed_kwargs",
    "warn_deprecated",
    "deprecated_alias",
    "mark_deprecated_kwargs",
]

P = ParamSpec("P")
R = TypeVar("R")


class SpecinitDeprecationWarning(DeprecationWarning):
    """A name or argument of specinit that is deprecated and will be removed in the next release."""


def warn_deprecated(message: str, stacklevel: int = 3) -> None:
    """Emit a :class:`SpecinitDeprecationWarning` (shown by default in user code and tests)."""
    warnings.warn(message, SpecinitDeprecationWarning, stacklevel=stacklevel)


def mark_deprecated_kwargs(fn: Callable[..., Any], renames: Mapping[str, str]) -> None:
    """Record ``fn``'s deprecated keyword names (old name -> what replaces it) as
    ``fn.__deprecated_kwargs__``, where the initializer registry and the docs look for them.
    """
    fn.__dict__["__deprecated_kwargs__"] = dict(renames)


def renamed_kwargs(**renames: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: accept old keyword names (``old="new"``) with a DeprecationWarning.

    Giving both the old and the new name is a ``TypeError``.  The wrapped function's signature is
    the new one (``inspect.signature`` follows ``__wrapped__``); the old names are listed in
    ``__deprecated_kwargs__``.

    >>> @renamed_kwargs(seed="generator")
    ... def draw(*, generator=None):
    ...     return generator
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     draw(seed=3)
    3
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old}= (deprecated) and {new}=")
                    warn_deprecated(
                        f"{fn.__name__}({old}=...) is deprecated and will be removed in "
                        f"the next release; use {new}="
                    )
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        mark_deprecated_kwargs(wrapper, renames)
        return wrapper

    return decorate


def deprecated_alias(old: str, new: str) -> property:
    """A read-only property ``old`` that returns attribute ``new`` with a DeprecationWarning."""

    def get(self: Any) -> Any:
        warn_deprecated(f"{type(self).__name__}.{old} is deprecated; use .{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of :attr:`{new}`.")
