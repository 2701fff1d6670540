"""The experiment registry: an experiment is data, not a class tree.

An :class:`Experiment` is a default and a quick config (and, for some, a ``paper`` one: the papers'
own scale, a GPU run), a function listing its units (one case
× seed each), a function running one unit and a function turning the finished units into
tables, figures and findings (a :class:`Summary`).  The runner (:mod:`specinit.lab.runner`)
owns everything else.  The built-in experiments (:mod:`specinit.lab.experiments`) are loaded on
the first lookup, so importing the lab costs nothing until an experiment is used.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specinit._core.placement import device_name
from specinit.lab.config import ConfigError, replace_fields
from specinit.lab.results import Finding, RunDir

__all__ = [
    "Experiment",
    "DataNeed",
    "Unit",
    "Summary",
    "register",
    "register_module",
    "get",
    "names",
    "seeds_units",
    "SCALES",
]

#: The named configs an experiment may have: ``default`` (the documented full run), ``quick``
#: (about a minute on a CPU) and ``paper`` (the papers' own scale; a GPU run, where registered).
SCALES = ("default", "quick", "paper")


@dataclass(frozen=True)
class Unit:
    """One independent piece of an experiment (a case and a seed)."""

    key: str
    params: Mapping[str, Any]


@dataclass
class Summary:
    """What an experiment shows people: tables (caption, Markdown), figures (caption, PNG file
    name in the run folder), checked findings and machine-readable metrics.
    """

    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


RunUnit = Callable[[Any, Unit, Any], tuple[dict[str, Any], dict[str, np.ndarray]]]
#: ``(dataset, training images, test images)`` a config reads (``None``: the whole split).
DataNeed = tuple[str, "int | None", "int | None"]


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: configs plus the three functions the runner calls.

    ``run_unit(cfg, unit, context)`` gets the run's :class:`~specinit.lab.runner.Context` (where
    the image data lives).  ``data_needs(cfg)``, for an experiment that reads MNIST /
    Fashion-MNIST, lists the :data:`DataNeed` s of a config: the runner checks them against the
    data source before anything is written, and keys the run on the data it read.
    ``check(cfg)`` raises ``ValueError`` for a config that cannot run (:meth:`validate`).
    """

    name: str
    title: str
    source: str
    default: Any
    quick: Any
    units: Callable[[Any], list[Unit]]
    run_unit: RunUnit
    summarize: Callable[[Any, list[dict[str, Any]], dict[str, dict[str, np.ndarray]], RunDir], Summary]
    data_needs: Callable[[Any], list[DataNeed]] | None = None
    check: Callable[[Any], None] | None = None
    paper: Any = None

    @property
    def images(self) -> bool:
        """Whether the experiment reads image data (it has ``data_needs``)."""
        return self.data_needs is not None

    @property
    def scales(self) -> dict[str, Any]:
        """The experiment's named configs: ``default``, ``quick`` and, where it has one, ``paper``."""
        named = {"default": self.default, "quick": self.quick, "paper": self.paper}
        return {k: v for k, v in named.items() if v is not None}

    def config(
        self,
        *,
        quick: bool = False,
        seeds: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        scale: str | None = None,
    ) -> Any:
        """The config of ``scale`` (one of :data:`SCALES` the experiment has; ``quick=True`` is
        ``scale="quick"``; default: ``"default"``), with ``seeds`` replaced by ``range(seeds)``
        if given and then the fields in ``overrides`` replaced
        (:func:`specinit.lab.config.replace_fields`: strings are parsed by the field's type,
        ``task.step`` names a nested field), checked by :meth:`validate`.
        """
        cfg = self.scales[self.scale_name(quick=quick, scale=scale)]
        if seeds is not None:
            if seeds < 1:
                raise ValueError(f"--seeds must be at least 1, got {seeds}")
            cfg = dataclasses.replace(cfg, seeds=tuple(range(seeds)))
        return self.validate(replace_fields(cfg, overrides or {}))

    def scale_name(self, *, quick: bool = False, scale: str | None = None) -> str:
        """The scale ``quick`` / ``scale`` select (``"default"`` when neither), or a ``ValueError``
        naming the scales this experiment has.
        """
        if quick and scale not in (None, "quick"):
            raise ValueError(f"quick=True and scale={scale!r} disagree; give one of them")
        name = "quick" if quick else (scale or "default")
        if name not in self.scales:
            known = ", ".join(self.scales)
            raise ValueError(
                f"{self.name} has no {name!r} scale; its scales: {known}"
                if name in SCALES
                else f"unknown scale {name!r}; choose from {', '.join(SCALES)}"
            )
        return name

    def validate(self, cfg: Any) -> Any:
        """``cfg`` if it can run, else the ``ValueError`` of the first value that cannot.

        Runs before any work (:meth:`config` and the runner call it): ``seeds`` must be
        non-empty and distinct, a ``device`` field must name a device (whether this machine has
        it is the runner's question, :func:`specinit.lab.runner.prepare`), the experiment's
        ``check`` (its module's ``check_config``, built on :mod:`specinit.lab.checks`) must pass
        and its units must list.
        """
        seeds = getattr(cfg, "seeds", None)
        if seeds is not None:
            if len(seeds) == 0:
                raise ValueError("seeds is empty; give at least one seed")
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"seeds holds a seed twice: {tuple(seeds)}")
        if hasattr(cfg, "device"):
            try:
                device_name(cfg.device)
            except ValueError as exc:
                raise ConfigError(f"device: {exc}") from None
        if self.check is not None:
            self.check(cfg)
        self.units(cfg)  # some experiments check their config here
        return cfg


_REGISTRY: dict[str, Experiment] = {}
_BUILTIN = "specinit.lab.experiments"


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (its name must be new)."""
    if experiment.name in _REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    _REGISTRY[experiment.name] = experiment
    return experiment


def register_module(
    module_name: str,
    *,
    name: str,
    title: str,
    source: str,
    default: Any,
    quick: Any,
    paper: Any = None,
) -> Experiment:
    """Register the experiment whose ``units``, ``run_unit``, ``summarize`` (and, if it reads
    image data, ``data_needs``; if it checks its configs, ``check_config``) are the module-level
    functions of ``module_name`` (call it as ``register_module(__name__, ...)``); ``paper`` is
    its paper-scale config, if it has one (``specinit reproduce NAME --scale paper``).
    """
    module = sys.modules[module_name]
    return register(
        Experiment(
            name,
            title,
            source,
            default,
            quick,
            module.units,
            module.run_unit,
            module.summarize,
            getattr(module, "data_needs", None),
            getattr(module, "check_config", None),
            paper,
        )
    )


def _load_builtin() -> None:
    importlib.import_module(_BUILTIN)


def get(name: str) -> Experiment:
    """The registered experiment ``name``; a clear error lists the known ones."""
    _load_builtin()
    if name not in _REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]


def names() -> list[str]:
    """The registered experiments, the built-in ones first, in registration order."""
    _load_builtin()
    return list(_REGISTRY)


def seeds_units(cases: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> list[Unit]:
    """Units for every case × seed, keyed ``k1=v1,k2=v2,seed=s``."""
    units = []
    for case in cases:
        for seed in seeds:
            key = ",".join(f"{k}={v}" for k, v in case.items()) + f",seed={seed}"
            units.append(Unit(key, {**case, "seed": seed}))
    return units
