"""``swim-1d`` and ``swim-mnist``: unit lists, config checks, pieces, and tiny end-to-end runs."""

import csv
import dataclasses
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specinit import SwimRegressor, scale_schedule
from specinit import lab as base
from specinit import lab as experiments
from specinit.initializers.readout import calibrate_logits
from specinit.lab import Context
from specinit.lab.experiments import swim_1d, swim_mnist
from specinit.lab.experiments.swim_1d import MixedTask, n_params
from specinit.nn.models import mlp

TINY_1D = dataclasses.replace(
    swim_1d.QUICK,
    task=MixedTask(n_train=128, n_test=512),
    depths=(1, 2),
    widths=(16, 64),
    sampler_depth=2,
    adam_widths=(16,),
    adam_steps=50,
    lrs=(1e-3, 1e-2),
    spectra_width=16,
)
TINY_MNIST = dataclasses.replace(
    swim_mnist.QUICK,
    datasets=("mnist",),
    widths=(64,),
    limit_train=300,
    limit_test=100,
    train_eval=100,
    finetune_width=32,
    epochs=1,
    lrs=(1e-3,),
)


def _rows(path):
    with (path / "results.csv").open() as handle:
        return [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in csv.DictReader(handle)]


def test_swim_1d_units_cover_the_design():
    keys = [u.params for u in swim_1d.units(swim_1d.QUICK)]
    cfg = swim_1d.QUICK
    swim = [p for p in keys if p["method"] == "swim"]
    # depth 1: spectral and constant only ("reversed" is the same one-layer network)
    assert len(swim) == len(cfg.widths) * (2 + 3 * (len(cfg.depths) - 1)) * len(cfg.seeds)
    assert not [p for p in swim if p["depth"] == 1 and p["schedule"] == "reversed"]
    samplers = [p for p in keys if p["method"] in ("uniform", "random_feature")]
    assert {(p["depth"], p["schedule"]) for p in samplers} == {(cfg.sampler_depth, "constant")}
    assert len(samplers) == 2 * len(cfg.widths) * len(cfg.seeds)
    adam = [p for p in keys if p["method"].endswith("+adam")]
    assert {p["width"] for p in adam} == set(cfg.adam_widths)
    assert len(adam) == len(cfg.adam_inits) * len(cfg.depths) * len(cfg.adam_widths) * len(cfg.seeds)


def test_swim_mnist_units_cover_the_design():
    cfg = swim_mnist.QUICK
    keys = [u.params for u in swim_mnist.units(cfg)]
    per_dataset = len(cfg.widths) * (2 + 3 * (len(cfg.depths) - 1)) + len(cfg.finetune_inits)
    assert len(keys) == len(cfg.datasets) * per_dataset * len(cfg.seeds)
    tuned = [p for p in keys if p["method"] != "swim"]
    assert {(p["depth"], p["width"]) for p in tuned} == {(cfg.finetune_depth, cfg.finetune_width)}
    assert {p["schedule"] for p in tuned if p["method"] == "swim+adam"} == {cfg.finetune_schedule}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schedules": ("spectral", "steep")}, "unknown schedule"),
        ({"samplers": ("swim",)}, "unknown extra sampler"),
        ({"sampler_depth": 7}, "sampler_depth 7"),
        ({"adam_inits": ("orthogonal",)}, "unknown Adam init"),
        ({"adam_widths": (999,)}, "must match a SWIM network"),
        ({"spectra_width": 999}, "spectra_width 999"),
        ({"widths": (0, 16)}, "widths must be positive"),
        ({"lrs": ()}, "positive learning rates"),
        ({"activation": "sine"}, "no scales for activation"),
        ({"l2": 0.0}, "l2 must be positive"),
    ],
)
def test_swim_1d_rejects_bad_configs(change, message):
    with pytest.raises(ValueError, match=message):
        swim_1d.units(dataclasses.replace(TINY_1D, **change))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"datasets": ("svhn",)}, "unknown dataset"),
        ({"schedules": ("flat",)}, "unknown schedule"),
        ({"finetune_schedule": "flat"}, "unknown schedule"),
        ({"finetune_inits": ("kaiming_uniform",)}, "unknown fine-tuning start"),
        ({"depths": (0,)}, "positive integers"),
        ({"lrs": (-1e-3,)}, "positive learning rates"),
        ({"logit_scales": ()}, "logit_scales"),
        ({"finetune_l2": -1.0}, "finetune_l2 must be positive"),
    ],
)
def test_swim_mnist_rejects_bad_configs(change, message):
    with pytest.raises(ValueError, match=message):
        swim_mnist.units(dataclasses.replace(TINY_MNIST, **change))


def test_overrides_parse_like_the_fields():
    cfg = experiments.get("swim-1d").config(
        quick=True,
        overrides={
            "widths": "32,64",
            "adam_widths": "32",
            "spectra_width": "64",
            "l2": "1e-8",
            "schedules": "spectral,constant",
        },
    )
    assert cfg.widths == (32, 64) and cfg.adam_widths == (32,) and cfg.spectra_width == 64
    assert cfg.l2 == 1e-8 and cfg.schedules == ("spectral", "constant")
    swim_1d.units(cfg)
    cfg = experiments.get("swim-mnist").config(
        quick=True, overrides={"lrs": "1e-4,1e-3", "limit_train": "500", "finetune_inits": "swim"}
    )
    assert cfg.lrs == (1e-4, 1e-3) and cfg.limit_train == 500 and cfg.finetune_inits == ("swim",)


def test_test_points_are_never_training_points():
    task = MixedTask(n_train=64, n_test=256)
    x, y = task.train()
    xt, yt = task.test()
    assert x.dtype == xt.dtype == torch.float64 and len(x) == 64 and len(xt) == 256
    gaps = (xt - x.T).abs().min(1).values
    assert float(gaps.min()) == pytest.approx(0.5 * (task.hi - task.lo) / task.n_test)
    assert torch.allclose(yt[:, 0], task.target(xt)[:, 0])
    xv, _ = task.validation(100, seed=3)
    assert torch.equal(xv, task.validation(100, seed=3)[0])
    assert float(xv.min()) >= task.lo and float(xv.max()) < task.hi


@pytest.mark.parametrize("depth, width", [(1, 7), (3, 16)])
def test_parameter_count_matches_the_torch_mlp(depth, width):
    net = mlp(1, [width] * depth, 1, "tanh")
    assert n_params(depth, width) == sum(p.numel() for p in net.parameters())


def test_swim_unit_is_the_estimator_fitted_directly():
    # depth 1, "spectral": one layer at s1·√(low·high), nothing else changes
    unit = base.Unit("k", {"method": "swim", "schedule": "spectral", "depth": 1, "width": 32, "seed": 5})
    row, arrays = swim_1d.run_unit(TINY_1D, unit, Context())
    x, y = TINY_1D.task.train()
    xt, yt = TINY_1D.task.test()
    scales = scale_schedule("spectral", 1, "tanh")
    reg = SwimRegressor(widths=(32,), scales=scales, l2=TINY_1D.l2, random_state=5, dtype="float64").fit(
        x.numpy(), y[:, 0].numpy()
    )
    expected = float(np.mean((reg.predict(xt.numpy()) - yt[:, 0].numpy()) ** 2))
    assert row["test_mse"] == pytest.approx(expected, rel=1e-9)
    assert row["params"] == n_params(1, 32) and math.isnan(row["lr"])
    assert arrays["centroids"].shape == (1,)


def test_calibrate_logits_picks_the_lowest_cross_entropy():
    g = torch.Generator().manual_seed(0)
    net = mlp(5, [8], 3, "tanh")
    for p in net.parameters():
        p.data = torch.randn(p.shape, generator=g)
    x = torch.randn(64, 5, generator=g)
    with torch.no_grad():
        before = net(x)
    y = before.argmax(1)  # outputs agree with the labels: larger T keeps lowering the loss
    y[:8] = (y[:8] + 1) % 3  # ... until the wrong rows make a finite T best
    factors = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    losses = [float(F.cross_entropy(t * before, y)) for t in factors]
    best = calibrate_logits(net, x, y, factors)
    assert best == factors[int(np.argmin(losses))]
    with torch.no_grad():
        after = net(x)
    assert torch.allclose(after, best * before, rtol=1e-5, atol=1e-5)
    assert torch.equal(after.argmax(1), before.argmax(1))
    with pytest.raises(TypeError, match="must end in nn.Linear"):
        calibrate_logits(torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Tanh()), x, y, factors)


@pytest.mark.slow
def test_tiny_swim_1d_run_writes_everything_and_is_deterministic(tmp_path):
    first = base.run("swim-1d", config=TINY_1D, out=tmp_path / "a", progress=False)
    second = base.run("swim-1d", config=TINY_1D, out=tmp_path / "b", progress=False)
    for name in (
        "results.json",
        "results.csv",
        "summary.csv",
        "report.md",
        "test_mse_vs_width.png",
        "layer_spectra.png",
    ):
        assert (first.path / name).stat().st_size > 0, name
    assert _rows(first.path) == _rows(second.path)
    assert len(first.rows) == len(swim_1d.units(TINY_1D))
    results = json.loads((first.path / "results.json").read_text())
    claims = [f["claim"] for f in results["findings"]]
    assert any("spectral beats constant" in c for c in claims)
    assert any("Xavier/He + Adam" in c for c in claims)
    for row in first.rows:
        assert row["test_mse"] > 0 and row["train_mse"] > 0
        if row["method"].endswith("+adam"):
            assert row["lr"] in TINY_1D.lrs
    deep = [r for r in first.rows if r["method"] == "swim" and r["depth"] == 2]
    assert all(r["centroid_first"] > 0 and r["centroid_last"] > 0 for r in deep)


@pytest.mark.slow
def test_tiny_swim_mnist_run_writes_everything(tmp_path):
    report = base.run("swim-mnist", config=TINY_MNIST, out=tmp_path, progress=False)
    for name in (
        "results.json",
        "summary.csv",
        "summary_finetune.csv",
        "report.md",
        "accuracy_vs_width.png",
        "finetune.png",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    swim = [r for r in report.rows if r["method"] == "swim"]
    tuned = {r["method"]: r for r in report.rows if r["method"] != "swim"}
    assert len(swim) == 5 and set(tuned) == {"swim+adam", "xavier_normal+adam"}
    assert all(0.5 < r["test_acc"] <= 1.0 for r in swim)  # 300 MNIST images, width 64
    # the SWIM start is already a classifier; the Xavier start is chance level
    assert tuned["swim+adam"]["test_acc_e0"] > 0.5 > tuned["xavier_normal+adam"]["test_acc_e0"]
    assert tuned["swim+adam"]["logit_scale"] in TINY_MNIST.logit_scales
    assert any("98.5%" in f.claim for f in report.findings)
