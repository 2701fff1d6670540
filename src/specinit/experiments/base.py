"""The experiment registry and the resumable runner behind ``specinit reproduce``.

An experiment is data, not a class tree: a default and a quick config, a function listing
its units (one case × seed each), a function running one unit, and a function turning the
finished units into tables, figures and findings.  The runner owns everything else: the run
folder, skipping finished units, progress, ``results.json``, the CSV tables and the report.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from specinit.results import Finding, RunDir, environment, unit_filename

__all__ = [
    "Experiment",
    "Unit",
    "Summary",
    "RunReport",
    "register",
    "register_module",
    "get",
    "names",
    "run",
    "seeds_units",
    "with_overrides",
]


@dataclass(frozen=True)
class Unit:
    """One independent piece of an experiment (a case and a seed)."""

    key: str
    params: Mapping[str, Any]


@dataclass
class Summary:
    """What an experiment shows people: tables (Markdown), figures and checked findings."""

    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: configs plus the three functions the runner calls."""

    name: str
    title: str
    source: str
    default: Any
    quick: Any
    units: Callable[[Any], list[Unit]]
    run_unit: Callable[[Any, Unit], tuple[dict[str, Any], dict[str, np.ndarray]]]
    summarize: Callable[[Any, list[dict[str, Any]], dict[str, dict[str, np.ndarray]], RunDir], Summary]

    def config(
        self, *, quick: bool = False, seeds: int | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Any:
        """The quick or default config, with ``seeds`` replaced by ``range(seeds)`` if given
        and then the fields in ``overrides`` replaced (see :func:`with_overrides`)."""
        cfg = self.quick if quick else self.default
        if seeds is not None:
            if seeds < 1:
                raise ValueError(f"--seeds must be at least 1, got {seeds}")
            cfg = dataclasses.replace(cfg, seeds=tuple(range(seeds)))
        return with_overrides(cfg, overrides or {})


def with_overrides(cfg: Any, overrides: Mapping[str, Any]) -> Any:
    """``cfg`` (a dataclass) with fields replaced; string values are parsed like the field.

    A string for a tuple field is split at commas, each item parsed like the field's current
    items; ``"none"`` gives ``None``; numbers and booleans (``true``/``false``) are parsed
    for number/boolean fields, and for ``None``-valued fields an integer or float if the text
    is one.  An unknown field or an unparsable value is a ``ValueError`` naming it.
    """
    fields = {f.name for f in dataclasses.fields(cfg)}
    changes = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ValueError(f"unknown config field {key!r}; fields: {', '.join(sorted(fields))}")
        current = getattr(cfg, key)
        changes[key] = _parse_like(current, value, key) if isinstance(value, str) else value
    return dataclasses.replace(cfg, **changes)


def _parse_like(current: Any, text: str, key: str) -> Any:
    if text.strip().lower() == "none":
        return None
    if isinstance(current, tuple):
        sample = current[0] if current else ""
        return tuple(_parse_like(sample, item.strip(), key) for item in text.split(",") if item.strip())
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if current is None:
            return int(text) if text.lstrip("-").isdigit() else float(text)
    except ValueError:
        kind = "a number" if current is None else type(current).__name__
        raise ValueError(f"config field {key!r}: cannot parse {text!r} as {kind}") from None
    return text


@dataclass(frozen=True)
class RunReport:
    """Where a run wrote its results and what it found."""

    name: str
    path: Path
    rows: list[dict[str, Any]]
    findings: list[Finding]
    seconds: float
    skipped: int


_REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (its name must be new)."""
    if experiment.name in _REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    _REGISTRY[experiment.name] = experiment
    return experiment


def register_module(
    module_name: str, *, name: str, title: str, source: str, default: Any, quick: Any
) -> Experiment:
    """Register the experiment whose ``units``, ``run_unit`` and ``summarize`` are the
    module-level functions of ``module_name`` (call it as ``register_module(__name__, ...)``)."""
    module = sys.modules[module_name]
    return register(
        Experiment(name, title, source, default, quick, module.units, module.run_unit, module.summarize)
    )


def get(name: str) -> Experiment:
    """The registered experiment ``name``; a clear error lists the known ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]


def names() -> list[str]:
    return list(_REGISTRY)


def _report_markdown(exp: Experiment, cfg: Any, summary: Summary, seconds: float) -> str:
    lines = [f"# {exp.title}", "", f"Source: {exp.source}.", ""]
    lines += ["## Findings", ""]
    lines += [finding.markdown() for finding in summary.findings]
    for caption, table in summary.tables:
        lines += ["", f"## {caption}", "", table]
    for caption, filename in summary.figures:
        lines += ["", f"### {caption}", "", f"![{caption}]({filename})"]
    lines += ["", "## Config", "", "```", *_config_lines(cfg), "```", ""]
    lines.append(f"Ran in {seconds:.1f} s (this invocation; finished units are reused).")
    return "\n".join(lines) + "\n"


def _config_lines(cfg: Any) -> list[str]:
    return [f"{f.name} = {getattr(cfg, f.name)!r}" for f in dataclasses.fields(cfg)]


def run(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    config: Any = None,
    overrides: Mapping[str, Any] | None = None,
) -> RunReport:
    """Run (or resume) experiment ``name`` into ``out`` and write its results and report.

    ``overrides`` replaces config fields (strings parsed like the field, :func:`with_overrides`).
    """
    exp = get(name)
    if config is not None and (quick or seeds is not None or overrides):
        raise ValueError("pass either config= or quick=/seeds=/overrides=, not both")
    cfg = config if config is not None else exp.config(quick=quick, seeds=seeds, overrides=overrides)
    out = Path(out) if out is not None else Path("runs") / (f"{name}-quick" if quick else name)
    units = exp.units(cfg)  # validates the config before anything is written
    from specinit import __version__

    run_dir = RunDir(out, {"experiment": name, "config": cfg, "specinit": __version__})
    keys = [u.key for u in units]
    if len({unit_filename(k) for k in keys}) != len(keys):
        raise RuntimeError(f"experiment {name!r} produced duplicate unit keys")
    start = time.perf_counter()
    todo = [u for u in units if not run_dir.has(u.key)]
    bar = tqdm(todo, desc=name, unit="unit", disable=not progress, dynamic_ncols=True)
    previous_denormal = torch.set_flush_denormal(True)  # Gaussian activations make denormals
    try:
        for unit in bar:
            bar.set_postfix_str(unit.key, refresh=False)
            unit_start = time.perf_counter()
            row, arrays = exp.run_unit(cfg, unit)
            row = {"unit": unit.key, **row, "seconds": round(time.perf_counter() - unit_start, 3)}
            run_dir.save_unit(unit.key, row, arrays)
    finally:
        torch.set_flush_denormal(previous_denormal)
        bar.close()
    rows, arrays = [], {}
    for key in keys:
        row, arr = run_dir.load_unit(key)
        rows.append(row)
        arrays[key] = arr
    run_dir.write_table("results", rows)
    summary = exp.summarize(cfg, rows, arrays, run_dir)
    seconds = time.perf_counter() - start
    run_dir.write_results(
        {
            "experiment": name,
            "title": exp.title,
            "source": exp.source,
            "config_hash": run_dir.hash,
            "config": cfg,
            "seeds": list(getattr(cfg, "seeds", ())),
            "environment": environment(),
            "metrics": summary.metrics,
            "findings": summary.findings,
            "rows": rows,
            "seconds": seconds,
        }
    )
    (run_dir.path / "report.md").write_text(_report_markdown(exp, cfg, summary, seconds))
    return RunReport(name, run_dir.path, rows, summary.findings, seconds, len(units) - len(todo))


def seeds_units(cases: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> list[Unit]:
    """Units for every case × seed, keyed ``k1=v1,k2=v2,seed=s``."""
    units = []
    for case in cases:
        for seed in seeds:
            key = ",".join(f"{k}={v}" for k, v in case.items()) + f",seed={seed}"
            units.append(Unit(key, {**case, "seed": seed}))
    return units
