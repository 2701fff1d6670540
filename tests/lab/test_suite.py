"""Several experiments at once (specinit.lab.suite): parallel workers, failures kept apart,
data checked before any work, the index written whatever failed."""

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))  # the spawned workers import _suite_toys from here

import _suite_toys  # noqa: F401  (registers the toy experiments)

from specinit import lab
from specinit.cli import main
from specinit.lab import report, suite


def test_experiments_run_in_parallel_and_a_failure_stays_apart(tmp_path):
    seen = []
    outcomes = suite.run_suite(
        ["suite-ok", "suite-fail", "suite-ok-2"],
        tmp_path,
        workers=2,
        progress=False,
        modules=["_suite_toys"],
        on_outcome=seen.append,
    )
    assert [o.name for o in outcomes] == ["suite-ok", "suite-fail", "suite-ok-2"]
    assert sorted(o.name for o in seen) == sorted(o.name for o in outcomes)
    ok, failed, ok2 = outcomes
    assert ok.status == ok2.status == "done" and failed.status == "failed"
    assert failed.error == "RuntimeError: boom in a unit"
    assert "Traceback" in (tmp_path / "suite-fail" / "error.txt").read_text()
    assert [f.holds for f in ok.findings] == [True]
    assert (tmp_path / "suite-ok" / "results.json").is_file()
    # each experiment ran in a worker process, not in the driver
    import json
    import os

    pids = {r["pid"] for r in json.loads((tmp_path / "suite-ok" / "results.json").read_text())["rows"]}
    assert os.getpid() not in pids
    assert ok.threads == max(1, suite.available_cores() // 2)


def test_a_finished_suite_resumes_without_rework(tmp_path):
    suite.run_suite(["suite-ok"], tmp_path, workers=1, progress=False)
    (again,) = suite.run_suite(["suite-ok"], tmp_path, workers=1, progress=False)
    assert again.status == "done" and again.skipped == 2


def test_data_is_checked_before_any_work(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    with pytest.raises((FileNotFoundError, ValueError), match="mnist"):
        suite.run_suite(["suite-ok", "suite-images"], tmp_path / "out", data_dir=empty, progress=False)
    assert not (tmp_path / "out").exists()


def test_the_index_opens_with_what_was_reproduced_and_lists_failures(tmp_path):
    outcomes = suite.run_suite(["suite-ok", "suite-fail"], tmp_path, workers=1, progress=False)
    path = report.write_index_report(
        tmp_path, [o.folder for o in outcomes if o.status == "done"], failed={"suite-fail": outcomes[1].error}
    )
    assert path.name == "report.html"
    text = (tmp_path / "report.md").read_text()
    assert text.splitlines()[2].startswith("**1 experiment(s) reproduced, 1 failed**: 1 of 1 findings hold")
    assert "| suite-fail | | **failed**: RuntimeError: boom in a unit |" in text


def test_reproduce_all_reports_each_experiment_and_writes_the_index_when_one_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(lab, "names", lambda: ["suite-ok", "suite-fail"])
    out = tmp_path / "all"
    result = CliRunner().invoke(
        main, ["reproduce", "all", "--quick", "--workers", "1", "--no-progress", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "suite-ok: 1/1 findings hold" in result.output
    assert "suite-fail: FAILED" in result.output and "RuntimeError: boom in a unit" in result.output
    assert "Error: 1 experiment(s) failed: suite-fail" in result.output
    assert (out / "report.md").is_file() and (out / "suite-ok" / "report.md").is_file()


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="workers"):
        suite.run_suite(["suite-ok"], tmp_path, workers=0, progress=False)
