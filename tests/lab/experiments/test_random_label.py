"""``random-label`` (arXiv 2206.08558, Exp 4): design, config checks, statistics, findings, tiny runs."""

import csv
import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from specinit import lab as base
from specinit.lab import Context
from specinit.lab.experiment import Unit
from specinit.lab.experiments import random_label as rl
from specinit.lab.results import ci_rows

# Small enough to run in seconds, large enough that a (512, 512) MLP memorizes the shuffled
# labels (which is what raises its bandwidth proxy) and fits the true ones.
TINY = dataclasses.replace(
    rl.QUICK,
    datasets=("mnist",),
    archs=("mlp",),
    mlp_widths=(512, 512),
    limit_train=300,
    limit_test=300,
    epochs=15,
    batch_size=50,
    lrs=(1e-3,),
    pretrain_epochs=40,
    pretrain_lr=1e-3,
    n_bandwidth=64,
    n_hessian=100,
    trace_matvecs=6,
    seeds=(0,),
)

ROW_KEYS = {
    "dataset",
    "arch",
    "start",
    "seed",
    "pretrain_fit",
    "bw_before",
    "bw_q99_before",
    "test_acc_start",
    "lr",
    "train_loss",
    "train_acc",
    "test_acc",
    "test_loss",
    "bw_after",
    "bw_q99_after",
    "trace",
    "trace_se",
    "top_eig",
    "eig_matvecs",
}


@pytest.fixture(scope="module")
def tiny_units():
    """The two starts of one seed of the TINY config, run once for the module."""
    return {
        start: rl.run_unit(
            TINY, Unit(start, {"dataset": "mnist", "arch": "mlp", "start": start, "seed": 0}), Context()
        )
        for start in rl.STARTS
    }


def test_units_cover_every_case_and_seed():
    for cfg in (rl.Config(), rl.QUICK):
        params = [u.params for u in rl.units(cfg)]
        assert len(params) == len(cfg.datasets) * len(cfg.archs) * len(cfg.starts) * len(cfg.seeds)
        assert {(p["dataset"], p["arch"], p["start"], p["seed"]) for p in params} == {
            (d, a, s, k) for d in cfg.datasets for a in cfg.archs for s in cfg.starts for k in cfg.seeds
        }
    default = rl.Config()
    assert len(default.seeds) >= 3
    assert set(default.archs) == {"mlp", "vgg", "resnet"}
    assert set(default.datasets) == {"mnist", "fashion_mnist"}
    assert base.get("random-label").default == default


@pytest.mark.parametrize(
    "change, message",
    [
        ({"archs": ("mlp", "alexnet")}, r"unknown archs \['alexnet'\]"),
        ({"starts": ("random", "sinusoid")}, r"unknown starts \['sinusoid'\]"),
        ({"datasets": ("svhn",)}, "unknown dataset"),
        ({"datasets": ()}, "datasets is empty"),
        ({"base_init": "he_wrong"}, "unknown base_init 'he_wrong'"),
        ({"vgg_widths": (16, 0)}, "vgg_widths must be positive"),
        ({"mlp_widths": ()}, "widths must be positive"),
        ({"epochs": 0}, "epochs must be positive"),
        ({"trace_matvecs": 1}, "trace_matvecs must be at least 2"),
        ({"lrs": ()}, "must be positive"),
        ({"pretrain_lr": -1e-3}, "must be positive"),
        ({"fit_threshold": 1.5}, r"fit_threshold must lie in \(0, 1\]"),
    ],
)
def test_rejects_bad_configs(change, message):
    with pytest.raises(ValueError, match=message):
        rl.units(dataclasses.replace(TINY, **change))


@pytest.mark.parametrize("arch", [a for a in rl.ARCHS if a not in rl.PAPER_ARCHS])
def test_networks_classify_28x28_images_and_depend_on_the_seed_only(arch):
    cfg = dataclasses.replace(rl.QUICK, mlp_widths=(16,), vgg_widths=(2, 4), resnet_widths=(2, 4))
    x = torch.rand(3, 784, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)  # the global RNG must not matter: init_ overwrites every parameter
    a = rl.build_network(cfg, arch, seed=5)
    torch.manual_seed(2)
    b = rl.build_network(cfg, arch, seed=5)
    c = rl.build_network(cfg, arch, seed=6)
    images = rl.images_for(arch, x)
    assert images.shape == ((3, 784) if arch == "mlp" else (3, 1, 28, 28))
    assert a.eval()(images).shape == (3, 10)
    assert all(
        torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))


def test_tiny_units_show_the_measured_properties(tiny_units):
    (rand, rand_arrays), (rl_row, rl_arrays) = tiny_units["random"], tiny_units["random_labels"]
    for row in (rand, rl_row):
        assert set(row) == ROW_KEYS
        assert 0 <= row["test_acc"] <= 1 and 0 <= row["train_acc"] <= 1
        assert row["train_acc"] >= 0.95  # 15 epochs of Adam fit 300 images from either start
        assert row["test_acc"] > 0.5  # far above chance (0.1)
        assert row["test_loss"] > 0 and row["train_loss"] < row["test_loss"]
        assert row["trace"] > 0 and row["trace_se"] > 0
        assert 0 < row["top_eig"] < row["trace"] + 3 * row["trace_se"]  # nearly PSD near a minimum
        assert row["bw_q99_before"] > row["bw_before"] > 0
    # the shuffled labels were memorized, and that start knows nothing about the true labels
    assert math.isnan(rand["pretrain_fit"]) and rl_row["pretrain_fit"] > 0.8
    assert rl_row["test_acc_start"] < 0.3
    # random-label pre-training raises the proxy above that of the same weights before it
    assert rl_row["bw_before"] > 1.3 * rand["bw_before"]
    for arrays in (rand_arrays, rl_arrays):
        assert arrays["val_accuracy"].shape == (TINY.epochs,)
        assert arrays["val_accuracy"][-1] == pytest.approx(
            (rand if arrays is rand_arrays else rl_row)["test_acc"]
        )
        for when in ("before", "after"):
            assert arrays[f"hist_counts_{when}"].sum() == TINY.n_bandwidth * 784
            assert arrays[f"hist_edges_{when}"].size == arrays[f"hist_counts_{when}"].size + 1


def test_both_starts_of_a_seed_share_their_initial_weights(monkeypatch):
    """The random-label start is the random start plus pre-training: same base weights."""
    seen = []
    original = rl.build_network

    def spy(*args, **kwargs):
        net = original(*args, **kwargs)
        seen.append([p.detach().clone() for p in net.parameters()])
        return net

    monkeypatch.setattr(rl, "build_network", spy)
    cfg = dataclasses.replace(
        TINY,
        mlp_widths=(8,),
        limit_train=100,
        limit_test=100,
        epochs=1,
        pretrain_epochs=1,
        n_hessian=20,
        trace_matvecs=2,
        eig_tol=0.1,
    )
    for start in rl.STARTS:
        rl.run_unit(
            cfg, Unit(start, {"dataset": "mnist", "arch": "mlp", "start": start, "seed": 3}), Context()
        )
    assert all(torch.equal(p, q) for p, q in zip(*seen, strict=True))


def _fake_rows(test_gap, bw_gap, trace_gap):
    """Rows for mnist × (mlp, vgg), 2 seeds: random-label minus random = the given gaps per arch."""
    rows = []
    for i, arch in enumerate(("mlp", "vgg")):
        for seed in (0, 1):
            for start, sign in (("random", 0), ("random_labels", 1)):
                rows.append(
                    {
                        "dataset": "mnist",
                        "arch": arch,
                        "start": start,
                        "seed": seed,
                        "train_acc": 1.0,
                        "test_acc": 0.9 + sign * test_gap[i] + 0.001 * seed,
                        "test_loss": 0.3,
                        "bw_before": 1.0 + sign * bw_gap[i],
                        "bw_after": 1.0,
                        "trace": 10.0 + sign * trace_gap[i],
                        "top_eig": 2.0 + sign * trace_gap[i],
                    }
                )
    return rows


@pytest.mark.parametrize(
    "test_gap, bw_gap, trace_gap, expected",
    [
        # worse everywhere, higher B/W everywhere, sharper ⇔ worse everywhere: flatness tracks
        ((-0.1, -0.05), (0.5, 0.5), (1.0, 1.0), [True, True, False]),
        # better on vgg, lower B/W on vgg, sharper but better on vgg: flatness does not track
        ((-0.1, 0.05), (0.5, -0.5), (1.0, 1.0), [False, False, True]),
        # test-accuracy gaps within 2 binomial SE of 1000 test images: not decided
        ((-0.01, -0.01), (0.5, 0.5), (1.0, 1.0), [None, True, None]),
    ],
)
def test_findings_are_computed_from_the_numbers(test_gap, bw_gap, trace_gap, expected):
    cfg = dataclasses.replace(rl.QUICK, datasets=("mnist",), archs=("mlp", "vgg"), seeds=(0, 1))
    rows = _fake_rows(test_gap, bw_gap, trace_gap)
    table = ci_rows(rows, rl.BY, rl.METRICS)
    assert {r["n"] for r in table} == {2}
    found = rl.findings(cfg, table, rows)
    assert len(found) == 5
    assert found[0].holds  # every train accuracy is 1.0 ≥ fit_threshold
    assert [found[1].holds, found[2].holds, found[4].holds] == expected
    assert found[3].holds is None  # equal bandwidth after training: no difference to decide
    k = sum(g < 0 for g in test_gap) if expected[0] is not None else 0
    assert f"({k} of 2 cases decided for it" in found[1].claim


def test_missing_data_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECINIT_DATA", str(tmp_path / "nowhere"))
    cfg = dataclasses.replace(TINY, limit_train=123)  # a new load_images cache key
    with pytest.raises(FileNotFoundError, match=r"mnist data: searched .*nowhere.*missing"):
        rl.run_unit(cfg, rl.units(cfg)[0], Context())


def test_run_writes_results_and_resumes(tmp_path, monkeypatch):
    cfg = dataclasses.replace(
        TINY,
        mlp_widths=(8,),
        limit_train=100,
        limit_test=100,
        epochs=1,
        pretrain_epochs=1,
        n_hessian=20,
        trace_matvecs=2,
        eig_tol=0.1,
    )
    first = base.run("random-label", config=cfg, out=tmp_path, progress=False)
    assert first.skipped == 0 and len(first.rows) == 2
    for name in ("results.csv", "summary.csv", "results.json", "report.md", "random_label.png"):
        assert (tmp_path / name).stat().st_size > 0
    calls = []
    exp = base.get("random-label")
    monkeypatch.setitem(
        base.experiment._REGISTRY,
        "random-label",
        dataclasses.replace(exp, run_unit=lambda *a: calls.append(a)),
    )
    again = base.run("random-label", config=cfg, out=tmp_path, progress=False)
    assert again.skipped == 2 and calls == []
    assert again.rows == first.rows


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    report = base.run("random-label", quick=True, out=tmp_path, progress=False)
    cfg = rl.QUICK
    assert len(report.rows) == len(rl.units(cfg)) == 4
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert ROW_KEYS <= set(rows[0])
    for row in report.rows:
        assert 0.1 < row["test_acc"] <= 1 and 0 <= row["train_acc"] <= 1
        assert row["bw_before"] > 0 and row["bw_after"] > 0 and row["trace_se"] > 0
        assert np.isfinite([row["trace"], row["top_eig"], row["test_loss"]]).all()
    bw = {(r["dataset"], r["arch"], r["start"]): r["bw_before"] for r in report.rows}
    for dataset in cfg.datasets:
        for arch in [
            a for a in cfg.archs if a != "mlp"
        ]:  # the CNNs' proxy jumps within 3 pre-training epochs
            assert bw[(dataset, arch, "random_labels")] > 2 * bw[(dataset, arch, "random")]
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["findings"]) == 5
    assert all(f["holds"] in (True, False, None) for f in results["findings"])
    text = (tmp_path / "report.md").read_text()
    assert "## Findings" in text and "random_label.png" in text
    summary = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert len(summary) == len(rl.units(cfg)) and {"test_acc_mean", "test_acc_ci"} <= set(summary[0])
