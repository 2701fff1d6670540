"""Several experiments at once: ``specinit reproduce all``.

Before any work, every experiment's config is built, its units listed and its image data
checked and read once (checksums included), so a bad config or a missing or corrupt file stops
the suite in one line before minutes of work.  The experiments then run in worker processes
(spawned, ``min(cores, experiments)`` of them by default) with ``cores // workers`` torch
threads each, so the workers together do not oversubscribe the cores; each writes its own run
folder through :func:`specinit.lab.run` and is resumable as such.  An experiment that fails
becomes a failed :class:`Outcome` with its one-line error (the traceback goes to
``error.txt`` in its folder) and the others go on.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from specinit._core.checks import check_int
from specinit._core.records import compact_repr
from specinit.lab.results import Finding
from specinit.lab.runner import IMAGE_DATASETS, prepare, run
from specinit.lab.sweep import available_cores, threads_per_worker, worker_pool

__all__ = ["Outcome", "check_suite", "run_suite"]


@dataclass(frozen=True)
class Outcome:
    """One experiment of a suite: its folder, ``status`` (``"done"`` or ``"failed"``), the
    wall ``seconds`` of this invocation, the ``findings`` and, if it failed, a one-line ``error``.
    """

    name: str
    folder: Path
    status: str
    seconds: float
    findings: tuple[Finding, ...] = ()
    skipped: int = 0
    error: str = ""
    threads: int = field(default=1, repr=False)

    __repr__ = compact_repr


def check_suite(
    names: Sequence[str],
    *,
    quick: bool,
    seeds: int | None,
    data_dir: str | Path | None,
    device: str | None = None,
) -> None:
    """Raise (``ValueError``, ``FileNotFoundError``, ...) if any experiment cannot start.

    Builds each config (on ``device`` if given; it must be on this machine) and its units, and
    reads every image dataset the configs need once (which verifies the files' checksums),
    before anything runs.
    """
    needed: dict[str, Path | None] = {}
    for name in names:
        exp, cfg, context = prepare(
            name, quick=quick, seeds=seeds, data_dir=data_dir, overrides=_device(device)
        )
        for dataset, _, _ in exp.data_needs(cfg) if exp.data_needs is not None else ():
            needed[dataset] = context.data_dir
    for dataset, folder in needed.items():  # read once: checksums, truncated files
        IMAGE_DATASETS[dataset](data_dir=folder, limit_train=10, limit_test=10)


def _device(device: str | None) -> dict[str, str] | None:
    """The config override that puts an experiment on ``device`` (None: its own config's)."""
    return None if device is None else {"device": device}


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _run_one(
    name: str,
    quick: bool,
    seeds: int | None,
    folder: Path,
    data_dir: Path | None,
    threads: int,
    modules: tuple[str, ...] = (),
    unit_lines: bool = False,
    device: str | None = None,
) -> Outcome:
    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        for module in modules:  # experiments registered outside specinit (a spawned worker's imports)
            importlib.import_module(module)
        report = run(
            name,
            quick=quick,
            seeds=seeds,
            out=folder,
            progress=False,
            data_dir=data_dir,
            log=_stderr_line if unit_lines else None,
            overrides=_device(device),
        )
    except Exception as exc:  # one experiment's failure must not stop the others
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "error.txt").write_text(traceback.format_exc())
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return Outcome(
            name,
            folder,
            "failed",
            time.perf_counter() - start,
            error=f"{type(exc).__name__}: {first}" if first else type(exc).__name__,
            threads=threads,
        )
    return Outcome(
        name,
        report.path,
        "done",
        time.perf_counter() - start,
        findings=tuple(report.findings),
        skipped=report.skipped,
        threads=threads,
    )


def run_suite(
    names: Sequence[str],
    out: str | Path,
    *,
    quick: bool = False,
    seeds: int | None = None,
    data_dir: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_outcome: Callable[[Outcome], None] | None = None,
    modules: Sequence[str] = (),
    device: str | None = None,
) -> list[Outcome]:
    """Run experiments ``names`` into ``out/<name>``, ``workers`` at a time; outcomes in ``names`` order.

    :func:`check_suite` runs first.  ``workers`` defaults to ``min(cores, len(names))``; one
    worker runs in this process.  ``on_outcome`` is called as each experiment finishes.  On
    ``KeyboardInterrupt`` the finished experiments (and the finished units of the others) are
    kept; running the same suite again resumes.  Without ``progress`` each worker prints one
    line per finished unit to stderr instead of the bar.  ``modules`` are imported in each worker first
    (modules that register experiments of your own).  ``device`` replaces every config's
    ``device`` (``--device``; it must be on this machine).
    """
    names, extra = list(names), tuple(modules)
    for module in extra:
        importlib.import_module(module)
    if not names:
        raise ValueError("no experiments to run")
    check_suite(names, quick=quick, seeds=seeds, data_dir=data_dir, device=device)
    root = Path(out)
    data = Path(data_dir) if data_dir is not None else None
    n_workers = min(len(names), available_cores() if workers is None else check_int(workers, "workers"))
    threads = threads_per_worker(n_workers)
    bar = tqdm(total=len(names), desc="experiments", unit="exp", disable=not progress, dynamic_ncols=True)
    outcomes: dict[str, Outcome] = {}

    def finish(outcome: Outcome) -> None:
        outcomes[outcome.name] = outcome
        bar.update()
        if on_outcome is not None:
            on_outcome(outcome)

    try:
        if n_workers == 1:
            for name in names:
                finish(_run_one(name, quick, seeds, root / name, data, threads, extra, not progress, device))
        else:
            with worker_pool(n_workers) as pool:  # spawned; they exit if this process is killed
                pending: set[Future[Outcome]] = {
                    pool.submit(
                        _run_one, name, quick, seeds, root / name, data, threads, extra, not progress, device
                    )
                    for name in names
                }
                try:
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            finish(future.result())
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        bar.close()
    return [outcomes[name] for name in names]
