"""``oddsig-depth`` and ``oddsig-data`` run end to end on tiny configs, deterministically."""

import csv
import dataclasses
import json

import pytest

from specinit import lab as base
from specinit.lab.experiments import oddsig_data, oddsig_depth

TINY_DEPTH = dataclasses.replace(
    oddsig_depth.QUICK,
    datasets=("mnist",),
    activations=("tanh",),
    designs=("16/4x21",),
    inits=("odd_sigmoid", "xavier_normal"),
    limit_train=200,
    limit_test=100,
    epochs=1,
    probe=100,
)
TINY_DATA = dataclasses.replace(
    oddsig_data.QUICK,
    datasets=("fashion_mnist",),
    train_sizes=(20,),
    activations=("erf",),
    designs=("32x5",),
    inits=("odd_sigmoid", "kaiming_normal+bn"),
    limit_test=50,
    epochs=2,
    lrs=(1e-3,),
    probe=20,
)


def _rows(path):
    with (path / "results.csv").open() as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


@pytest.mark.parametrize(
    "name, cfg, figures",
    [
        ("oddsig-depth", TINY_DEPTH, ("accuracy_per_epoch.png", "std_at_init.png")),
        ("oddsig-data", TINY_DATA, ("accuracy_per_epoch_32x5.png",)),
    ],
)
def test_tiny_run_writes_everything_and_is_deterministic(tmp_path, monkeypatch, name, cfg, figures):
    monkeypatch.delenv("SPECINIT_DATA", raising=False)  # no data folder: the embedded subset
    first = base.run(name, config=cfg, out=tmp_path / "a", progress=False)
    second = base.run(name, config=cfg, out=tmp_path / "b", progress=False)
    for f in ("results.json", "results.csv", "summary.csv", "report.md", *figures):
        assert (first.path / f).is_file(), f
    results = json.loads((first.path / "results.json").read_text())
    assert len(results["rows"]) == len(cfg.inits) == len(first.rows)
    assert results["findings"], "the summary states at least one checked finding"
    assert results["data"]["embedded"] is True  # results and report say which data ran
    assert "embedded subset, 2000 train / 1000 test" in (first.path / "report.md").read_text()
    rows = _rows(first.path)
    assert rows == _rows(second.path)  # same seed → the same numbers, to the last digit
    for row in rows:
        accuracies = [float(row[f"test_acc_e{e + 1}"]) for e in range(cfg.epochs)]
        assert all(0.0 <= a <= 1.0 for a in accuracies)
        assert float(row["test_acc"]) == accuracies[-1]


def test_narrow_net_keeps_signal_with_odd_sigmoid_but_not_xavier(tmp_path):
    # 16/4 alternating widths, 21 layers: Xavier's gain is subcritical through the width-4
    # bottlenecks, so the signal shrinks geometrically (std ≈ 0.005–0.015 at layer 21), while
    # W = ωD + Z keeps it near the decay law's 0.22.
    report = base.run("oddsig-depth", config=TINY_DEPTH, out=tmp_path, progress=False)
    std = {row["init"]: row["std_last_init"] for row in report.rows}
    assert std["odd_sigmoid"] > 0.15
    assert std["odd_sigmoid"] > 5 * std["xavier_normal"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"activations": ("relu",)}, "not in the odd-sigmoid class"),
        ({"inits": ("lsuv",)}, "unknown init"),
        ({"datasets": ("svhn",)}, "unknown dataset"),
        ({"lrs": ()}, "positive learning rates"),
    ],
)
def test_bad_configs_are_rejected_before_running(change, message):
    with pytest.raises(ValueError, match=message):
        oddsig_depth.units(dataclasses.replace(TINY_DEPTH, **change))


def test_data_experiment_needs_a_sample_per_class():
    with pytest.raises(ValueError, match="train_sizes"):
        oddsig_data.units(dataclasses.replace(TINY_DATA, train_sizes=(5,)))
