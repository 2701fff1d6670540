"""The resumable runner behind ``specinit reproduce``: run folders, progress, results and reports.

:func:`run` lists an experiment's units, skips those already finished in the run folder, runs
the rest one by one (each written at once, so an interrupted run loses nothing finished), then
writes the tidy tables, ``results.json`` and — through :mod:`specinit.lab.report`, the one owner
of ``report.md`` and ``report.html`` — the report.  A run folder is keyed on the experiment, its
config, the code that ran (:func:`specinit._core.fingerprint.code_fingerprint`) and, for image
experiments, the data they read (a data folder, or the embedded subset when none is given): a
folder made otherwise is refused, never mixed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from specinit._core.fingerprint import code_fingerprint
from specinit._core.records import compact_repr
from specinit.data import DataSource, Split, data_source, fashion_mnist, mnist
from specinit.data.images import ENV_VAR, FULL_SIZES
from specinit.lab.experiment import get
from specinit.lab.report import write_run_report
from specinit.lab.results import Finding, RunDir, environment, unit_filename

__all__ = ["Context", "RunReport", "run", "IMAGE_DATASETS"]

#: The image datasets experiments read, by config name.
IMAGE_DATASETS = {"mnist": mnist, "fashion_mnist": fashion_mnist}


@dataclass(frozen=True)
class Context:
    """What a run gives each unit besides its config: where the image data lives.

    ``data_dir`` is the folder holding ``mnist/`` and ``fashion-mnist/`` (``--data-dir``), else
    ``$SPECINIT_DATA``, else the subset embedded in the package
    (:func:`specinit.data.data_source`).
    """

    data_dir: Path | None = None

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
        """A flattened split of ``dataset`` (pixels in [0, 1]), class-balanced subsets of the given
        sizes drawn with ``seed``; cached per process on the data source and the arguments.

        A limit of ``None`` means the whole official split (60,000 / 10,000 images): on the
        embedded subset that, or a limit above its size, raises
        :class:`~specinit.data.FullDataRequired` (one line naming ``--data-dir``) before any
        file is read — the one check every image experiment goes through.
        """
        self.check(dataset, limit_train, limit_test)
        return _images(self.source.root, dataset, limit_train, limit_test, seed)

    def check(self, dataset: str, limit_train: int | None, limit_test: int | None) -> None:
        """Raise unless the data source holds ``limit_train`` / ``limit_test`` images of
        ``dataset`` (``None``: the whole official split) — on the embedded subset a one-line
        :class:`~specinit.data.FullDataRequired` naming ``--data-dir``.
        """
        if dataset not in IMAGE_DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(IMAGE_DATASETS)}")
        full_train, full_test = FULL_SIZES[dataset.replace("_", "-")]
        self.source.require(
            dataset,
            full_train if limit_train is None else limit_train,
            full_test if limit_test is None else limit_test,
        )


@functools.lru_cache(maxsize=8)
def _images(root: Path, dataset: str, limit_train: int | None, limit_test: int | None, seed: int) -> Split:
    return IMAGE_DATASETS[dataset](
        data_dir=root, flatten=True, limit_train=limit_train, limit_test=limit_test, generator=seed
    )


@dataclass(frozen=True)
class RunReport:
    """Where a run wrote its results and what it found."""

    name: str
    path: Path
    rows: list[dict[str, Any]]
    findings: list[Finding]
    seconds: float
    skipped: int

    __repr__ = compact_repr


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
) -> RunReport:
    """Run (or resume) experiment ``name`` into ``out`` and write its results and report.

    ``overrides`` replaces config fields (strings parsed by the field's type,
    :func:`specinit.lab.config.replace_fields`); ``data_dir`` is the folder of the image data
    (else ``$SPECINIT_DATA``, else the embedded subset, which refuses configs that need more
    images than it holds).
    """
    exp = get(name)
    if config is not None and (quick or seeds is not None or overrides):
        raise ValueError("pass either config= or quick=/seeds=/overrides=, not both")
    cfg = config if config is not None else exp.config(quick=quick, seeds=seeds, overrides=overrides)
    out = Path(out) if out is not None else Path("runs") / (f"{name}-quick" if quick else name)
    context = Context(Path(data_dir) if data_dir is not None else None)
    units = exp.units(cfg)  # validates the config before anything is written
    for dataset, n_train, n_test in exp.data_needs(cfg) if exp.data_needs is not None else ():
        context.check(dataset, n_train, n_test)  # refuse before anything is written
    from specinit import __version__

    identity: dict[str, Any] = {
        "experiment": name,
        "config": cfg,
        "specinit": __version__,
        "code": code_fingerprint(),
    }
    if exp.images:
        identity["data"] = context.describe_data()["root"]
    run_dir = RunDir(out, identity)
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
            row, arrays = exp.run_unit(cfg, unit, context)
            row = {"unit": unit.key, **row, "seconds": round(time.perf_counter() - unit_start, 3)}
            run_dir.save_unit(unit.key, row, arrays)
    finally:
        torch.set_flush_denormal(previous_denormal)
        bar.close()
    rows: list[dict[str, Any]] = []
    unit_arrays: dict[str, dict[str, np.ndarray]] = {}
    for key in keys:
        row, unit_arrays[key] = run_dir.load_unit(key)
        rows.append(row)
    run_dir.write_table("results", rows)
    summary = exp.summarize(cfg, rows, unit_arrays, run_dir)
    seconds = time.perf_counter() - start
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
            "environment": environment(),
            "metrics": summary.metrics,
            "findings": summary.findings,
            "tables": summary.tables,
            "figures": summary.figures,
            "rows": rows,
            "seconds": seconds,
        }
    )
    write_run_report(run_dir.path)
    return RunReport(name, run_dir.path, rows, summary.findings, seconds, len(units) - len(todo))
