"""The one parser of config values: ``reproduce --set``, sweep files and ``inspect --arg``.

A value is converted to the type its field is annotated with (:func:`coerce`): a string is parsed
(``"3"`` for an ``int``, ``"1e-3,3e-3"`` for a ``tuple[float, ...]``, ``"none"`` for an optional
field, ``"[64, 64]"`` for a list), a typed value (from TOML/YAML) is checked, a mapping fills a
nested dataclass (as does JSON text, ``'{"step": 0.05}'``).  A field of a nested config is
named by a dotted path (``task.step``).  A field of unknown type reads a string as a Python
literal when it is one.  Every error is a :class:`ConfigError` (a ``ValueError``) naming the key
it is about.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Cfg:
...     lrs: tuple[float, ...] = (1e-3,)
...     limit: int | None = None
>>> replace_fields(Cfg(), {"lrs": "1e-4, 1e-3", "limit": "500"})
Cfg(lrs=(0.0001, 0.001), limit=500)
>>> @dataclass(frozen=True)
... class Outer:
...     inner: Cfg = Cfg()
>>> replace_fields(Outer(), {"inner.limit": "7"})
Outer(inner=Cfg(lrs=(0.001,), limit=7))
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import json
import re
import types
import typing
from collections.abc import Mapping
from collections.abc import Mapping as MappingABC
from typing import Any

__all__ = [
    "ConfigError",
    "coerce",
    "parse_text",
    "config_field",
    "replace_fields",
    "format_value",
    "point_label",
    "config_json",
]


class ConfigError(ValueError):
    """A config value that cannot be used; the message names the offending key."""


def parse_text(text: str) -> Any:
    """A string read as a Python literal (``3``, ``0.5``, ``[64, 64]``, ``True``) when it is one,
    else the string itself.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _check_field(cfg: Any, key: str, where: str) -> None:
    names = [f.name for f in dataclasses.fields(cfg)]
    if key not in names:
        raise ConfigError(
            f"{where}: unknown config field {key!r} of {type(cfg).__name__} "
            f"({type(cfg).__module__}); fields: {', '.join(names)}"
        )


def config_field(cfg: Any, key: str, value: Any, where: str | None = None) -> Any:
    """``value`` for field ``key`` of the dataclass ``cfg``, converted to the field's type."""
    where = key if where is None else where
    _check_field(cfg, key, where)
    return coerce(typing.get_type_hints(type(cfg))[key], value, where, getattr(cfg, key))


def replace_fields(cfg: Any, overrides: Mapping[str, Any], prefix: str = "") -> Any:
    """``cfg`` (a frozen dataclass) with the fields in ``overrides`` replaced, each value converted
    by :func:`coerce`; a dotted key (``task.step``) replaces a field of a nested config; errors
    name ``prefix.key``.
    """
    changes: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        head, dot, rest = key.partition(".")
        if dot and head and rest:
            nested.setdefault(head, {})[rest] = value
        else:
            changes[key] = config_field(cfg, key, value, f"{prefix}{key}")
    for head, sub in nested.items():
        where = f"{prefix}{head}"
        _check_field(cfg, head, where)
        current = changes.get(head, getattr(cfg, head))
        if not (dataclasses.is_dataclass(current) and not isinstance(current, type)):
            raise ConfigError(
                f"{where}: not a nested config (it holds {current!r}), so it has no field "
                f"{next(iter(sub))!r}; set it as {where}=VALUE"
            )
        changes[head] = replace_fields(current, sub, f"{where}.")
    return dataclasses.replace(cfg, **changes)


def coerce(hint: Any, value: Any, where: str, current: Any = None) -> Any:
    """``value`` as a value of type ``hint`` (strings parsed, see the module docstring), else a
    :class:`ConfigError` naming ``where``.  ``current`` is the field's present value (a nested
    dataclass is updated from a mapping).
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return parse_text(value) if isinstance(value, str) else value
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (
            value is None or (isinstance(value, str) and value.strip().lower() == "none")
        ):
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(arg, value, where, current)
            except ConfigError:
                continue
        raise _type_error(hint, value, where)
    if origin in (tuple, list, collections.abc.Sequence):
        if isinstance(value, str) and not value.strip():
            raise ConfigError(
                f"{where}: no value given; list one or more values separated by commas "
                f"(e.g. {where}=VALUE,VALUE), or write [] for none"
            )
        items = _items(value)
        if items is None:
            raise _type_error(hint, value, where)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and args:
            if len(items) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(items)}")
            return tuple(
                coerce(a, item, f"{where}[{i}]") for i, (a, item) in enumerate(zip(args, items, strict=True))
            )
        item_hint = args[0] if args else Any
        converted = [coerce(item_hint, item, f"{where}[{i}]") for i, item in enumerate(items)]
        return converted if origin is list else tuple(converted)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        if isinstance(value, str):
            value = _nested_text(hint, value, where)
        if not isinstance(value, MappingABC):
            raise _type_error(hint, value, where)
        if current is not None:
            return replace_fields(current, value, f"{where}.")
        try:  # an item of a tuple of configs: built from its fields
            return hint(**{k: config_field_type(hint, k, v, f"{where}.{k}") for k, v in value.items()})
        except TypeError as exc:
            raise ConfigError(f"{where}: cannot build {hint.__name__}: {exc}") from None
    return _scalar(hint, value, where)


def _nested_text(hint: type, text: str, where: str) -> Any:
    """A nested config given as text: JSON (``{"step": 0.05}``, as :func:`format_value` writes
    it) is read as a mapping; ``field=value`` is an error pointing to the dotted form.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: cannot read {text!r} as JSON: {exc}") from None
    names = ", ".join(f.name for f in dataclasses.fields(hint))
    key, eq, value = stripped.partition("=")
    example = f"{where}.{key.strip()}={value.strip()}" if eq and key.strip() else f"{where}.FIELD=VALUE"
    raise ConfigError(
        f"{where} is a nested config ({hint.__name__}: {names}); set one of its fields by its "
        f"dotted name, e.g. {example}"
    )


def config_field_type(cls: type, key: str, value: Any, where: str) -> Any:
    """``value`` converted to the type of field ``key`` of the dataclass class ``cls``."""
    hints = typing.get_type_hints(cls)
    if key not in hints:
        raise ConfigError(f"{where}: unknown field {key!r} of {cls.__name__}; fields: {', '.join(hints)}")
    return coerce(hints[key], value, where)


def _items(value: Any) -> list[Any] | None:
    """The items of a sequence value; a string is split at commas (``"a, b"``) or read as a
    bracketed literal (``"[1, 2]"``).
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[(":
            parsed = parse_text(text)
            return list(parsed) if isinstance(parsed, (list, tuple)) else None
        return [s.strip() for s in text.split(",") if s.strip()]
    return list(value) if isinstance(value, (list, tuple)) else None


def _scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return value
    else:  # a type we do not check (a Callable, a Protocol): read a string as a literal
        return parse_text(value) if isinstance(value, str) else value
    raise _type_error(hint, value, where)


def _type_error(hint: Any, value: Any, where: str) -> ConfigError:
    name = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
    if isinstance(value, str) and value.strip().lower() == "none":
        return ConfigError(f"{where}: expected {name}, got {value!r}: this field cannot be none")
    if isinstance(value, str) and not value.strip():
        return ConfigError(f"{where}: expected {name}, got no value")
    if isinstance(value, str):
        return ConfigError(f"{where}: expected {name}, got {value!r}: cannot parse {value!r} as {name}")
    return ConfigError(f"{where}: expected {name}, got {value!r} ({type(value).__name__})")


def format_value(value: Any) -> str:
    """A config value as text that :func:`coerce` reads back: tuples/lists joined by commas,
    nested configs and mappings as JSON, booleans lower case.
    """
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.dumps(config_json(value), sort_keys=True)
    if isinstance(value, MappingABC):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def config_json(cfg: Any) -> Any:
    """A dataclass config as plain JSON data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def point_label(point: Mapping[str, Any]) -> str:
    """``field=value`` pairs of a sweep point, space-separated (values as :func:`format_value`)."""
    return " ".join(f"{k}={format_value(v)}" for k, v in point.items())
