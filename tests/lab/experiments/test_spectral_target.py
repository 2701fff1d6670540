"""``spectral-target``: targeted starts against the classical ones (issue 19)."""

import dataclasses
import json
import math

import pytest

from specinit import lab
from specinit.lab.experiment import Unit
from specinit.lab.experiments import spectral_target as st
from specinit.lab.runner import Context


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    report = lab.run("spectral-target", quick=True, out=tmp_path, progress=False)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["experiment"] == "spectral-target" and results["seeds"] == [0]
    assert "The payoff" in (tmp_path / "report.md").read_text()
    assert {p.name for p in tmp_path.glob("*.png")} == {"test_mse.png", "fits_1d.png", "image_synthetic.png"}
    rows = report.rows
    assert len(rows) == len(st.units(st.QUICK))
    # ReLU nets keep far less than 1 % above f_c at He's gain: the allowance keeps that start.
    relu = [r for r in rows if r["activation"] == "relu" and r["start"] == "targeted"]
    assert relu and all(r["reachable"] and r["achieved"] <= r["asked"] for r in relu)
    assert all(r["value"] == pytest.approx(math.sqrt(2)) for r in relu)  # gain √2: θ = 1
    # Every targeted start keeps the allowance; the sine nets' ω0 is recorded.
    sine = [r for r in rows if r["activation"].startswith("sine") and r["start"] == "targeted"]
    assert sine and all(r["reachable"] for r in sine)
    for r in sine:
        assert r["achieved"] <= 1.05 * r["asked"]
        assert math.isfinite(r["test_mse"]) and r["value"] > 0  # ω0 recorded
    # The experiment's own measurement of the start agrees with the search's (same 1D grid).
    (one_d,) = [r for r in sine if r["task"] == "sparse-1d"]
    assert one_d["energy_above_init"] == pytest.approx(one_d["achieved"], rel=1e-6)


TINY = dataclasses.replace(
    st.QUICK, tasks=("sparse-1d",), width=16, depth=2, lrs=(1e-3,), steps=20, activations=("relu",)
)


def _unit(cfg, **params):
    (unit,) = [u for u in st.units(cfg) if all(u.params[k] == v for k, v in params.items())]
    return unit


def test_an_unreachable_target_is_a_row_with_its_range():
    below_floor = dataclasses.replace(TINY, energy_above=1e-9)  # a ReLU net keeps ~4e-6 at any gain
    unit = _unit(below_floor, start="targeted")
    row, arrays = st.run_unit(below_floor, unit, Context())
    assert row["reachable"] is False and arrays == {}
    assert all(math.isnan(row[m]) for m in ("test_mse", "train_mse", "achieved", "value"))
    assert below_floor.energy_above < row["reach_lo"] < row["reach_hi"] < 1


def test_a_classical_unit_measures_between_the_samples():
    row, arrays = st.run_unit(TINY, _unit(TINY, start="xavier_normal"), Context())
    assert row["reachable"] and not row["diverged"] and math.isnan(row["asked"])
    assert math.isfinite(row["test_mse"]) and 0 <= row["energy_above_init"] < 1
    assert arrays["shown"].shape == arrays["truth"].shape == (TINY.task.grid,)


def _row(case, start, seed, mse, reachable=True, diverged=False):
    return {
        "task": "sparse-1d",
        "case": case,
        "activation": "tanh",
        "start": start,
        "seed": seed,
        "test_mse": mse,
        "train_mse": 0.0,
        "reachable": reachable,
        "diverged": diverged,
        "reach_lo": 1e-6,
        "reach_hi": 1e-4,
    }


def test_payoff_pairs_the_targeted_start_with_the_best_classical_one():
    starts = st.CLASSICAL["tanh"]
    rows = [
        _row("sparse", s, seed, 0.1 * (i + 1) * (1 + 0.1 * seed))
        for i, s in enumerate(starts)
        for seed in range(3)
    ]
    better = rows + [_row("sparse", "targeted", seed, 0.01 * (1 + 0.2 * seed)) for seed in range(3)]
    p = st.payoff(better, "sparse-1d", "tanh", starts)
    assert p.best == starts[0] and p.holds is True and p.targeted_mse < p.best_mse
    worse = rows + [_row("sparse", "targeted", seed, 1.0 * (1 + 0.2 * seed)) for seed in range(3)]
    assert st.payoff(worse, "sparse-1d", "tanh", starts).holds is False
    unreachable = rows + [_row("sparse", "targeted", s, math.nan, reachable=False) for s in range(3)]
    p = st.payoff(unreachable, "sparse-1d", "tanh", starts)
    assert p.holds is None and p.note.startswith("not applicable") and "1e-06–0.0001" in p.note
    unsettled = [
        dict(_row("sparse", "targeted", s, math.nan, reachable=False), settled=False) for s in range(3)
    ]
    assert "search found no scale" in st.payoff(rows + unsettled, "sparse-1d", "tanh", starts).note
    diverged = rows + [_row("sparse", "targeted", s, math.nan, diverged=True) for s in range(3)]
    assert st.payoff(diverged, "sparse-1d", "tanh", starts).holds is False


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"width": 0}, "width must be positive"),
        ({"tasks": ("sparse-1d", "nope")}, "unknown tasks"),
        ({"images": ("cat",)}, "unknown images"),
        ({"activations": ("elu",)}, "no classical starts"),
        ({"energy_above": 1.5}, "strictly between 0 and 1"),
        ({"ablation": (0.01,)}, "ablation repeats"),
        ({"max_freq": 6.0}, "below the lowest fitting frequency"),
        ({"image_size": 16}, "Nyquist"),
        ({"digit": 10}, "digit must index"),
        ({"lrs": ()}, "lrs is empty"),
        ({"signals": ()}, "signals is empty"),
    ],
)
def test_config_checks_reject_values_that_cannot_run(override, message):
    with pytest.raises(ValueError, match=message):
        lab.get("spectral-target").validate(dataclasses.replace(st.Config(), **override))


def test_the_default_reads_one_digit_of_the_embedded_subset():
    cfg = lab.get("spectral-target").config()
    assert st.data_needs(cfg) == [("mnist", st.DIGITS, st.DIGITS)]
    Context().check("mnist", st.DIGITS, st.DIGITS)  # no --data-dir needed
    assert st.data_needs(dataclasses.replace(cfg, images=("synthetic",))) == []
    assert len(cfg.seeds) >= 3
    assert isinstance(st.units(cfg)[0], Unit)
