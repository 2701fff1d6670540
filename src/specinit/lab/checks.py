"""Checks of experiment configs, shared by the experiments' ``check_config`` functions.

An experiment module may define ``check_config(cfg)``; :func:`~specinit.lab.experiment.register_module`
registers it, and :meth:`Experiment.config <specinit.lab.experiment.Experiment.config>` and the
runner call it (through :meth:`~specinit.lab.experiment.Experiment.validate`) before any work, so a
value that cannot run — a negative width, an empty list, an unknown activation — fails at once
with a ``ValueError`` naming it, not minutes into a run.  These helpers say it the same way in
every experiment.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Cfg:
...     width: int = 8
...     lrs: tuple[float, ...] = (1e-3,)
>>> positive(Cfg(width=-4), "width", "lrs")
Traceback (most recent call last):
...
ValueError: width must be positive, got -4
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["nonempty", "positive", "non_negative", "activation_names", "init_methods", "distinct"]


def _values(cfg: Any, name: str) -> list[Any]:
    value = getattr(cfg, name)
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nonempty(cfg: Any, *names: str) -> None:
    """Raise unless each named sequence field of ``cfg`` holds at least one value."""
    for name in names:
        if len(getattr(cfg, name)) == 0:
            raise ValueError(f"{name} is empty; give at least one value")


def positive(cfg: Any, *names: str) -> None:
    """Raise unless each named field (a number, or every number of a sequence) is > 0."""
    for name in names:
        if not all(_number(v) and v > 0 for v in _values(cfg, name)):
            raise ValueError(f"{name} must be positive, got {getattr(cfg, name)!r}")


def non_negative(cfg: Any, *names: str) -> None:
    """Raise unless each named field (a number, or every number of a sequence) is >= 0."""
    for name in names:
        if not all(_number(v) and v >= 0 for v in _values(cfg, name)):
            raise ValueError(f"{name} must be zero or more, got {getattr(cfg, name)!r}")


def distinct(cfg: Any, *names: str) -> None:
    """Raise if a named sequence field holds a value twice (its units would collide)."""
    for name in names:
        values = _values(cfg, name)
        if len({repr(v) for v in values}) != len(values):
            raise ValueError(f"{name} holds a value twice: {getattr(cfg, name)!r}")


def activation_names(cfg: Any, *names: str) -> None:
    """Raise the activation registry's ``ValueError`` (``unknown activation 'x'; available: …``)
    for any activation in the named fields that :func:`specinit.nn.activations.get` refuses.
    """
    from specinit.nn import activations

    for name in names:
        for spec in _values(cfg, name):
            activations.get(spec)


def init_methods(cfg: Any, *names: str, also: Iterable[str] = ()) -> None:
    """Raise unless every value of the named fields is an initialization method of
    :func:`specinit.initializers.methods` (or one of ``also``, names the experiment adds).
    """
    from specinit.initializers import methods

    known = [*methods(), *also]
    for name in names:
        bad = [v for v in _values(cfg, name) if v not in known]
        if bad:
            raise ValueError(
                f"{name}: unknown initialization method(s) {', '.join(map(repr, bad))}; "
                f"known: {', '.join(known)}"
            )
