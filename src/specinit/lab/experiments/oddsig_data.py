"""``oddsig-data``: data efficiency of deep MLPs without normalization, by initialization.

arXiv 2509.23085 trains deep odd-sigmoid MLPs on 100 and 500 training images for 10 epochs:
a start that keeps the signal dispersed should learn from few samples where Xavier, He and
Orthogonal starts do not.  Each unit trains one ``(dataset, train_size, activation, design,
init, seed)`` MLP on a class-balanced subset of MNIST or Fashion-MNIST (drawn with the unit's
seed) and records the test accuracy (full test split) after every epoch; the model, data
standardization and measurement are those of :mod:`specinit.lab.experiments.oddsig_depth`.

Every init gets the same Adam learning-rate grid, chosen per unit by final *training* loss
(never test accuracy).  The default config (2 datasets × 2 sizes × 4 activations × 2 designs ×
6 inits × 3 seeds = 576 units, 3 learning rates each) takes about 1–2 h on 2 CPU cores;
``--quick`` (MNIST only, tanh only, 1000 test images, lrs 1e-4 and 1e-3, 1 seed) about
1.5 min.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.experiments.oddsig_depth import (
    INITS,
    baseline_findings,
    check_config,
    load,
    n_test_images,
    plot_curves,
    train_case,
    values_by,
)
from specinit.lab.results import Finding, RunDir, ci_markdown, ci_rows, compare
from specinit.lab.runner import Context
from specinit.nn.models import mlp_widths


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    datasets: tuple[str, ...] = ("mnist", "fashion_mnist")
    train_sizes: tuple[int, ...] = (100, 500)  # balanced subsets (10 and 50 images per class)
    activations: tuple[str, ...] = ("tanh", "arctan", "erf", "softsign")
    designs: tuple[str, ...] = ("64x20", "64x50")
    inits: tuple[str, ...] = INITS
    limit_test: int | None = None  # None = the full 10,000-image test split
    epochs: int = 10
    batch_size: int = 16  # 100 images → 7 steps per epoch
    lrs: tuple[float, ...] = (1e-4, 3e-4, 1e-3)
    lr_rule: str = "uniform"  # or "depth" (middle layers at lr/(n − 2)), for every init
    probe: int = 100  # training images used for the propagation measurement at init
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Data: the quick config fits the embedded subsets (2000 train / 1000 test per dataset), so it
# runs with no data folder; the default needs the full sets (--data-dir / SPECINIT_DATA).
# Quick: one 20-layer design, 6 epochs, one lr and the inits the findings compare (no Tanh-Init, no +scaled).
QUICK = Config(
    datasets=("mnist",),
    activations=("tanh",),
    designs=("64x20",),
    inits=("odd_sigmoid", "xavier_normal", "kaiming_normal", "orthogonal", "kaiming_normal+bn"),
    limit_test=1000,
    epochs=6,
    lrs=(1e-3,),
    seeds=(0,),
)


def units(cfg: Config) -> list[Unit]:
    """One unit per dataset × train size × activation × design × init × seed (config checked first)."""
    check_config(cfg)
    if not cfg.train_sizes or min(cfg.train_sizes) < 10:
        raise ValueError(f"train_sizes must be at least 10 (one image per class), got {cfg.train_sizes}")
    cases = [
        {"dataset": d, "train_size": n, "activation": a, "design": g, "init": i}
        for d in cfg.datasets
        for n in cfg.train_sizes
        for a in cfg.activations
        for g in cfg.designs
        for i in cfg.inits
    ]
    return seeds_units(cases, cfg.seeds)


def data_needs(cfg: Config) -> list[tuple[str, int | None, int | None]]:
    """The images the units read: per dataset, the largest training subset and the test part."""
    return [(d, max(cfg.train_sizes), cfg.limit_test) for d in cfg.datasets]


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one MLP on a class-balanced subset of the given size; accuracies per epoch."""
    p = unit.params
    split = load(context, p["dataset"], p["train_size"], cfg.limit_test, p["seed"])
    row, arrays = train_case(
        split,
        p,
        lrs=cfg.lrs,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        probe=cfg.probe,
        lr_rule=cfg.lr_rule,
        device=context.device,
    )
    return {"train_size": p["train_size"], **row}, arrays


METRICS = ("test_acc", "train_acc", "std_last_init")


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per dataset × train size × design × init, the accuracy curves and the
    checked findings.
    """
    by = ("dataset", "train_size", "design", "init")
    table = ci_rows(rows, by, METRICS)
    run.write_table("summary", table)
    for design in cfg.designs:
        plot_curves(
            cfg,
            [r for r in rows if r["design"] == design],
            arrays,
            run.figure_path(f"accuracy_per_epoch_{design}"),
            panel="train_size",
            panels=cfg.train_sizes,
            x=f"epoch ({design})",
        )
    deepest = max(cfg.designs, key=lambda d: len(mlp_widths(d)))
    cases = [
        {"dataset": d, "train_size": n, "design": deepest} for d in cfg.datasets for n in cfg.train_sizes
    ]
    n_test = n_test_images(cfg.limit_test)
    findings = baseline_findings(rows, cfg.inits, cases, "test_acc", n_test)
    if "odd_sigmoid" in cfg.inits and "kaiming_normal+bn" in cfg.inits:
        ours = values_by(rows, "test_acc", init="odd_sigmoid", design=deepest)
        bn = values_by(rows, "test_acc", init="kaiming_normal+bn", design=deepest)
        # "within 2 points": ours + 0.02 > bn, beyond the noise
        holds, margin = compare(np.asarray(ours) + 0.02, bn, n_test=n_test, paired=True)
        findings.append(
            Finding(
                f"{deepest}: odd_sigmoid without normalization matches He + BatchNorm on few "
                "samples (within 2 points of test accuracy)",
                holds,
                f"test accuracy {np.mean(ours):.3f} vs {np.mean(bn):.3f} (mean over datasets, sizes, "
                f"activations, seeds); ours + 0.02 − BN: {margin}"
                + ("" if holds is not None else " — not decided"),
            )
        )
    return Summary(
        tables=[
            ("Final test accuracy, mean ± 95% CI over activations and seeds", ci_markdown(table, by, METRICS))
        ],
        figures=[
            (f"Test accuracy per epoch, {d} (mean over activations and seeds)", f"accuracy_per_epoch_{d}.png")
            for d in cfg.designs
        ],
        findings=findings,
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="oddsig-data",
    title="Data efficiency of deep MLPs without normalization: 100 and 500 training images",
    source="arXiv 2509.23085 (data-efficiency study)",
    default=Config(),
    quick=QUICK,
)
