"""``hyperplanes`` experiment: design, config checks, pieces, and a tiny end-to-end run."""

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch

from specinit import lab as base
from specinit.lab import Context
from specinit.lab.experiments import hyperplanes
from specinit.lab.experiments.hyperplanes import Config, Task

TINY = Config(
    tasks=(
        Task("1d", 8, 32, 300, 0.2, 1.0, 0.01),
        Task("2d", 12, 32, 300, 0.2, 1.0, 0.05),
        Task("mnist", 200, 16, 60, 0.5, 4.0, 0.1),
    ),
    pca_dim=8,
    mnist_test=100,
    records=6,
    seeds=(0, 1),
)


def _rows(path):
    with (path / "results.csv").open() as handle:
        return [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in csv.DictReader(handle)]


def test_units_cover_tasks_regimes_and_seeds():
    keys = [u.params for u in hyperplanes.units(hyperplanes.QUICK)]
    cfg = hyperplanes.QUICK
    assert len(keys) == len(cfg.tasks) * 2 * len(cfg.seeds)
    assert {(p["task"], p["regime"]) for p in keys} == {
        (t, r) for t in ("1d", "2d", "mnist") for r in ("adaptive", "lazy")
    }


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tasks": (Task("3d", 8, 8, 10, 0.1, 1.0, 0.1),)}, "unknown task kind"),
        ({"tasks": (Task("1d", 8, 8, 10, 0.1, 1.0, 0.1),) * 2}, "may appear once"),
        ({"tasks": ()}, "at least one Task"),
        ({"regimes": ("rich",)}, "unknown regime"),
        ({"tasks": (Task("1d", 8, 8, 10, 0.0, 1.0, 0.1),)}, "lr_adaptive must be positive"),
        ({"tasks": (Task("1d", 8, 1, 10, 0.1, 1.0, 0.1),)}, "width must be an integer ≥ 2"),
        ({"min_amplitude": 1.0}, "min_amplitude must lie in"),
        ({"adaptive_scale": -1.0}, "adaptive_scale must be positive"),
        ({"records": 1}, "records ≥ 2"),
    ],
)
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        hyperplanes.units(dataclasses.replace(TINY, **change))


def test_record_steps_start_at_zero_and_end_at_the_last_step():
    steps = hyperplanes.record_steps(3000, 15)
    assert steps[0] == 0 and steps[1] == 1 and steps[-1] == 3000
    assert all(a < b for a, b in zip(steps, steps[1:], strict=False)) and len(steps) <= 15


def test_problems_depend_on_the_seed_only():
    task_1d, task_2d = TINY.tasks[0], TINY.tasks[1]
    a, b = (
        hyperplanes.make_problem(TINY, task_1d, 3, Context()),
        hyperplanes.make_problem(TINY, task_1d, 3, Context()),
    )
    assert torch.equal(a.x, b.x) and a.x.shape == (8, 1)
    assert torch.all(a.x[1:] >= a.x[:-1])
    assert torch.allclose(a.y, torch.sin(3 * a.x) + 0.5 * a.x)
    assert not torch.equal(a.x, hyperplanes.make_problem(TINY, task_1d, 4, Context()).x)
    two = hyperplanes.make_problem(TINY, task_2d, 0, Context())
    assert two.x.shape == (12, 2) and two.x_test.shape == (1024, 2) and two.loss == "mse"


def test_findings_follow_the_numbers():
    cfg = dataclasses.replace(TINY, tasks=(TINY.tasks[0],))
    stds = ("n_clusters", "pinned_fraction", "pinned_fraction_init", "movement")
    base_row = {
        "task": "1d",
        "width": 32,
        "n": 2,
        "train_loss_mean": 0.01,
        **{f"{m}_std": 0.001 for m in stds},
    }
    table = [
        {
            **base_row,
            "regime": "adaptive",
            "n_clusters_mean": 2.0,
            "n_effective_mean": 1.5,
            "pinned_fraction_mean": 0.8,
            "pinned_fraction_init_mean": 0.1,
            "pinning_mean": 0.01,
            "movement_mean": 0.5,
        },
        {
            **base_row,
            "regime": "lazy",
            "n_clusters_mean": 30.0,
            "n_effective_mean": 20.0,
            "pinned_fraction_mean": 0.1,
            "pinned_fraction_init_mean": 0.1,
            "pinning_mean": 0.3,
            "movement_mean": 0.02,
        },
    ]
    found = {f.claim.split(": ", 1)[1]: f.holds for f in hyperplanes.findings(cfg, table)}
    assert found["clusters ≪ width (fewer than width/10 = 3.2)"] is True
    assert found[next(k for k in found if k.startswith("most cluster mass is pinned"))] is True
    assert found[next(k for k in found if k.startswith("hyperplanes move less"))] is False
    assert found["lazy hyperplanes move less than a tenth as far as adaptive ones"] is True
    assert found["the adaptive regime ends with fewer clusters than the lazy one"] is True
    # one seed: no noise estimate, nothing decided
    one = [{**row, "n": 1} for row in table]
    assert all(f.holds is None for f in hyperplanes.findings(cfg, one))
    # a difference within 2 SE of the seeds is not decided
    noisy = [{**row, "n_clusters_std": 40.0} for row in table]
    found = {f.claim.split(": ", 1)[1]: f.holds for f in hyperplanes.findings(cfg, noisy)}
    assert found["the adaptive regime ends with fewer clusters than the lazy one"] is None


@pytest.mark.slow
def test_tiny_run_writes_everything_and_is_deterministic(tmp_path):
    first = base.run("hyperplanes", config=TINY, out=tmp_path / "a", progress=False)
    for name in (
        "results.json",
        "results.csv",
        "summary.csv",
        "report.md",
        "series.png",
        "breakpoints_1d.png",
        "lines_2d.png",
    ):
        assert (first.path / name).stat().st_size > 0, name
    unit = base.Unit("k", {"task": "2d", "regime": "adaptive", "seed": 1})
    row, arrays = hyperplanes.run_unit(TINY, unit, Context())
    again_row, again_arrays = hyperplanes.run_unit(TINY, unit, Context())
    assert row == again_row and all(np.array_equal(arrays[k], again_arrays[k]) for k in arrays)
    saved = next(r for r in _rows(first.path) if r["unit"] == "task=2d,regime=adaptive,seed=1")
    assert float(saved["train_loss"]) == pytest.approx(row["train_loss"], rel=1e-12)
    assert len(first.rows) == 12
    report = (first.path / "report.md").read_text()
    assert "mean ± 95% CI" in report and " ± " in report.split("## Clustering")[1]
    results = json.loads((first.path / "results.json").read_text())
    summary = {(r["task"], r["regime"]): r for r in results["metrics"]["summary"]}
    assert len(summary) == 6 and summary["2d", "adaptive"]["width"] == 32
    pair = [r for r in first.rows if (r["task"], r["regime"]) == ("2d", "adaptive")]
    assert summary["2d", "adaptive"]["n"] == 2
    assert summary["2d", "adaptive"]["train_loss_mean"] == pytest.approx(
        np.mean([r["train_loss"] for r in pair])
    )
    claims = [f["claim"] for f in results["findings"]]
    assert sum("clusters ≪ width" in c for c in claims) == 3
    assert sum("lazy regime: hyperplanes move" in c for c in claims) == 3
    for row in first.rows:
        assert 0 <= row["pinned_fraction"] <= 1 and row["n_clusters"] >= 1
        task = next(t for t in TINY.tasks if t.kind == row["task"])
        expected = task.lr_adaptive if row["regime"] == "adaptive" else task.lr_lazy / task.width
        assert row["lr"] == pytest.approx(expected)
        if row["task"] == "mnist":
            assert 0 <= row["test_error"] < 0.9
    # both regimes start from the same hyperplanes (same generator, scale only)
    for task in ("1d", "2d", "mnist"):
        init = {r["regime"]: r["n_clusters_init"] for r in first.rows if r["task"] == task and r["seed"] == 0}
        assert init["adaptive"] == init["lazy"]
    # resuming reuses every finished unit
    again = base.run("hyperplanes", config=TINY, out=tmp_path / "a", progress=False)
    assert again.skipped == 12
