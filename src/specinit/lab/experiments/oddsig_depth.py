"""``oddsig-depth``: deep MLPs without normalization, odd-sigmoid init vs the classic starts.

arXiv 2509.23085 (and Tanh-Init, arXiv 2410.02242): with ``W = ω D + Z`` (closed-form noise
scale, :mod:`specinit.initializers.odd_sigmoid`) MLPs of 50–100+ layers with odd-sigmoid
activations train without normalization, while Xavier, He and Orthogonal starts do not.
Each unit trains one ``(dataset, activation, design, init, seed)`` MLP on MNIST or
Fashion-MNIST with Adam and records the test accuracy after every epoch, plus the std of the
last hidden layer at init (:func:`specinit.measure.propagation.propagation`).

Our choices, all in :class:`Config`: inputs standardized with the global mean/std of the
training split (``/255`` inputs saturate the first layer of a wrapping ``D``); the same Adam
learning rate for every init (a grid, if given, is chosen per unit by final *training* loss,
never by test accuracy); He is ``kaiming_normal`` with its default (ReLU) gain √2, Xavier and
Orthogonal use gain 1 (their defaults); ``"kaiming_normal+bn"`` is He with BatchNorm before
every activation.  The deep narrow design ``16/4x101`` is Tanh-Init's stress test:
Dense16 followed by 50 × (Dense16, Dense4).

Runtime: the default config (2 datasets × 4 activations × 4 designs × 6 inits × 3 seeds =
576 units, full 60k training sets, 5 epochs) takes about 6–8 h on 2 CPU cores
(measured: 40–100 s per 100-layer unit); ``--quick`` (2000/1000-sample balanced subsets,
designs 64x10, 64x50 and 16/4x101, 2 activations, 2 epochs, lr 1e-3, 1 seed) about 1 min.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

import specinit
from specinit import data
from specinit._core.placement import to_device
from specinit._core.plotting import figure
from specinit.data import standardize
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, binomial_stderr, ci_markdown, ci_rows, compare, verdict
from specinit.lab.runner import Context
from specinit.lab.tasks import check_image_datasets, mean_by
from specinit.measure.propagation import propagation
from specinit.nn.models import mlp, mlp_widths
from specinit.training import LR_RULES, accuracy, tune_lr

#: The starts compared: ours (``+scaled``: with ``ends="scaled"``), Tanh-Init's constant
#: noise, and the classic starts (no norm), plus He with BatchNorm (``+bn``).
INITS = (
    "odd_sigmoid",
    "odd_sigmoid+scaled",
    "tanh_init",
    "xavier_normal",
    "kaiming_normal",
    "orthogonal",
    "kaiming_normal+bn",
)
BASELINES = ("xavier_normal", "kaiming_normal", "orthogonal")
OURS = ("odd_sigmoid", "odd_sigmoid+scaled")


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    datasets: tuple[str, ...] = ("mnist", "fashion_mnist")
    activations: tuple[str, ...] = ("tanh", "arctan", "erf", "softsign")
    designs: tuple[str, ...] = ("64x10", "64x50", "64x100", "16/4x101")
    inits: tuple[str, ...] = INITS
    limit_train: int | None = None  # balanced subset size; None = the full split
    limit_test: int | None = None
    epochs: int = 5
    batch_size: int = 64
    lrs: tuple[float, ...] = (1e-4,)  # Tanh-Init's Adam lr; ≥ 3e-4 collapses the 16/4 net
    lr_rule: str = "uniform"  # or "depth": middle layers at lr/(n − 2), for every init
    probe: int = 512  # training images used for the propagation measurement at init
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Quick: only the 101-layer 16/4 design and tanh, 64 Adam steps per epoch, so a larger lr than the
# default's (the 16/4 net may collapse).
# Data: the quick config fits the embedded subsets (2000 train / 1000 test per dataset), so it
# runs with no data folder; the default needs the full sets (--data-dir / SPECINIT_DATA).
QUICK = Config(
    datasets=("mnist",),
    activations=("tanh",),
    designs=("16/4x101",),
    inits=tuple(i for i in INITS if i != "tanh_init"),
    limit_train=2000,
    limit_test=1000,
    epochs=2,
    lrs=(1e-3,),
    seeds=(0,),
)


def check_config(cfg: Any) -> None:
    """Raise ``ValueError`` for an unknown dataset or init, a bad design, or a non-odd-sigmoid
    activation (before any unit runs).
    """
    check_image_datasets(cfg.datasets)
    bad = [i for i in cfg.inits if i not in INITS]
    if bad:
        raise ValueError(f"unknown init(s) {bad}; known: {', '.join(INITS)}")
    for name in cfg.designs:
        mlp_widths(name)
    for act in cfg.activations:
        specinit.odd_sigmoid_class(act)
    if not cfg.lrs or min(cfg.lrs) <= 0:
        raise ValueError(f"lrs must hold positive learning rates, got {cfg.lrs}")
    if cfg.lr_rule not in LR_RULES:
        raise ValueError(f"unknown lr_rule {cfg.lr_rule!r}; choose from {', '.join(LR_RULES)}")


def units(cfg: Config) -> list[Unit]:
    """One unit per dataset × activation × design × init × seed (config checked first)."""
    check_config(cfg)
    cases = [
        {"dataset": d, "activation": a, "design": g, "init": i}
        for d in cfg.datasets
        for a in cfg.activations
        for g in cfg.designs
        for i in cfg.inits
    ]
    return seeds_units(cases, cfg.seeds)


def data_needs(cfg: Config) -> list[tuple[str, int | None, int | None]]:
    """The images every unit reads: one subset per dataset."""
    return [(d, cfg.limit_train, cfg.limit_test) for d in cfg.datasets]


def load(
    context: Context, dataset: str, limit_train: int | None, limit_test: int | None, seed: int
) -> data.Split:
    """Flattened split (balanced subsets drawn with ``seed``), standardized with the global
    mean and std of its training part: ``x ← (x − μ_train) / σ_train``.
    """
    return standardize(context.images(dataset, limit_train, limit_test, seed))


def build(activation: str, design: str, init: str, in_features: int, seed: int) -> nn.Module:
    """The MLP for one case, initialized by ``specinit.init_`` (every weight and bias drawn
    from ``seed``; ``odd_sigmoid`` targets the number of weight layers).
    """
    method, _, variant = init.partition("+")
    net = mlp(in_features, mlp_widths(design), 10, activation, norm="batch" if variant == "bn" else None)
    options: dict[str, Any] = {"ends": "scaled"} if variant == "scaled" else {}
    return specinit.init_(net, method, generator=seed, **options)


def train_case(
    split: data.Split,
    p: Mapping[str, Any],
    *,
    lrs: Sequence[float],
    epochs: int,
    batch_size: int,
    probe: int,
    lr_rule: str = "uniform",
    device: str | torch.device = "cpu",
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Measure the start (last hidden layer's std and saturated fraction on ``probe`` training
    images, train mode) and train with Adam (lr by final training loss, per-layer ``lr_rule``);
    test accuracy per epoch.  The nets are built on the CPU from their seed, then moved to
    ``device`` (where ``split`` is).
    """
    seed = p["seed"]
    build_case = functools.partial(
        build, p["activation"], p["design"], p["init"], split.x_train.shape[1], seed
    )

    def make() -> nn.Module:
        return to_device(build_case(), device)

    start = propagation(make(), split.x_train[:probe], train_mode=True)
    stds = start.column("std")
    search = tune_lr(
        make,
        split.x_train,
        split.y_train,
        lrs,
        loss="cross_entropy",
        optimizer="adam",
        epochs=epochs,
        batch_size=batch_size,
        generator=seed,
        x_val=split.x_test,
        y_val=split.y_test,
        progress=False,
        lr_rule=lr_rule,
    )
    history = search.result.history
    test_acc = np.asarray(history["val_accuracy"], dtype=float)
    row: dict[str, Any] = {
        "dataset": p["dataset"],
        "activation": p["activation"],
        "design": p["design"],
        "depth": len(mlp_widths(p["design"])),
        "init": p["init"],
        "seed": seed,
        "lr": search.lr,
        "std_last_init": float(stds[-1]),
        "saturated_last_init": float(start.column("frac_saturated")[-1]),
        "train_loss": search.result.final_loss,
        "train_acc": accuracy(search.model, split.x_train, split.y_train),
        **{f"test_acc_e{e + 1}": float(a) for e, a in enumerate(test_acc)},
        "test_acc": float(test_acc[-1]),
    }
    return row, {"test_acc": test_acc, "train_acc": np.asarray(history["train_accuracy"]), "std_init": stds}


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one deep MLP without normalization from one start; accuracies per epoch."""
    # One data subset (seed 0) for every unit: the seed varies the init and the batch order.
    split = load(context, unit.params["dataset"], cfg.limit_train, cfg.limit_test, 0)
    return train_case(
        split,
        unit.params,
        lrs=cfg.lrs,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        probe=cfg.probe,
        lr_rule=cfg.lr_rule,
        device=context.device,
    )


def plot_curves(
    cfg: Any,
    rows: list[dict[str, Any]],
    arrays: dict[str, dict[str, np.ndarray]],
    path: Any,
    *,
    panel: str,
    panels: Sequence[Any],
    x: str,
) -> None:
    """Mean test accuracy per epoch (over seeds and activations), one panel per ``panel``
    value and dataset, one line per init.
    """
    datasets = list(cfg.datasets)
    fig, axes = figure(len(datasets), len(panels), width=3.3 * len(panels), height=2.7 * len(datasets))
    for r, dataset in enumerate(datasets):
        for c, value in enumerate(panels):
            ax = axes[r, c]
            for init in cfg.inits:
                curves = [
                    arrays[row["unit"]]["test_acc"]
                    for row in rows
                    if (row["dataset"], row[panel], row["init"]) == (dataset, value, init)
                ]
                if curves:
                    ax.plot(np.arange(1, len(curves[0]) + 1), np.mean(curves, axis=0), "o-", ms=3, label=init)
            ax.set(
                title=f"{dataset}, {panel} {value}",
                xlabel=x,
                ylim=(0, 1),
                xticks=np.arange(1, cfg.epochs + 1),
            )
        axes[r, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_std(
    cfg: Any, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], path: Any, design: str
) -> None:
    """Per-layer activation std at init for every init (first dataset, activation and seed)."""
    fig, axes = figure(1, 1, width=5, height=3.2)
    ax = axes[0, 0]
    for init in cfg.inits:
        match = [
            row
            for row in rows
            if row["design"] == design
            and row["init"] == init
            and row["dataset"] == cfg.datasets[0]
            and row["activation"] == cfg.activations[0]
            and row["seed"] == cfg.seeds[0]
        ]
        if match:
            std = arrays[match[0]["unit"]]["std_init"]
            ax.semilogy(np.arange(1, len(std) + 1), np.maximum(std, 1e-12), label=init)
    ax.set(
        xlabel="hidden layer",
        ylabel="activation std at init",
        title=f"{cfg.activations[0]}, {design}, {cfg.datasets[0]}",
    )
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def values_by(rows: Sequence[Mapping[str, Any]], metric: str, **match: Any) -> list[float]:
    """The values of ``metric`` in the rows matching every ``column=value`` of ``match``."""
    return [float(r[metric]) for r in rows if all(r.get(k) == v for k, v in match.items())]


def n_test_images(limit_test: int | None) -> int:
    """How many test images an accuracy is measured on (None: the full 10,000-image split)."""
    return 10_000 if limit_test is None else int(limit_test)


def baseline_findings(
    rows: list[dict[str, Any]],
    inits: Sequence[str],
    cases: Sequence[Mapping[str, Any]],
    metric: str,
    n_test: int,
) -> list[Finding]:
    """For each case (a filter such as ``{"dataset": "mnist", "design": "64x50"}``) and each
    of our starts in ``inits``: does it beat Xavier, He and Orthogonal on ``metric`` (mean over
    the matching rows, i.e. over activations and seeds)?  Decided only beyond 2 standard errors
    of the larger of the spread of the paired differences (same activation and seed) and the binomial noise of
    ``n_test`` test images (:func:`specinit.lab.results.compare`).
    """
    findings: list[Finding] = []
    rivals = [i for i in BASELINES if i in inits]
    if not rivals:
        return findings
    for case in cases:
        values = {i: values_by(rows, metric, init=i, **case) for i in inits}
        means = {i: float(np.mean(v)) for i, v in values.items()}
        best_rival = max(rivals, key=means.__getitem__)
        where = ", ".join(f"{k} {v}" for k, v in case.items())
        evidence = ", ".join(f"{i} {m:.3f}" for i, m in means.items())
        for ours in OURS:
            if ours not in inits:
                continue
            holds, margin = compare(values[ours], values[best_rival], n_test=n_test, paired=True)
            findings.append(
                Finding(
                    f"{where}, no normalization: {ours} init beats Xavier/He/Orthogonal on {metric}",
                    holds,
                    f"{evidence} (mean over activations, seeds); {ours} − {best_rival}: {margin}"
                    + ("" if holds is not None else " — not decided"),
                )
            )
    return findings


METRICS = ("test_acc_e1", "test_acc", "train_acc", "std_last_init")


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per dataset × design × init (and per activation), the accuracy curves
    and the checked findings.
    """
    by = ("dataset", "design", "init")
    table = ci_rows(rows, by, METRICS)
    run.write_table("summary", table)
    by_activation = ("dataset", "activation", "design", "init")
    per_activation = ci_rows(rows, by_activation, ("test_acc",))
    run.write_table("summary_by_activation", per_activation)
    plot_curves(
        cfg,
        rows,
        arrays,
        run.figure_path("accuracy_per_epoch"),
        panel="design",
        panels=cfg.designs,
        x="epoch",
    )
    deepest = max(cfg.designs, key=lambda d: len(mlp_widths(d)))
    plot_std(cfg, rows, arrays, run.figure_path("std_at_init"), deepest)

    deep = [d for d in cfg.designs if len(mlp_widths(d)) >= 50] or [deepest]
    cases = [{"dataset": d, "design": g} for d in cfg.datasets for g in deep]
    n_test = n_test_images(cfg.limit_test)
    findings = baseline_findings(rows, cfg.inits, cases, "test_acc_e1", n_test)
    findings += baseline_findings(rows, cfg.inits, cases, "test_acc", n_test)
    ours_std = values_by(rows, "std_last_init", design=deepest, init="odd_sigmoid")
    xavier_std = values_by(rows, "std_last_init", design=deepest, init="xavier_normal")
    holds, margin = compare(ours_std, xavier_std, paired=True)
    findings.append(
        Finding(
            f"at init, the last hidden layer of {deepest} keeps a larger std with odd_sigmoid than "
            "with Xavier",
            holds,
            f"std {np.mean(ours_std):.3g} (odd_sigmoid) vs {np.mean(xavier_std):.3g} (xavier_normal); "
            f"{margin} across {len(ours_std)} network(s) per init"
            + ("" if holds is not None else " — not decided: too few networks to estimate the noise"),
        )
    )
    if "16/4x101" in cfg.designs and "mnist" in cfg.datasets:
        accs = {i: mean_by(rows, "test_acc", design="16/4x101", init=i, dataset="mnist") for i in cfg.inits}
        rivals = ", ".join(f"{i} {accs[i]:.3f}" for i in BASELINES if i in accs)
        for ours in OURS:
            if ours not in accs:
                continue
            se = binomial_stderr(accs[ours], 0.9, n_test) / np.sqrt(2)
            holds = verdict(accs[ours] - 0.9, se)
            findings.append(
                Finding(
                    f"the 101-layer 16/4 MLP reaches ≥ 90% MNIST test accuracy after {cfg.epochs} "
                    f"epochs with {ours} init, lr rule {cfg.lr_rule!r}",
                    holds,
                    f"{accs[ours]:.3f} (mean over activations, seeds; 2 SE = {2 * se:.3f} on "
                    f"{n_test} test images){'' if holds is not None else ' — not decided'}; "
                    f"without normalization: {rivals or 'no baseline run'}",
                )
            )
    return Summary(
        tables=[
            ("Mean ± 95% CI over activations and seeds", ci_markdown(table, by, METRICS)),
            ("Final test accuracy per activation", ci_markdown(per_activation, by_activation, ("test_acc",))),
        ],
        figures=[
            ("Test accuracy per epoch (mean over activations and seeds)", "accuracy_per_epoch.png"),
            ("Activation std per layer at init", "std_at_init.png"),
        ],
        findings=findings,
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="oddsig-depth",
    title="Deep MLPs without normalization: odd-sigmoid init vs Xavier, He, Orthogonal",
    source="arXiv 2509.23085 (MNIST / Fashion-MNIST depth study; Tanh-Init arXiv 2410.02242)",
    default=Config(),
    quick=QUICK,
)
