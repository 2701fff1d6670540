"""Sweeps: one experiment over a grid or a list of config overrides and seeds, resumable.

The sweep file (TOML or YAML) is read by :mod:`specinit.lab.sweep_spec` into a
:class:`SweepSpec`.

A *run* is one point × one seed: the experiment's config with the point's fields replaced and
``seeds = (seed,)``.  It is executed by :func:`specinit.lab.run` into ``OUT/runs/<label>-<key>`` and
recorded in ``OUT/sweep.sqlite`` (:class:`~specinit.lab.store.RunStore`) once it has finished, keyed
by the hash of (experiment, resolved config, seed, the code's fingerprint, and for image experiments
the data folder).  Runs already recorded as done are skipped, failed ones are tried again, so a
killed sweep resumes by running the same command.  Runs execute in local worker processes (default
``min(cores, runs)``) or as Ray tasks (``backend="ray"``), and the driver alone writes the store.
On Ray each task reserves ``num_cpus`` CPUs (its torch threads) and ``num_gpus`` GPUs, so a
sweep of runs on ``device="cuda"`` fans out over the cluster's GPUs: Ray gives each task its own
GPU(s) through ``CUDA_VISIBLE_DEVICES``, where the run's ``cuda`` is the first of them.  The
rows are the local backend's for the same config (same seeds, same code).
A local worker exits within a second of its driver's death (even a ``kill -9``), so a killed
sweep leaves no process behind.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import multiprocessing
import os
import re
import tarfile
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from specinit._core.checks import check_int
from specinit._core.extras import needs_extra
from specinit._core.fingerprint import code_fingerprint
from specinit._core.placement import device_name, resolve_device
from specinit.lab import experiment as experiments
from specinit.lab.config import config_json, point_label
from specinit.lab.results import config_hash, environment
from specinit.lab.runner import Context
from specinit.lab.runner import run as run_experiment
from specinit.lab.store import STORE_NAME, RunRecord, RunStore
from specinit.lab.sweep_spec import SweepConfigError, SweepSpec, load_sweep, parse_sweep

__all__ = [
    "SweepConfigError",
    "SweepSpec",
    "RunSpec",
    "SweepSummary",
    "load_sweep",
    "parse_sweep",
    "plan",
    "execute",
    "run_sweep",
    "available_cores",
    "on_device",
    "run_devices",
    "default_workers",
    "threads_per_worker",
    "worker_pool",
    "BACKENDS",
]

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: an experiment config with one seed, and where it writes."""

    key: str
    experiment: str
    label: str
    point: Mapping[str, Any]
    seed: int
    config: Any
    folder: str
    n_units: int
    modules: tuple[str, ...] = ()
    data_dir: str | None = None


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep invocation did: runs finished now, skipped (already done) and failed."""

    out: Path
    store: Path
    done: int
    skipped: int
    failed: int
    seconds: float
    failures: tuple[RunRecord, ...]


# ---------------------------------------------------------------------------- planning


def on_device(spec: SweepSpec, device: str) -> SweepSpec:
    """``spec`` with every run's config on ``device`` (``--device``): the base config's ``device``
    replaced; a ``ValueError`` when the sweep file itself sets or varies ``device``, or the
    experiment's config has none.
    """
    name = device_name(device)
    if not hasattr(spec.base, "device"):
        raise ValueError(f"experiment {spec.experiment!r} has no device field; it runs where it runs")
    if "device" in spec.fixed or any("device" in point for point in spec.points):
        raise ValueError("the sweep file sets device; give it there or with --device, not both")
    return dataclasses.replace(spec, base=dataclasses.replace(spec.base, device=name))


def run_devices(runs: Sequence[RunSpec]) -> list[str]:
    """The distinct devices the runs' configs ask for, in order of first appearance."""
    return list(dict.fromkeys(str(getattr(r.config, "device", "cpu")) for r in runs))


def plan(spec: SweepSpec, data_dir: str | Path | None = None) -> list[RunSpec]:
    """Every run of the sweep (point-major, then seed), each with its store key and folder.

    The key hashes the experiment, the resolved config, the seed, the specinit version, the
    code's fingerprint and — for an image experiment — the data folder (``data_dir``, else
    ``$SPECINIT_DATA``), so a run is never reused across code or data.
    """
    from specinit import __version__

    exp = experiments.get(spec.experiment)
    data = str(data_dir) if data_dir is not None else None
    identity: dict[str, Any] = {
        "experiment": spec.experiment,
        "specinit": __version__,
        "code": code_fingerprint(),
    }
    if exp.images:
        identity["data"] = Context(None if data is None else Path(data)).describe_data()["root"]
    runs = []
    for point in spec.points:
        for seed in spec.seeds:
            cfg = dataclasses.replace(spec.base, **point, seeds=(seed,))
            key = config_hash({**identity, "config": cfg, "seed": seed})
            label = " ".join(filter(None, [point_label(point), f"seed={seed}"]))
            slug = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", label)[:80]
            runs.append(
                RunSpec(
                    key,
                    spec.experiment,
                    label,
                    dict(point),
                    seed,
                    cfg,
                    f"runs/{slug}-{key}",
                    len(exp.units(cfg)),
                    spec.modules,
                    data,
                )
            )
    return runs


# ---------------------------------------------------------------------------- executing one run


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _point_json(point: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (config_json(v) if dataclasses.is_dataclass(v) else v) for k, v in point.items()}


def _record(
    run: RunSpec,
    *,
    status: str,
    started: str,
    seconds: float,
    env: Mapping[str, str],
    results: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> RunRecord:
    results = results or {}
    return RunRecord(
        key=run.key,
        experiment=run.experiment,
        label=run.label,
        point=json.loads(json.dumps(_point_json(run.point))),
        config=config_json(run.config),
        seed=run.seed,
        status=status,
        environment=dict(env),
        started_at=started,
        finished_at=_now(),
        seconds=round(seconds, 3),
        rows=list(results.get("rows", [])),
        metrics=dict(results.get("metrics", {})),
        findings=list(results.get("findings", [])),
        traceback=error,
        folder=run.folder,
    )


def execute(run: RunSpec, out: str | Path, *, threads: int = 1) -> RunRecord:
    """Run one sweep run into ``out/run.folder`` (resuming its finished units) and return its record.

    Never raises for a failing experiment: the record has ``status="failed"`` and the traceback.
    """
    import torch

    threads = check_int(threads, "threads")
    started, t0 = _now(), time.perf_counter()
    previous_threads = torch.get_num_threads()
    try:
        for module in run.modules:
            importlib.import_module(module)
        torch.set_num_threads(threads)
        folder = Path(out) / run.folder
        run_experiment(run.experiment, config=run.config, out=folder, progress=False, data_dir=run.data_dir)
        results = json.loads((folder / "results.json").read_text())
    except Exception:
        return _record(
            run,
            status="failed",
            started=started,
            seconds=time.perf_counter() - t0,
            env=environment(),
            error=traceback.format_exc(),
        )
    finally:
        torch.set_num_threads(previous_threads)  # the caller's process keeps its own setting
    return _record(
        run,
        status="done",
        started=started,
        seconds=time.perf_counter() - t0,
        env=results["environment"],
        results=results,
    )


def _execute_packed(run: RunSpec, threads: int) -> tuple[RunRecord, bytes]:
    """:func:`execute` in a scratch folder; returns the record and the run folder as a tar archive
    (for a worker on another machine: the driver unpacks it into the sweep folder).
    """
    with tempfile.TemporaryDirectory(prefix="specinit-run-") as scratch:
        record = execute(run, scratch, threads=threads)
        buffer = io.BytesIO()
        folder = Path(scratch) / run.folder
        if folder.is_dir():
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                tar.add(folder, arcname=".")
        return record, buffer.getvalue()


def _unpack(archive: bytes, folder: Path) -> None:
    if not archive:
        return
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuse unsafe members
            tar.extractall(folder, filter="data")
        else:
            tar.extractall(folder)


# ---------------------------------------------------------------------------- backends


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers(n_runs: int) -> int:
    """``min(available_cores(), n_runs)``, at least 1."""
    return max(1, min(available_cores(), n_runs))


def threads_per_worker(workers: int) -> int:
    """Torch threads for each of ``workers`` local processes: ``max(1, cores // workers)``,
    so the workers together do not oversubscribe the cores.
    """
    return max(1, available_cores() // workers)


#: How often a local worker checks that its driver is alive (seconds).
PARENT_POLL_SECONDS = 0.5


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: a daemon thread ends this worker as soon as its parent process (the
    sweep's driver, pid ``parent``) is gone — the worker is then re-parented, so ``getppid``
    changes.  A ``kill -9`` of the driver runs none of its clean-up; without this its workers
    would finish their runs (minutes) for a store nobody writes.  Polling works on every OS.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)  # no clean-up to run: finished units are already on disk, atomically

    threading.Thread(target=watch, name="specinit-parent-watch", daemon=True).start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` spawned processes (no forked torch state) that exit when this process dies."""
    return ProcessPoolExecutor(
        check_int(workers, "workers"),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


class _LocalBackend:
    """Worker processes (spawned: no forked torch state); a crashed worker's pool is rebuilt.
    Each worker exits when the driver dies (:func:`_exit_with_parent`).
    """

    shows_units = True

    def __init__(self, out: Path, workers: int, threads: int) -> None:
        self.out, self.workers, self.threads = out, workers, threads
        self._pool: ProcessPoolExecutor | None = None
        self._owner: dict[Future, ProcessPoolExecutor] = {}

    def submit(self, run: RunSpec) -> Future:
        if self._pool is None:
            self._pool = worker_pool(self.workers)
        future = self._pool.submit(execute, run, self.out, threads=self.threads)
        self._owner[future] = self._pool
        return future

    def wait(self, handles: Sequence[Future], timeout: float) -> list[Future]:
        return list(wait_futures(handles, timeout=timeout, return_when=FIRST_COMPLETED).done)

    def result(self, handle: Future, run: RunSpec) -> RunRecord:
        pool = self._owner.pop(handle)
        try:
            return handle.result()
        except BrokenProcessPool:
            if pool is self._pool:  # replace the broken pool once; its other runs fail too
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class _RayBackend:
    """Ray tasks reserving ``threads`` CPUs (their torch threads) and ``num_gpus`` GPUs each; the
    driver unpacks each run folder and records it.
    """

    shows_units = False

    def __init__(
        self, out: Path, workers: int | None, threads: int, address: str | None, num_gpus: float = 0
    ) -> None:
        with needs_extra("ray", "the Ray backend (--backend ray)"):
            import ray
        self.ray, self.out = ray, out
        self._started = not ray.is_initialized()
        if self._started:
            options: dict[str, Any] = {"address": address} if address else {"num_cpus": workers}
            ray.init(**options, include_dashboard=False, log_to_driver=False)
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0))
        if num_gpus > gpus:
            if self._started:
                ray.shutdown()
            raise ValueError(
                f"each run reserves {num_gpus:g} GPU(s) but the Ray cluster has {gpus:g}: no run could "
                "ever start; connect to a cluster with GPUs (--address) or lower --gpus-per-run"
            )
        by_cpu = max(1, int(resources.get("CPU", 1)) // threads)
        by_gpu = int(gpus // num_gpus) if num_gpus > 0 else by_cpu
        self.workers = workers or max(1, min(by_cpu, by_gpu))
        self._task = ray.remote(num_cpus=threads, num_gpus=num_gpus, max_retries=0)(_execute_packed)
        self.threads = threads

    def submit(self, run: RunSpec) -> Any:
        return self._task.remote(run, self.threads)

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        ready, rest = self.ray.wait(list(handles), num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = self.ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        return ready

    def result(self, handle: Any, run: RunSpec) -> RunRecord:
        record, archive = self.ray.get(handle)
        _unpack(archive, self.out / run.folder)
        return record

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()


# ---------------------------------------------------------------------------- the driver


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    progress: bool = True,
    on_record: Callable[[RunRecord], None] | None = None,
    command: str = "",
    data_dir: str | Path | None = None,
    num_gpus: float = 0,
    num_cpus: int | None = None,
) -> SweepSummary:
    """Run (or resume) a sweep into ``out``: skip runs done in ``out/sweep.sqlite``, run the rest.

    ``workers`` defaults to :func:`default_workers` (local) or, on Ray, as many runs as the
    cluster's CPUs (``num_cpus`` each) and GPUs (``num_gpus`` each) hold at once; each run gets
    ``num_cpus`` torch threads if given, else ``max(1, cores // workers)`` locally and one on
    Ray.  ``num_gpus`` (Ray only) is the GPUs each task reserves — fractions share a GPU; runs
    on a CUDA device need at least a fraction, since Ray hides every GPU from a task that
    reserves none.  Locally, every run's device must be on this machine (checked first, one
    line); on Ray it is checked where each run lands.
    ``on_record`` is called with each finished run's record (done or failed) as it is stored;
    ``data_dir`` is the image data folder of image experiments (else ``$SPECINIT_DATA``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ValueError("address= is for backend='ray'")
    if workers is not None:
        workers = check_int(workers, "workers")
    if num_cpus is not None:
        num_cpus = check_int(num_cpus, "num_cpus")
    if not (isinstance(num_gpus, (int, float)) and not isinstance(num_gpus, bool) and num_gpus >= 0):
        raise ValueError(f"num_gpus must be a non-negative number, got {num_gpus!r}")
    if num_gpus and backend != "ray":
        raise ValueError(
            "num_gpus= (--gpus-per-run) is for backend='ray'; local runs share this machine's GPUs"
        )
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    out = Path(out)
    runs = plan(spec, data_dir)
    devices = run_devices(runs)
    if backend == "local":
        for device in devices:
            resolve_device(device)  # a device this machine lacks: one line, before any run
    else:
        gpu_runs = [d for d in devices if d.startswith("cuda")]
        if gpu_runs and not num_gpus:
            raise ValueError(
                f"runs on {gpu_runs[0]} need GPUs reserved on Ray (--gpus-per-run N, num_gpus=N): "
                "Ray hides every GPU from a task that reserves none"
            )
        if num_gpus and not gpu_runs:
            raise ValueError(
                "num_gpus= (--gpus-per-run) reserves GPUs but every run's device is "
                f"{', '.join(devices)}; set the device (--device cuda)"
            )
    start = time.perf_counter()
    with RunStore(out / STORE_NAME) as store:
        previous = store.meta().get("experiment")
        if previous is not None and previous != spec.experiment:
            raise ValueError(
                f"{out} holds a sweep of {previous!r}, not {spec.experiment!r}; choose another --out"
            )
        store.set_meta(
            name=spec.name,
            experiment=spec.experiment,
            config_text=spec.text,
            command=command,
            quick=str(spec.quick).lower(),
        )
        statuses = store.statuses()
        todo = [r for r in runs if statuses.get(r.key) != "done"]
        failures: list[RunRecord] = []
        if todo:
            n_workers = workers or default_workers(len(todo))
            if backend == "local":
                runner: _LocalBackend | _RayBackend = _LocalBackend(
                    out, n_workers, num_cpus or threads_per_worker(n_workers)
                )
            else:
                runner = _RayBackend(out, workers, num_cpus or 1, address, num_gpus)

            def keep(record: RunRecord) -> None:
                store.add(record)
                if record.status == "failed":
                    failures.append(record)
                if on_record is not None:
                    on_record(record)

            try:
                _drive(runner, todo, out, keep, progress=progress)
            finally:
                runner.close()
    return SweepSummary(
        out,
        out / STORE_NAME,
        len(todo) - len(failures),
        len(runs) - len(todo),
        len(failures),
        time.perf_counter() - start,
        tuple(failures),
    )


def _drive(
    backend: _LocalBackend | _RayBackend,
    todo: Sequence[RunSpec],
    out: Path,
    keep: Callable[[RunRecord], None],
    *,
    progress: bool,
) -> None:
    """Keep ``backend.workers`` runs in flight; store each as it finishes; show progress."""
    pending = list(reversed(todo))
    running: dict[Any, tuple[RunSpec, Any, int]] = {}
    free_rows = list(range(backend.workers, 0, -1))
    overall = tqdm(total=len(todo), desc="sweep", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        while pending or running:
            while pending and len(running) < backend.workers:
                run, row, bar = pending.pop(), free_rows.pop(), None
                if progress and backend.shows_units:
                    bar = tqdm(
                        total=run.n_units,
                        desc=run.label[:40],
                        unit="unit",
                        leave=False,
                        position=row,
                        dynamic_ncols=True,
                    )
                running[backend.submit(run)] = (run, bar, row)
            for handle in backend.wait(list(running), timeout=0.5):
                run, bar, row = running.pop(handle)
                try:
                    record = backend.result(handle, run)
                except Exception as exc:  # the worker died (crash, OOM kill) or Ray lost the task
                    record = _record(
                        run,
                        status="failed",
                        started=_now(),
                        seconds=0.0,
                        env=environment(),
                        error="the worker running this run died or was lost:\n"
                        + "".join(traceback.format_exception(exc)),
                    )
                keep(record)
                overall.update()
                free_rows.append(row)
                if bar is not None:
                    bar.close()
            for run, bar, _ in running.values():
                if bar is not None:
                    bar.n = _finished_units(out / run.folder)
                    bar.refresh()
    finally:
        for _, bar, _ in running.values():
            if bar is not None:
                bar.close()
        overall.close()


def _finished_units(folder: Path) -> int:
    units = folder / "units"
    return sum(1 for _ in units.glob("*.json")) if units.is_dir() else 0
