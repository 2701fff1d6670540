"""The resumable runner behind ``specinit reproduce``: run folders, progress, results and reports.

:func:`run` lists an experiment's units, skips those already finished in the run folder, runs
the rest one by one (each written at once, so an interrupted run loses nothing finished), then
writes the tidy tables, ``results.json`` and — through :mod:`specinit.lab.report`, the one owner
of ``report.md`` and ``report.html`` — the report.  A run folder is keyed on the experiment, its
config, the code that ran (:func:`specinit._core.fingerprint.code_fingerprint`) and, for image
experiments, the data they read (a data folder, or the embedded subset when none is given): a
folder made otherwise is refused, never mixed.  The seeds are not part of the key — each unit is
one seed — so running more seeds into a folder adds their units, and the results cover every
seed run there.  Each unit's compute time is stored with it, so the time a run reports is the
total over every invocation that worked on it.

Devices: an experiment config's ``device`` field (``--device``; default ``"cpu"``) is checked
against this machine before anything is written (:func:`specinit._core.placement.resolve_device`,
one line when it is absent) and handed to every unit in its :class:`Context`, which puts the
unit's data and models there (:meth:`Context.images`, :meth:`Context.place`).  The device is part
of the config, so of the run key: a folder made on one device is refused for another, never
mixed — results on a GPU differ from the CPU's in the last bits (other kernels, other summation
orders), so a unit from one is no resumable part of a run on the other.  ``results.json``
records the device the run used (``device``, also in ``environment``, so a sweep's store has it).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

from specinit._core.fingerprint import code_fingerprint
from specinit._core.placement import resolve_device, to_device
from specinit._core.records import compact_repr
from specinit.data import (
    CIFAR_DATASETS,
    DataSource,
    Split,
    check_cifar,
    cifar10,
    cifar100,
    data_source,
    fashion_mnist,
    mnist,
)
from specinit.data.images import ENV_VAR, FULL_SIZES
from specinit.lab.config import ConfigError, config_json
from specinit.lab.experiment import Experiment, Unit, get
from specinit.lab.report import write_run_report
from specinit.lab.results import Finding, RunDir, environment, unit_filename

__all__ = [
    "Context",
    "RunReport",
    "run",
    "prepare",
    "default_out",
    "device_label",
    "IMAGE_DATASETS",
    "IMAGE_SHAPES",
]

T = TypeVar("T")

#: The image datasets experiments read, by config name.
IMAGE_DATASETS: dict[str, Callable[..., Split]] = {
    "mnist": mnist,
    "fashion_mnist": fashion_mnist,
    "cifar10": cifar10,
    "cifar100": cifar100,
}

#: The ``(channels, height, width)`` of one image of each dataset (the loaders give them flat).
IMAGE_SHAPES: dict[str, tuple[int, int, int]] = {
    "mnist": (1, 28, 28),
    "fashion_mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
    "cifar100": (3, 32, 32),
}


def device_label(device: torch.device) -> str:
    """``"cpu"``, or a GPU's name after its device (``"cuda:0 (NVIDIA H100 80GB HBM3)"``)."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


@dataclass(frozen=True)
class Context:
    """What a run gives each unit besides its config: where the image data lives and the device
    its models and data go to.

    ``data_dir`` is the folder holding ``mnist/``, ``fashion-mnist/`` and the CIFAR folders
    (``--data-dir``), else ``$SPECINIT_DATA``, else the subset embedded in the package
    (:func:`specinit.data.data_source`; MNIST and Fashion-MNIST only).  ``device`` is the
    config's (``--device``), checked by :func:`prepare`.
    """

    data_dir: Path | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def place(self, obj: T) -> T:
        """``obj`` on the run's device: a model (moved in place), a tensor, a record of tensors
        (a :class:`~specinit.data.Split`) or a tuple/list/dict of them (:func:`to_device`).
        Models are built and initialized on the CPU from their seed and then placed, so a seed
        gives the same starting weights on every device.
        """
        return to_device(obj, self.device)

    @property
    def source(self) -> DataSource:
        """Where the image loaders read (a data folder or the embedded subset)."""
        return data_source(self.data_dir)

    @property
    def data_root(self) -> Path:
        """The data folder the image loaders read: ``data_dir``, else ``$SPECINIT_DATA``, else
        the embedded subset's folder inside the package.
        """
        return self.source.root

    def describe_data(self) -> dict[str, Any]:
        """The data the image loaders read, for ``results.json``, the report and the run key.

        ``root`` is what runs are keyed on (the resolved data folder, or ``embedded:<hash>``);
        ``source`` the sentence the report shows; ``embedded`` whether it is the subset.
        """
        source = self.source
        if source.embedded:
            text = (
                f"MNIST / Fashion-MNIST: {source.describe()} per dataset (class-balanced, "
                "shipped with specinit; not the full sets: pass --data-dir or set "
                f"{ENV_VAR} for those)"
            )
        else:
            text = f"MNIST / Fashion-MNIST: {source.describe()} ({source.origin})"
        return {"root": source.key, "source": text, "embedded": source.embedded}

    def images(self, dataset: str, limit_train: int | None, limit_test: int | None, seed: int = 0) -> Split:
        """A flattened split of ``dataset`` (pixels in [0, 1]; :data:`IMAGE_SHAPES` gives the
        image shape) on the run's device, class-balanced subsets of the given sizes drawn with
        ``seed``; cached per process (on the CPU) on the data source and the arguments.

        A limit of ``None`` means the whole official split (60,000 / 10,000 images): on the
        embedded subset that, or a limit above its size, raises
        :class:`~specinit.data.FullDataRequired` (one line naming ``--data-dir``) before any
        file is read — the one check every image experiment goes through.
        """
        self.check(dataset, limit_train, limit_test)
        return self.place(_images(self.source.root, dataset, limit_train, limit_test, seed))

    def check(self, dataset: str, limit_train: int | None, limit_test: int | None) -> None:
        """Raise unless the data source holds ``limit_train`` / ``limit_test`` images of
        ``dataset`` (``None``: the whole official split) — on the embedded subset a one-line
        :class:`~specinit.data.FullDataRequired` naming ``--data-dir``.
        """
        if dataset not in IMAGE_DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(IMAGE_DATASETS)}")
        if dataset in CIFAR_DATASETS:  # no embedded subset; files checked by name, then by MD5
            check_cifar(self.source, dataset, limit_train, limit_test)
            return
        full_train, full_test = FULL_SIZES[dataset.replace("_", "-")]
        self.source.require(
            dataset,
            full_train if limit_train is None else limit_train,
            full_test if limit_test is None else limit_test,
        )
        self.source.check_files(dataset)  # missing files: one error naming them, before any work


@functools.lru_cache(maxsize=8)
def _images(root: Path, dataset: str, limit_train: int | None, limit_test: int | None, seed: int) -> Split:
    return IMAGE_DATASETS[dataset](
        data_dir=root, flatten=True, limit_train=limit_train, limit_test=limit_test, generator=seed
    )


@dataclass(frozen=True)
class RunReport:
    """Where a run wrote its results and what it found.

    ``seconds`` is the run's compute time over every invocation that worked on it (each unit's
    own time, wherever it ran, plus this invocation's summary); ``invocation_seconds`` the wall
    time of this call alone; ``skipped`` the finished units it reused.
    """

    name: str
    path: Path
    rows: list[dict[str, Any]]
    findings: list[Finding]
    seconds: float
    skipped: int
    invocation_seconds: float = 0.0

    __repr__ = compact_repr


def prepare(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    config: Any = None,
    overrides: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
    scale: str | None = None,
) -> tuple[Experiment, Any, Context]:
    """What :func:`run` checks before anything is written: the experiment, its validated config,
    and the run's :class:`Context` on the config's ``device`` (refused in one line,
    :class:`~specinit._core.placement.DeviceUnavailableError`, when this machine lacks it) whose
    data source holds the images the config reads.
    """
    exp = get(name)
    if config is not None and (quick or seeds is not None or overrides or scale is not None):
        raise ValueError("pass either config= or quick=/scale=/seeds=/overrides=, not both")
    cfg = (
        exp.validate(config)
        if config is not None
        else exp.config(quick=quick, scale=scale, seeds=seeds, overrides=overrides)
    )
    device = resolve_device(getattr(cfg, "device", "cpu"))
    context = Context(Path(data_dir) if data_dir is not None else None, device)
    for dataset, n_train, n_test in exp.data_needs(cfg) if exp.data_needs is not None else ():
        try:
            context.check(dataset, n_train, n_test)
        except FileNotFoundError:
            raise
        except ValueError as exc:  # more images than the data folder holds
            raise ConfigError(str(exc)) from None
    return exp, cfg, context


def run(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    config: Any = None,
    overrides: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    scale: str | None = None,
) -> RunReport:
    """Run (or resume) experiment ``name`` into ``out`` and write its results and report.

    ``overrides`` replaces config fields (strings parsed by the field's type,
    :func:`specinit.lab.config.replace_fields`); ``data_dir`` is the folder of the image data
    (else ``$SPECINIT_DATA``, else the embedded subset, which refuses configs that need more
    images than it holds).  The config is checked (:meth:`Experiment.validate
    <specinit.lab.experiment.Experiment.validate>`) before anything is written.  ``out`` may
    hold a run of the same config with other seeds: its units are reused and the results cover
    every seed run there.  ``scale`` picks a named config (``"quick"``, ``"paper"``; see
    :attr:`Experiment.scales <specinit.lab.experiment.Experiment.scales>`).  The config's
    ``device`` must be on this machine; the units run there.  ``log``, if given, is called with
    one line per finished unit (``inr-depth: unit 3/12 (activation=relu, depth=4, seed=0) done
    in 2.1 s``).
    """
    exp, cfg, context = prepare(
        name, quick=quick, seeds=seeds, config=config, overrides=overrides, data_dir=data_dir, scale=scale
    )
    out = Path(out) if out is not None else default_out(name, "quick" if quick else scale, context.device)
    start = time.perf_counter()
    run_dir = RunDir(out, _identity(name, cfg, context, exp.images), seeds=getattr(cfg, "seeds", None))
    if hasattr(cfg, "seeds") and tuple(cfg.seeds) != run_dir.seeds:  # the folder holds more seeds
        cfg = dataclasses.replace(cfg, seeds=run_dir.seeds)
    units = exp.units(cfg)
    keys = [u.key for u in units]
    if len({unit_filename(k) for k in keys}) != len(keys):
        raise RuntimeError(f"experiment {name!r} produced duplicate unit keys")
    todo = [u for u in units if not run_dir.has(u.key)]
    finished = len(units) - len(todo)
    bar = tqdm(todo, desc=name, unit="unit", disable=not progress, dynamic_ncols=True)
    previous_denormal = torch.set_flush_denormal(True)  # Gaussian activations make denormals
    try:
        for unit in bar:
            bar.set_postfix_str(unit.key, refresh=False)
            unit_start = time.perf_counter()
            row, arrays = exp.run_unit(cfg, unit, context)
            seconds = time.perf_counter() - unit_start
            run_dir.save_unit(unit.key, {"unit": unit.key, **row, "seconds": round(seconds, 3)}, arrays)
            finished += 1
            if log is not None:
                log(f"{name}: unit {finished}/{len(units)} ({_describe(unit)}) done in {seconds:.1f} s")
    finally:
        torch.set_flush_denormal(previous_denormal)
        bar.close()
    summary_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    unit_arrays: dict[str, dict[str, np.ndarray]] = {}
    for key in keys:
        row, unit_arrays[key] = run_dir.load_unit(key)
        rows.append(row)
    run_dir.write_table("results", rows)
    summary = exp.summarize(cfg, rows, unit_arrays, run_dir)
    unit_seconds = sum(float(r.get("seconds", 0.0)) for r in rows)
    seconds = unit_seconds + time.perf_counter() - summary_start
    run_dir.write_results(
        {
            "experiment": name,
            "title": exp.title,
            "source": exp.source,
            "config_hash": run_dir.hash,
            "config": cfg,
            "seeds": list(getattr(cfg, "seeds", ())),
            "code": code_fingerprint(),
            **({"data": context.describe_data()} if exp.images else {}),
            "device": device_label(context.device),
            "environment": {**environment(), "device": device_label(context.device)},
            "metrics": summary.metrics,
            "findings": summary.findings,
            "tables": summary.tables,
            "figures": summary.figures,
            "rows": rows,
            "seconds": seconds,
            "unit_seconds": unit_seconds,
            "invocation_seconds": time.perf_counter() - start,
            "reused_units": len(units) - len(todo),
        }
    )
    write_run_report(run_dir.path)
    invocation = time.perf_counter() - start
    return RunReport(name, run_dir.path, rows, summary.findings, seconds, len(units) - len(todo), invocation)


def default_out(name: str, scale: str | None, device: torch.device) -> Path:
    """``runs/<name>[-<scale>][-<device>]``: the scale unless default, the device unless the CPU
    (``runs/random-label-paper-cuda``), so runs of different scales or devices never share a folder.
    """
    parts = [name, *([scale] if scale not in (None, "default") else [])]
    if device.type != "cpu":
        parts.append(str(device).replace(":", ""))
    return Path("runs") / "-".join(parts)


def _identity(name: str, cfg: Any, context: Context, images: bool) -> dict[str, Any]:
    """What a run folder is keyed on: the experiment, the config less its seeds, the version,
    the code's fingerprint and, for an image experiment, the data it reads.
    """
    from specinit import __version__

    config: Any = cfg
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        config = {k: v for k, v in config_json(cfg).items() if k != "seeds"}
    identity: dict[str, Any] = {
        "experiment": name,
        "config": config,
        "specinit": __version__,
        "code": code_fingerprint(),
    }
    if images:
        identity["data"] = context.describe_data()["root"]
    return identity


def _describe(unit: Unit) -> str:
    """A unit's case and seed as ``k1=v1, k2=v2, seed=s``."""
    return ", ".join(f"{k}={v}" for k, v in unit.params.items()) if unit.params else unit.key
