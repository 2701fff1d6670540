"""Sweep files: what a sweep runs — an experiment, config overrides, a grid and seeds.

A sweep config (TOML, or YAML with the same keys)::

    experiment = "inr-depth"      # a registered experiment (specinit reproduce --list)
    quick = true                  # start from its quick config (default false: the full one)
    seeds = [0, 1, 2]             # or a count, seeds = 3 (default: the config's own seeds)
    name = "inr-widths"           # optional; default: the file's stem
    modules = ["mypkg.exps"]      # optional; modules that register more experiments

    [set]                         # fields replaced in every run
    steps = 500

    [grid]                        # every combination of these values
    width = [32, 64]
    activations = ["relu", "sine(omega0=5)"]   # a string for a tuple field is split at commas

    [[runs]]                      # explicit points (each combined with every grid point)
    depths = [1, 2]

:func:`load_sweep` reads such a file, :func:`parse_sweep` the same mapping from Python; both
give a :class:`SweepSpec` whose values are converted to the config fields' types by the lab's
one config parser (:mod:`specinit.lab.config`).  :func:`specinit.lab.sweep.plan` turns it into
runs.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import sys
from collections.abc import Mapping, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specinit.lab import experiment as experiments
from specinit.lab.config import ConfigError, config_field, point_label
from specinit.lab.results import config_hash

__all__ = ["SweepConfigError", "SweepSpec", "load_sweep", "parse_sweep"]

_TOP_KEYS = ("experiment", "quick", "seeds", "name", "modules", "set", "grid", "runs")


#: A sweep config that cannot run; the message names the offending key (the config parser's
#: :class:`~specinit.lab.config.ConfigError`).
SweepConfigError = ConfigError


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep: the experiment, its base config, the points and the seeds.

    ``base`` is the quick or full config with the ``[set]`` fields replaced; each point is the
    mapping of the fields it replaces on top (already converted to the fields' types).
    """

    name: str
    experiment: str
    quick: bool
    seeds: tuple[int, ...]
    base: Any
    points: tuple[Mapping[str, Any], ...]
    fixed: Mapping[str, Any]
    modules: tuple[str, ...] = ()
    text: str = ""


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep config from a ``.toml`` or ``.yaml``/``.yml`` file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError(f"sweep config {str(path)!r} does not exist")
    text = path.read_text()
    suffix = path.suffix.lower()
    if suffix == ".toml":
        data = _read_toml(text, path)
    elif suffix in (".yaml", ".yml"):
        data = _read_yaml(text, path)
    else:
        raise SweepConfigError(f"sweep config {path.name!r}: use a .toml, .yaml or .yml file")
    if not isinstance(data, MappingABC):
        raise SweepConfigError(
            f"sweep config {path.name!r} must be a table of keys, got {type(data).__name__}"
        )
    return parse_sweep(data, default_name=path.stem, text=text)


def _read_toml(text: str, path: Path) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the same API, a dependency on Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepConfigError(f"{path.name} is not valid TOML: {exc}") from None


def _read_yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SweepConfigError(f"{path.name} is not valid YAML: {exc}") from None


def parse_sweep(data: Mapping[str, Any], *, default_name: str = "sweep", text: str = "") -> SweepSpec:
    """Validate a sweep config given as a mapping; every error names the offending key.

    Values are checked against the experiment config's field types (a string is parsed like
    ``specinit reproduce --set`` does; a list for a tuple field gives a tuple).
    """
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise SweepConfigError(
            f"unknown key {unknown[0]!r} in the sweep config; known keys: {', '.join(_TOP_KEYS)}"
        )
    modules = tuple(_typed(data.get("modules", []), list, "modules"))
    for i, module in enumerate(modules):
        _typed(module, str, f"modules[{i}]")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise SweepConfigError(f"modules[{i}]: cannot import {module!r}: {exc}") from None
    if "experiment" not in data:
        raise SweepConfigError("missing key 'experiment' (a name from `specinit reproduce --list`)")
    name = _typed(data["experiment"], str, "experiment")
    try:
        exp = experiments.get(name)
    except ValueError as exc:
        raise SweepConfigError(f"experiment: {exc}") from None
    quick = _typed(data.get("quick", False), bool, "quick")
    sweep_name = _typed(data.get("name", default_name), str, "name")
    cfg = exp.config(quick=quick)
    if "seeds" not in {f.name for f in dataclasses.fields(cfg)}:
        raise SweepConfigError(f"experiment {name!r} has no 'seeds' field to sweep over")
    seeds = _seeds(data.get("seeds", list(cfg.seeds)))

    fixed = _overrides(cfg, _table(data.get("set", {}), "set"), "set")
    grid = _grid(cfg, data)
    runs = _typed(data.get("runs", [{}]), list, "runs")
    if not runs:
        raise SweepConfigError("runs: empty list; give at least one [[runs]] table or leave it out")
    listed = [_overrides(cfg, _table(run, f"runs[{i}]"), f"runs[{i}]") for i, run in enumerate(runs)]
    _check_places(fixed, grid, listed)

    base = dataclasses.replace(cfg, **fixed)
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    points = tuple({**run, **combo} for run in listed for combo in combos)
    seen: dict[str, Mapping[str, Any]] = {}
    for point in points:
        resolved = dataclasses.replace(base, **point, seeds=seeds[:1])
        twin = seen.setdefault(config_hash(resolved), point)
        if twin is not point:  # the same runs twice: one store row, two folders
            raise SweepConfigError(
                f"points {point_label(twin) or '(base config)'!r} and "
                f"{point_label(point) or '(base config)'!r} give the same config"
            )
        try:
            n_units = len(exp.units(resolved))
        except (ValueError, TypeError) as exc:
            raise SweepConfigError(f"point {point_label(point) or '(base config)'}: {exc}") from None
        if n_units == 0:
            raise SweepConfigError(f"point {point_label(point) or '(base config)'} has no units to run")
    return SweepSpec(sweep_name, name, quick, seeds, base, points, fixed, modules, text)


def _grid(cfg: Any, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The ``[grid]`` table: each field's non-empty list of values, converted to the field's type."""
    grid = _table(data.get("grid", {}), "grid")
    if "grid" in data and not grid:
        raise SweepConfigError("grid: empty table; give at least one field with a list of values")
    out = {}
    for key, values in grid.items():
        _typed(values, list, f"grid.{key}")
        if not values:
            raise SweepConfigError(f"grid.{key}: empty list; give at least one value")
        out[key] = [config_field(cfg, key, v, f"grid.{key}[{i}]") for i, v in enumerate(values)]
    return out


def _check_places(
    fixed: Mapping[str, Any], grid: Mapping[str, Any], listed: Sequence[Mapping[str, Any]]
) -> None:
    """Each field in one place (``[set]``, ``[grid]`` or ``[[runs]]``); ``seeds`` only at the top."""
    places = [("set", fixed), ("grid", grid), *((f"runs[{i}]", p) for i, p in enumerate(listed))]
    for where, keys in places:
        for key in keys:
            if key == "seeds":
                raise SweepConfigError(f"{where}.seeds: sweep seeds with the top-level 'seeds' key")
            if where != "set" and key in fixed:
                raise SweepConfigError(f"{where}.{key}: also given in [set]; give each field in one place")
            if where.startswith("runs") and key in grid:
                raise SweepConfigError(f"{where}.{key}: also in [grid]; give each field in one place")


def _typed(value: Any, kind: type, where: str) -> Any:
    if (kind is not bool and isinstance(value, bool)) or not isinstance(value, kind):
        raise SweepConfigError(
            f"{where}: expected {_kind_name(kind)}, got {value!r} ({type(value).__name__})"
        )
    return value


def _kind_name(kind: Any) -> str:
    names = {
        list: "a list",
        str: "a string",
        bool: "true or false",
        int: "an integer",
        float: "a number",
        MappingABC: "a table of fields",
    }
    return names.get(kind, getattr(kind, "__name__", str(kind)))


def _table(value: Any, where: str) -> Mapping[str, Any]:
    return _typed(value, MappingABC, where)


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise SweepConfigError(f"seeds: a count must be at least 1, got {value}")
        return tuple(range(value))
    seeds = _typed(value, list, "seeds")
    if not seeds:
        raise SweepConfigError("seeds: empty list; give at least one seed")
    for i, seed in enumerate(seeds):
        _typed(seed, int, f"seeds[{i}]")
        if seed < 0:
            raise SweepConfigError(f"seeds[{i}]: a seed must be >= 0, got {seed}")
    if len(set(seeds)) != len(seeds):
        raise SweepConfigError(f"seeds: repeated seed in {seeds}")
    return tuple(seeds)


def _overrides(cfg: Any, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``values`` converted to the types of ``cfg``'s fields; errors name ``where.key``."""
    return {key: config_field(cfg, key, value, f"{where}.{key}") for key, value in values.items()}
