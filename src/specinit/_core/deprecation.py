"""Renamed arguments and attributes keep working for one release, with a DeprecationWarning."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["SpecinitDeprecationWarning", "renamed_kwargs", "warn_deprecated", "deprecated_alias"]

F = TypeVar("F", bound=Callable[..., Any])


class SpecinitDeprecationWarning(DeprecationWarning):
    """A name or argument of specinit that is deprecated and will be removed in the next release."""


def warn_deprecated(message: str, stacklevel: int = 3) -> None:
    """Emit a :class:`SpecinitDeprecationWarning` (shown by default in user code and tests)."""
    warnings.warn(message, SpecinitDeprecationWarning, stacklevel=stacklevel)


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
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

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
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

        wrapper.__deprecated_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_alias(old: str, new: str) -> property:
    """A read-only property ``old`` that returns attribute ``new`` with a DeprecationWarning."""

    def get(self: Any) -> Any:
        warn_deprecated(f"{type(self).__name__}.{old} is deprecated; use .{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of :attr:`{new}`.")
