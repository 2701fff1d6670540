import json
import math
import os
import stat

import numpy as np
import pytest

from specinit.lab.results import RunDir, ci_markdown, ci_rows, config_hash, mean_ci, split_columns


def test_units_round_trip_and_resume(tmp_path):
    run = RunDir(tmp_path / "run", {"a": 1})
    assert not run.has("x=1,seed=0")
    run.save_unit("x=1,seed=0", {"loss": 0.5}, {"curve": np.arange(3.0)})
    row, arrays = RunDir(tmp_path / "run", {"a": 1}).load_unit("x=1,seed=0")
    assert row == {"loss": 0.5}
    np.testing.assert_array_equal(arrays["curve"], [0.0, 1.0, 2.0])
    # no temporary files are left behind
    assert sorted(p.suffix for p in (tmp_path / "run" / "units").iterdir()) == [".json", ".npz"]


def test_a_folder_of_another_config_is_refused(tmp_path):
    RunDir(tmp_path / "run", {"a": 1})
    with pytest.raises(FileExistsError, match=r"different config \(a: 1 there, 2 now; hash"):
        RunDir(tmp_path / "run", {"a": 2})


def test_config_hash_is_stable_and_sensitive():
    assert config_hash({"a": 1, "b": (1, 2)}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 1.5})


def test_mean_ci_is_the_student_t_interval():
    # Closed-form Student-t quantiles: df=2: (2p−1)/√(2p(1−p)); df=1: tan(π(p−½)).
    t2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    mean, half, n = mean_ci([1.0, 2.0, 3.0])  # s = 1
    assert (mean, n) == (2.0, 3) and half == pytest.approx(t2 / math.sqrt(3), rel=1e-10)
    mean, half, n = mean_ci([0.5, 0.7], confidence=0.9)  # s = √0.02, s/√2 = 0.1
    assert mean == pytest.approx(0.6) and half == pytest.approx(math.tan(0.45 * math.pi) * 0.1, rel=1e-10)
    mean, half, n = mean_ci([4.0])
    assert mean == 4.0 and math.isnan(half) and n == 1
    with pytest.raises(ValueError, match="non-empty 1-D"):
        mean_ci([])
    with pytest.raises(ValueError, match="confidence must be in"):
        mean_ci([1.0, 2.0], confidence=1.0)


def test_ci_rows_count_mean_sample_std_and_interval_per_group():
    rows = [{"g": "x", "k": 2, "m": 1.0}, {"g": "y", "k": 2, "m": 5.0}, {"g": "x", "k": 2, "m": 3.0}]
    table = ci_rows(rows, ("g", "k"), ("m",))
    assert [(r["g"], r["k"], r["n"]) for r in table] == [("x", 2, 2), ("y", 2, 1)]  # first-seen order
    x, y = table
    assert list(x) == ["g", "k", "n", "m_mean", "m_std", "m_ci"]
    assert x["m_mean"] == 2.0 and x["m_std"] == pytest.approx(math.sqrt(2.0), rel=1e-12)
    assert x["m_ci"] == pytest.approx(math.tan(0.475 * math.pi) * 1.0, rel=1e-10)  # t(0.975, 1)·s/√2
    assert y["m_mean"] == 5.0 and math.isnan(y["m_std"]) and math.isnan(y["m_ci"])
    assert ci_rows(rows, ("g",), ("m",), confidence=0.9)[0]["m_ci"] == pytest.approx(
        math.tan(0.45 * math.pi), rel=1e-10
    )


def test_ci_rows_values_bools_unhashable_cases_and_missing_metrics():
    rows = [
        {"w": [1, 2], "ok": True, "e": "nan"},
        {"w": [1, 2], "ok": False, "e": 1.0},
        {"w": [3], "ok": True},
    ]
    table = ci_rows(rows, ("w",), ("ok", "e"))
    assert [r["w"] for r in table] == [[1, 2], [3]]
    assert table[0]["ok_mean"] == 0.5 and math.isnan(table[0]["e_mean"])  # stored "nan" is NaN
    assert table[1]["ok_mean"] == 1.0 and "e_mean" not in table[1]
    assert ci_rows([], ("w",), ("e",)) == []
    with pytest.raises(ValueError, match="no case column 'v'"):
        ci_rows(rows, ("v",), ("e",))
    with pytest.raises(ValueError, match="metric 'w' holds a non-number"):
        ci_rows(rows, ("ok",), ("w",))
    with pytest.raises(ValueError, match="confidence must be in"):
        ci_rows(rows, ("w",), ("e",), confidence=0.0)


def test_ci_markdown_shows_mean_and_half_width():
    rows = [
        {"a": "re|lu", "lr": 0.001, "m": 1.0},
        {"a": "re|lu", "lr": 0.001, "m": 2.0},
        {"a": "re|lu", "lr": 0.001, "m": 3.0},
        {"a": "tanh", "lr": 0.1 + 0.2, "m": 1.0},
        {"a": "sine", "lr": 1.0},
    ]
    table = ci_rows(rows, ("a", "lr"), ("m",))
    assert ci_markdown(table, ("a", "lr"), ("m",)).splitlines() == [
        "| a | lr | n | m |",
        "|---|---|---|---|",
        f"| re\\|lu | 0.001 | 3 | 2 ± {mean_ci([1, 2, 3])[1]:.2g} |",  # 2 ± 2.5
        "| tanh | 0.3 | 1 | 1 |",
        "| sine | 1 | 1 |  |",
    ]


def test_columns_split_into_cases_and_metrics():
    rows = [
        {
            "unit": f"activation={a},depth={d},seed={s}",
            "activation": a,
            "depth": d,
            "seed": s,
            "note": "x",
            "lr": 0.01,
            "converged": s > 0,
            "mse": float(s + d),
        }
        for a in ("relu", "sine(omega0=5)")
        for d in (1, 2)
        for s in (0, 1, 2)
    ]
    by, metrics = split_columns(rows)
    assert by == ["activation", "depth", "note"] and metrics == ["lr", "converged", "mse"]
    table = ci_rows(rows, by, metrics)
    assert len(table) == 4 and all(row["n"] == 3 for row in table)
    assert table[1]["activation"] == "relu" and table[1]["depth"] == 2
    assert table[1]["mse_mean"] == 3.0 and table[1]["mse_ci"] == pytest.approx(mean_ci([2, 3, 4])[1])
    assert table[1]["lr_ci"] == 0.0 and table[1]["converged_mean"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="metric 'note' holds a non-number 'x'"):
        ci_rows(rows, ["activation"], ["note"])


def test_results_json_is_valid_json_with_non_finite_numbers(tmp_path):
    run = RunDir(tmp_path, {"a": 1})
    path = run.write_results({"value": float("nan"), "inf": float("inf")})
    assert json.loads(path.read_text()) == {"value": "nan", "inf": "inf"}


def test_text_table_markdown_and_aligned():
    from specinit.lab.results import text_table

    rows = [{"method": "ours", "ms": "1.5"}, {"method": "torch", "ms": "12.25"}]
    assert text_table(rows, markdown=True).splitlines() == [
        "| method | ms |",
        "|---|---|",
        "| ours | 1.5 |",
        "| torch | 12.25 |",
    ]
    plain = text_table(rows).splitlines()
    assert plain[0].split() == ["method", "ms"] and plain[2].index("1.5") == plain[0].index("ms")
    with pytest.raises(ValueError, match="at least one row"):
        text_table([])


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_result_files_are_as_readable_as_the_folder(tmp_path, umask):
    previous = os.umask(umask)
    try:
        run = RunDir(tmp_path / "run", {"a": 1}, seeds=(0,))
        run.save_unit("k=1,seed=0", {"x": 1.0}, {"y": np.zeros(3)})
        written = [run.write_results({"x": 1}), tmp_path / "run" / "config.json", *run.units.iterdir()]
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives under this umask
    finally:
        os.umask(previous)
    assert len(written) == 4
    assert {stat.S_IMODE(path.stat().st_mode) for path in written} == {0o666 & ~umask}
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask
