import json

import numpy as np
import pytest

from specinit.results import RunDir, config_hash, markdown_table, summarize_rows


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
    with pytest.raises(FileExistsError, match="different config"):
        RunDir(tmp_path / "run", {"a": 2})


def test_config_hash_is_stable_and_sensitive():
    assert config_hash({"a": 1, "b": (1, 2)}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 1.5})


def test_summary_mean_and_sample_std():
    rows = [{"g": "x", "m": 1.0}, {"g": "x", "m": 3.0}, {"g": "y", "m": 5.0}]
    table = summarize_rows(rows, ("g",), ("m",))
    x = next(r for r in table if r["g"] == "x")
    assert x["m_mean"] == 2.0 and x["m_std"] == pytest.approx(np.sqrt(2.0)) and x["n_seeds"] == 2
    y = next(r for r in table if r["g"] == "y")
    assert y["m_std"] == 0.0
    text = markdown_table(table, ("g",), ("m",))
    assert "| x | 2 | 2 ± 1.41 |" in text


def test_results_json_is_valid_json_with_non_finite_numbers(tmp_path):
    run = RunDir(tmp_path, {"a": 1})
    path = run.write_results({"value": float("nan"), "inf": float("inf")})
    assert json.loads(path.read_text()) == {"value": "nan", "inf": "inf"}


def test_text_table_markdown_and_aligned():
    from specinit.results import text_table

    rows = [{"method": "ours", "ms": "1.5"}, {"method": "torch", "ms": "12.25"}]
    assert text_table(rows, markdown=True).splitlines() == [
        "| method | ms |", "|---|---|", "| ours | 1.5 |", "| torch | 12.25 |"]
    plain = text_table(rows).splitlines()
    assert plain[0].split() == ["method", "ms"] and plain[2].index("1.5") == plain[0].index("ms")
    with pytest.raises(ValueError, match="at least one row"):
        text_table([])
