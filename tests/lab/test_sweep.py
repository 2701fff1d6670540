"""Sweeps: config validation, the SQLite store, a real kill and resume, failures, and Ray = local."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from specinit import lab as experiments
from specinit.cli import main
from specinit.lab import sweep
from specinit.lab.experiment import Summary, register_module, seeds_units
from specinit.lab.store import RunRecord, RunStore
from specinit.lab.sweep import SweepConfigError, execute, load_sweep, parse_sweep, plan, run_sweep
from specinit.lab.tasks import SparseTask


# inr-depth with one tiny network per run: a run takes about a second, mostly its figures.
def tiny(top="", grid="", fixed='activations = ["relu"]'):
    return textwrap.dedent(
        f"""\
        experiment = "inr-depth"
        quick = true
        {top}
        [set]
        {fixed}
        depths = [1]
        lrs = [1e-2]
        steps = 20

        [grid]
        {grid}
        """
    )


QUICK_STEPS = experiments.get("inr-depth").quick.steps  # a [[runs]] point equal to the base config


def write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_runs_and_seeds_expand_to_typed_points():
    spec = parse_sweep(
        {
            "experiment": "inr-depth",
            "quick": True,
            "seeds": 2,
            "set": {"steps": "30", "task": {"step": 0.2}},
            "grid": {"width": [8, 16], "activations": ["relu", ["sine(omega0=5)", "relu"]]},
            "runs": [{"lrs": [0.01]}, {"lrs": "1e-3,3e-3"}],
        }
    )
    assert spec.seeds == (0, 1) and spec.base.steps == 30 and spec.base.task == SparseTask(step=0.2)
    assert len(spec.points) == 2 * 2 * 2
    assert spec.points[0] == {"lrs": (0.01,), "width": 8, "activations": ("relu",)}
    assert spec.points[-1] == {"lrs": (1e-3, 3e-3), "width": 16, "activations": ("sine(omega0=5)", "relu")}
    runs = plan(spec)
    assert len(runs) == 16 and len({r.key for r in runs}) == 16 and len({r.folder for r in runs}) == 16
    assert runs[0].config.seeds == (0,) and runs[1].config.seeds == (1,)
    assert runs[0].label == "lrs=0.01 width=8 activations=relu seed=0"
    assert [r.key for r in plan(spec)] == [r.key for r in runs]  # keys are stable


def test_yaml_and_toml_give_the_same_runs(tmp_path):
    toml = write(tmp_path, tiny("seeds = [3, 4]", "width = [8, 16]"))
    yaml = write(
        tmp_path,
        textwrap.dedent("""\
        experiment: inr-depth
        quick: true
        seeds: [3, 4]
        set: {activations: [relu], depths: [1], lrs: [1e-2], steps: 20}  # YAML reads 1e-2 as text
        grid: {width: [8, 16]}
        """),
        "sweep.yaml",
    )
    assert [r.key for r in plan(load_sweep(toml))] == [r.key for r in plan(load_sweep(yaml))]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"experiment": "nope"}, r"experiment: unknown experiment 'nope'; known: .*inr-depth"),
        ({}, r"missing key 'experiment'"),
        ({"experiment": "inr-depth", "grids": {}}, r"unknown key 'grids' in the sweep config"),
        ({"experiment": "inr-depth", "set": {"widht": 3}}, r"set\.widht: unknown config field 'widht'"),
        (
            {"experiment": "inr-depth", "grid": {"width": [8, "wide"]}},
            r"grid\.width\[1\]: expected int, got 'wide'",
        ),
        ({"experiment": "inr-depth", "grid": {"width": 8}}, r"grid\.width: expected a list, got 8"),
        ({"experiment": "inr-depth", "grid": {"width": []}}, r"grid\.width: empty list"),
        ({"experiment": "inr-depth", "grid": {}}, r"grid: empty table"),
        ({"experiment": "inr-depth", "runs": []}, r"runs: empty list"),
        (
            {"experiment": "inr-depth", "runs": [{"steps": 10}, {"steps": True}]},
            r"runs\[1\]\.steps: expected int, got True",
        ),
        ({"experiment": "inr-depth", "set": {"lrs": ["fast"]}}, r"set\.lrs\[0\]: expected float, got 'fast'"),
        (
            {"experiment": "inr-depth", "set": {"task": {"grid": 1.5}}},
            r"set\.task\.grid: expected int, got 1\.5",
        ),
        ({"experiment": "inr-depth", "quick": "yes"}, r"quick: expected true or false, got 'yes'"),
        ({"experiment": "inr-depth", "seeds": []}, r"seeds: empty list"),
        ({"experiment": "inr-depth", "seeds": [0, 0]}, r"seeds: repeated seed"),
        (
            {"experiment": "inr-depth", "grid": {"seeds": [[0]]}},
            r"grid\.seeds: sweep seeds with the top-level",
        ),
        (
            {"experiment": "inr-depth", "set": {"width": 8}, "grid": {"width": [8]}},
            r"grid\.width: also given in \[set\]",
        ),
        ({"experiment": "inr-depth", "set": {"depths": []}}, r"no units to run"),
        ({"experiment": "inr-depth", "set": {"seeds": [1]}}, r"set\.seeds: sweep seeds with the top-level"),
        (
            {"experiment": "inr-depth", "grid": {"width": [8]}, "runs": [{"width": 4}]},
            r"runs\[0\]\.width: also in \[grid\]",
        ),
        (
            {"experiment": "inr-depth", "modules": ["no_such_module_xyz"]},
            r"modules\[0\]: cannot import 'no_such_module_xyz'",
        ),
        (
            {"experiment": "inr-depth", "grid": {"width": [8, 8]}},
            r"points 'width=8' and 'width=8' give the same config",
        ),
        (
            {"experiment": "inr-depth", "quick": True, "runs": [{}, {"steps": QUICK_STEPS}]},
            rf"points '\(base config\)' and 'steps={QUICK_STEPS}' give the same config",
        ),
    ],
)
def test_malformed_config_names_the_offending_key(data, message):
    with pytest.raises(SweepConfigError, match=message):
        parse_sweep(data)


def test_cli_reports_config_errors_and_bad_files(tmp_path):
    bad = write(tmp_path, tiny(grid="width = []"))
    result = CliRunner().invoke(main, ["sweep", str(bad)])
    assert result.exit_code == 2 and "grid.width: empty list" in result.output
    broken = write(tmp_path, "experiment = \n", "broken.toml")
    result = CliRunner().invoke(main, ["sweep", str(broken)])
    assert result.exit_code == 2 and "broken.toml is not valid TOML" in result.output
    result = CliRunner().invoke(main, ["sweep", str(write(tmp_path, "{}", "x.json"))])
    assert result.exit_code == 2 and "use a .toml, .yaml or .yml file" in result.output


def test_workers_split_the_cores_and_a_run_leaves_the_caller_threads_alone(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(sweep, "available_cores", lambda: 8)
    assert [sweep.default_workers(n) for n in (1, 5, 8, 20)] == [1, 5, 8, 8]
    assert [sweep.threads_per_worker(w) for w in (1, 3, 8, 16)] == [8, 2, 1, 1]
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        run_sweep(parse_sweep({"experiment": "sweep-crash-test"}), tmp_path, workers=0)
    with pytest.raises(TypeError, match="workers must be an integer"):
        run_sweep(parse_sweep({"experiment": "sweep-crash-test"}), tmp_path, workers=True)
    threads = torch.get_num_threads()
    run = plan(parse_sweep({"experiment": "sweep-crash-test", "modules": [__name__]}))[0]
    record = execute(run, tmp_path, threads=threads + 1)
    assert record.status == "done" and record.rows[0]["double"] == 2
    assert torch.get_num_threads() == threads


def record(key, status, seconds=1.0):
    return RunRecord(
        key=key,
        experiment="inr-depth",
        label=key,
        point={},
        config={},
        seed=0,
        status=status,
        environment={"torch": "t", "python": "p", "specinit": "s", "host": "h"},
        started_at="a",
        finished_at="b",
        seconds=seconds,
        rows=[{"x": 1}],
        metrics={},
        findings=[],
        traceback="boom" if status == "failed" else None,
        folder="runs/x",
    )


def test_store_keeps_done_rows_and_replaces_failed_ones(tmp_path):
    path = tmp_path / "sweep.sqlite"
    with RunStore(path) as store:
        assert store.add(record("a", "failed")) and store.add(record("b", "done", 2.0))
        assert store.add(record("a", "done", 3.0))  # a retried failure is replaced
        assert not store.add(record("b", "done", 9.0))  # a done run is never recorded twice
        assert not store.add(record("b", "failed"))
        assert store.statuses() == {"a": "done", "b": "done"} and len(store) == 2
        assert [r.seconds for r in store.records()] == [3.0, 2.0]
        assert store.records("done")[1] == record("b", "done", 2.0)
        with pytest.raises(ValueError, match="status must be one of done, failed or None, got 'ok'"):
            store.records("ok")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (
        db.execute("SELECT specinit, torch, python, host FROM runs").fetchall() == [("s", "t", "p", "h")] * 2
    )
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute("INSERT INTO runs SELECT * FROM runs WHERE key = 'a'")
    with pytest.raises(ValueError, match="status must be 'done' or 'failed'"):
        record("c", "running")


@pytest.mark.slow
def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    config = write(tmp_path, tiny(grid="width = [4, 6, 8]"))
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from specinit.cli import main; main()",
            "sweep",
            str(config),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "sweep.sqlite").exists() and _count(out) >= 1:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker, mid-sweep
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    with RunStore(out / "sweep.sqlite") as store:
        before = {r.key: r for r in store.records()}
    planned = {r.key for r in plan(load_sweep(config))}
    # killed mid-sweep: some but not all planned runs are stored, each finished
    assert before and set(before) < planned
    assert [r.status for r in before.values()] == ["done"] * len(before)

    summary = run_sweep(config, out, workers=1, progress=False)
    assert (summary.done, summary.skipped, summary.failed) == (3 - len(before), len(before), 0)
    with RunStore(out / "sweep.sqlite") as store:
        after = store.records()
    assert len(after) == 3 and {r.key for r in after} == planned
    assert all(after_r == before[after_r.key] for after_r in after if after_r.key in before)
    assert run_sweep(config, out, progress=False).skipped == 3


def _count(out):
    try:
        with sqlite3.connect(out / "sweep.sqlite", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # the driver is creating the tables
        return 0


@pytest.mark.slow
def test_failures_are_recorded_and_ray_matches_local(tmp_path):
    import ray

    config = write(tmp_path, tiny("seeds = 2", 'activations = ["relu", "bogus"]', fixed=""))
    local = CliRunner().invoke(
        main, ["sweep", str(config), "--out", str(tmp_path / "local"), "--no-progress"]
    )
    assert local.exit_code == 1, local.output
    assert "4 run(s): 2 done, 0 skipped (already done), 2 failed" in local.output
    assert "FAILED  activations=bogus seed=0: ValueError: unknown activation 'bogus'" in local.output

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_sweep(config, tmp_path / "ray", backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert (summary.done, summary.failed) == (2, 2)
    with RunStore(tmp_path / "local" / "sweep.sqlite") as a, RunStore(tmp_path / "ray" / "sweep.sqlite") as b:
        runs_local, runs_ray = a.records(), b.records()
    by_key = {r.key: r for r in runs_ray}
    assert sorted(by_key) == sorted(r.key for r in runs_local)
    for run in runs_local:
        other = by_key[run.key]
        assert other.status == run.status
        if run.status == "failed":
            assert "unknown activation 'bogus'" in run.traceback and "Traceback" in other.traceback
        else:  # same seeds, same numbers (timings aside)
            strip = [{k: v for k, v in row.items() if k != "seconds"} for row in run.rows]
            assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in other.rows]
            assert (tmp_path / "ray" / other.folder / "results.json").is_file()


# An experiment whose unit kills its own process (a segfault or an OOM kill, as seen by the
# pool): registered here, and imported by the sweep's spawned workers through `modules`.
@dataclass(frozen=True)
class CrashConfig:
    crash: bool = False
    value: int = 1
    seeds: tuple[int, ...] = (0,)


def units(cfg):
    return seeds_units([{"value": cfg.value}], cfg.seeds)


def run_unit(cfg, unit, context):
    if cfg.crash:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"value": cfg.value, "seed": unit.params["seed"], "double": 2 * cfg.value}, {}


def summarize(cfg, rows, arrays, run):
    return Summary()


register_module(
    __name__,
    name="sweep-crash-test",
    title="a worker that dies",
    source="tests",
    default=CrashConfig(),
    quick=CrashConfig(),
)


@pytest.mark.slow
def test_a_dying_worker_fails_its_run_and_the_sweep_goes_on(tmp_path):
    spec = parse_sweep(
        {
            "experiment": "sweep-crash-test",
            "modules": [__name__],
            "runs": [{"value": 1}, {"crash": True}, {"value": 3}],
        }
    )
    summary = run_sweep(spec, tmp_path, workers=1, progress=False)
    assert (summary.done, summary.failed) == (2, 1)
    with RunStore(tmp_path / "sweep.sqlite") as store:
        records = {r.label: r for r in store.records()}
    assert "BrokenProcessPool" in records["crash=true seed=0"].traceback
    assert [records[f"value={v} seed=0"].rows[0]["double"] for v in (1, 3)] == [2, 6]  # a new pool ran 3


def _children(pid):
    """The pids whose parent is ``pid`` (from /proc; psutil is not a dependency)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _alive(pid):
    """Whether ``pid`` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_a_killed_driver_leaves_no_worker_running(tmp_path):
    # one long run (minutes of SGD steps) in one spawned worker; kill -9 the driver mid-run
    config = write(tmp_path, tiny(grid="width = [4]").replace("steps = 20", "steps = 1000000"))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from specinit.cli import main; main()", "sweep", str(config)]
        + ["--out", str(out), "--workers", "1", "--no-progress"],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("runs/*/config.json")):
            assert proc.poll() is None, "the sweep ended before its run started"
            time.sleep(0.1)
        workers = _children(proc.pid)  # the worker is in its run: it wrote the run's config.json
        assert workers and list(out.glob("runs/*/config.json"))
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"worker(s) {left} still running 10 s after the driver was killed"
