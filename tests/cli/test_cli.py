import json
import re

import pytest
from click.testing import CliRunner

from specinit.cli import main


def test_list_names_every_experiment():
    result = CliRunner().invoke(main, ["reproduce", "--list"])
    assert result.exit_code == 0
    for name in ("inr-depth", "spectral-bias", "bandwidth-1d"):
        assert name in result.output


def test_unknown_experiment_is_a_usage_error():
    result = CliRunner().invoke(main, ["reproduce", "nope"])
    assert result.exit_code == 2 and "unknown experiment 'nope'" in result.output
    result = CliRunner().invoke(main, ["reproduce"])
    assert result.exit_code == 2 and "name an experiment" in result.output


def test_methods_lists_initializers():
    result = CliRunner().invoke(main, ["methods"])
    assert result.exit_code == 0
    assert re.search(r"^xavier_normal\s", result.output, re.M)
    assert re.search(r"^high_frequency\s", result.output, re.M)


@pytest.mark.slow
def test_quick_spectral_bias_run_writes_results_and_resumes(tmp_path):
    args = ["reproduce", "spectral-bias", "--quick", "--out", str(tmp_path), "--no-progress"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert re.search(r"spectral-bias: [0-3]/3 findings hold, [0-3] not decided;", first.output), first.output
    assert "0 unit(s) reused" in first.output
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["rows"]) == 3 and results["config"]["steps"] > 0
    assert (tmp_path / "convergence_heatmaps.png").stat().st_size > 10_000
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "3 unit(s) reused" in again.output


def test_set_overrides_parse_like_the_field():
    from specinit.lab import get
    from specinit.lab.config import replace_fields

    exp = get("oddsig-depth")
    cfg = exp.config(
        quick=True,
        overrides={"designs": "16/4x101, 64x10", "epochs": "3", "lrs": "1e-4,3e-4", "limit_train": "none"},
    )
    assert cfg.designs == ("16/4x101", "64x10") and cfg.epochs == 3
    assert cfg.lrs == (1e-4, 3e-4) and cfg.limit_train is None
    assert replace_fields(cfg, {"limit_test": "500"}).limit_test == 500
    with pytest.raises(ValueError, match="unknown config field 'depths'"):
        exp.config(quick=True, overrides={"depths": "3"})
    with pytest.raises(ValueError, match="cannot parse 'x' as int"):
        exp.config(quick=True, overrides={"epochs": "x"})


def test_set_errors_name_the_field():
    result = CliRunner().invoke(main, ["reproduce", "oddsig-depth", "--quick", "--set", "epochs"])
    assert result.exit_code == 2 and "not FIELD=VALUE" in result.output
    result = CliRunner().invoke(main, ["reproduce", "oddsig-depth", "--set", "epoch=2"])
    assert result.exit_code == 2 and "unknown config field 'epoch'" in result.output
    result = CliRunner().invoke(main, ["reproduce", "all", "--set", "epochs=2"])
    assert result.exit_code == 2 and "not 'all'" in result.output
