"""Three-state findings (holds / does not hold / not decided) and the margin rules behind them."""

import json
import math

import pytest

from specinit.lab.report import write_index_report
from specinit.lab.results import (
    Finding,
    RunDir,
    all_hold,
    below,
    binomial_stderr,
    compare,
    count_findings,
    decided,
    diff_stderr,
    seed_stderr,
    verdict,
)


def test_finding_markdown_names_each_state():
    assert Finding("c", True, "e").markdown() == "- **holds**: c — e"
    assert Finding("c", False, "e").markdown() == "- **does NOT hold**: c — e"
    assert Finding("c", None, "e").markdown() == "- **not decided**: c — e"
    assert [Finding("c", h, "e").status for h in (True, False, None)] == [
        "holds",
        "does NOT hold",
        "not decided",
    ]


def test_findings_round_trip_through_results_json(tmp_path):
    findings = [Finding("a", True, "x"), Finding("b", False, "y"), Finding("c", None, "z")]
    run = RunDir(tmp_path, {"k": 1})
    path = run.write_results({"findings": findings})
    loaded = [Finding(**f) for f in json.loads(path.read_text())["findings"]]
    assert loaded == findings
    assert count_findings(loaded) == count_findings(json.loads(path.read_text())["findings"]) == (1, 1, 1)


def test_index_report_counts_held_and_undecided_findings(tmp_path):
    folder = tmp_path / "inr-depth"
    folder.mkdir()
    findings = [Finding("a", True, "x"), Finding("b", None, "y"), Finding("c", False, "z")]
    RunDir(folder, {"k": 1}).write_results({"experiment": "inr-depth", "findings": findings, "seconds": 1.0})
    text = write_index_report(tmp_path, [folder]).with_suffix(".md").read_text()
    assert "| experiment | paper | findings that hold | not decided | seconds | folder |" in text
    assert "| inr-depth |  | 1/3 | 1 | 1 |" in text
    assert "**1 experiment(s) reproduced**: 1 of 3 findings hold, 1 do not, 1 not decided" in text
    assert "- **not decided**: b — y" in text


def test_decided_needs_the_difference_beyond_k_standard_errors():
    assert decided(0.05, 0.02) and not decided(0.03, 0.02) and decided(0.03, 0.02, k=1)
    assert not decided(1.0, math.nan) and not decided(math.nan, 0.1)
    assert verdict(0.05, 0.02) is True and verdict(-0.05, 0.02) is False and verdict(0.01, 0.02) is None


def test_binomial_stderr_of_accuracy_differences():
    # 1000 test images at 90%: 2 SE of a difference ≈ 2.7 points, so 0.02 is not a verdict
    se = binomial_stderr(0.9, 0.9, 1000)
    assert se == pytest.approx(math.sqrt(2 * 0.09 / 1000))
    assert verdict(0.02, se) is None and verdict(0.04, se) is True
    with pytest.raises(ValueError, match="n must be positive"):
        binomial_stderr(0.5, 0.5, 0)


def test_seed_noise_helpers():
    assert math.isnan(seed_stderr([1.0])) and seed_stderr([1.0, 3.0]) == pytest.approx(1.0)
    assert diff_stderr([1.0, 3.0], [0.0, 2.0]) == pytest.approx(math.sqrt(2))
    assert math.isnan(diff_stderr([1.0], [0.0, 2.0]))


def test_compare_uses_the_larger_of_seed_and_binomial_noise():
    # one value per side and no test set: noise unknown, not decided
    assert compare([1.0], [0.0])[0] is None
    # one seed of an accuracy: binomial noise alone decides
    assert compare([0.95], [0.85], n_test=1000)[0] is True
    assert compare([0.86], [0.85], n_test=1000)[0] is None
    # seed noise larger than the binomial: not decided although the means differ by 5 points
    assert compare([0.99, 0.81], [0.85, 0.85], n_test=1000)[0] is None
    # paired: a consistent difference across very different seeds is decided
    assert compare([0.9, 0.5, 0.7], [0.8, 0.4, 0.6], paired=True)[0] is True
    assert compare([0.9, 0.5, 0.7], [0.8, 0.4, 0.6])[0] is None
    text = compare([0.95], [0.85], n_test=1000)[1]
    assert "difference +0.1" in text and "2 SE" in text
    with pytest.raises(ValueError, match="equal lengths"):
        compare([1.0, 2.0], [1.0], paired=True)


def test_all_hold_and_below():
    assert all_hold([True, True]) is True and all_hold([True, None]) is None
    assert all_hold([None, False]) is False and all_hold([]) is None
    assert below(0.01, 0.001, 2, 0.05)[0] is True and below(0.09, 0.001, 2, 0.05)[0] is False
    assert below(0.049, 0.01, 2, 0.05)[0] is None and below(0.01, math.nan, 1, 0.05)[0] is None
