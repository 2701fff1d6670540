"""The one parser of config values (specinit.lab.config): --set, sweep files and inspect --arg."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from specinit.lab.config import ConfigError, coerce, format_value, parse_text, replace_fields


@dataclass(frozen=True)
class Inner:
    grid: int = 8
    step: float = 0.1


@dataclass(frozen=True)
class Cfg:
    lrs: tuple[float, ...] = (1e-3,)
    names: tuple[str, ...] = ("a",)
    limit: int | None = None
    flag: bool = False
    inner: Inner = Inner()
    items: tuple[Inner, ...] = ()
    seeds: tuple[int, ...] = (0,)


def test_strings_are_parsed_by_the_field_type():
    cfg = replace_fields(
        Cfg(),
        {
            "lrs": "1e-4, 3e-4",
            "names": "relu,sine(omega0=5)",
            "limit": "none",
            "flag": "true",
            "seeds": "[0, 1]",
        },
    )
    assert cfg.lrs == (1e-4, 3e-4) and cfg.names == ("relu", "sine(omega0=5)")
    assert cfg.limit is None and cfg.flag is True and cfg.seeds == (0, 1)
    assert replace_fields(cfg, {"limit": "500"}).limit == 500


def test_typed_values_are_checked_and_nested_configs_filled():
    cfg = replace_fields(Cfg(), {"lrs": [1, 2.5], "inner": {"grid": 4}, "items": [{"grid": 2, "step": 1}]})
    assert cfg.lrs == (1.0, 2.5) and cfg.inner == Inner(4, 0.1)
    assert cfg.items == (Inner(2, 1.0),)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lr": "1"}, r"lr: unknown config field 'lr' of Cfg"),
        ({"limit": "x"}, r"limit: expected int \| None, got 'x'"),
        ({"flag": "yes"}, r"flag: expected bool, got 'yes': cannot parse 'yes' as bool"),
        ({"lrs": ["fast"]}, r"lrs\[0\]: expected float, got 'fast'"),
        ({"inner": {"grid": 1.5}}, r"inner\.grid: expected int, got 1\.5 \(float\)"),
        ({"seeds": True}, r"seeds: expected tuple\[int, \.\.\.\], got True"),
    ],
)
def test_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        replace_fields(Cfg(), overrides)


def test_unknown_types_read_literals_and_values_round_trip():
    assert coerce(Any, "[64, 64]", "w") == [64, 64] and coerce(Any, "tanh", "a") == "tanh"
    assert coerce(Sequence[int], "[1, 2]", "w") == (1, 2)
    assert parse_text("True") is True and parse_text("x y") == "x y"
    cfg = Cfg(lrs=(1e-4, 0.5), names=("a", "b"), flag=True)
    again = replace_fields(Cfg(), {k: format_value(getattr(cfg, k)) for k in ("lrs", "names", "flag")})
    assert again == cfg
