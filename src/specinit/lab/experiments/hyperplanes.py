"""``hyperplanes``: hyperplane clustering and datapoint pinning of shallow ReLU nets, adaptive vs lazy.

arXiv 2503.10587 (Sahs et al.) claims that in the adaptive (rich) regime the zero-hyperplanes
``{x : ⟨w_k, x⟩ + b_k = 0}`` of a shallow net's neurons gather into a few clusters attached to
training points, while in the kernel (lazy) regime they stay where they started.  Each unit
trains one shallow ReLU net ``Linear → ReLU → Linear`` with full-batch gradient descent on one
task and records its hyperplanes (:class:`specinit.measure.hyperplanes.HyperplaneTracker`) at about
``records`` log-spaced steps:

* ``1d``: ``n_train`` points drawn uniformly on ``[−1, 1]`` (per seed), ``y = sin(3x) + x/2``;
* ``2d``: ``n_train`` points uniform on ``[−1, 1]²``, ``y = sin(2x₁) cos(2x₂)``;
* ``mnist``: a balanced MNIST subset (``n_train`` images, pixels in ``[0, 1]``) projected on its
  top ``pca_dim`` principal directions (centred; fitted on the training subset), 10-way
  cross-entropy.  With ``N`` points in ``d ≥ N`` dimensions a hyperplane can pass through every
  point, so pinning is only informative after a projection with ``d ≪ N``.

Regimes (:func:`specinit.initializers.shallow_init_`, same generator, hence the *same* initial
hyperplanes): ``lazy`` is the standard scale (``w ~ N(0, 1/d)``, ``b ~ N(0, 1)``,
``v ~ N(0, 1/K)``) with learning rate ``lr_lazy / K`` — the kernel of this parameterization
grows ∝ width ``K``, so stable gradient descent needs ``lr ∝ 1/K``; ``adaptive`` multiplies
every weight by ``adaptive_scale`` (small initialization) and uses ``lr_adaptive``.

Measured per record (:func:`specinit.measure.hyperplanes.cluster_hyperplanes`, rule there): the number of
clusters among neurons with amplitude ``≥ min_amplitude ×`` the largest, the effective number
(participation ratio of cluster masses), the within-cluster spread, the *pinned fraction* —
share of cluster mass whose hyperplane lies closer to a training point than ``pin_tol`` times
the data's median spacing along its normal (0.25 is typical of a random placement) — and the
median movement ``‖(ŵ, β)_t − (ŵ, β)_0‖`` of the neurons' hyperplanes.

Runtime (one core, ``OMP_NUM_THREADS=1``, measured on a shared 2-core machine at load ~7):
``--quick`` (widths 256/256/64, 3 seeds) 28 s; the default (widths 1024/1024/256, 5 seeds)
275 s.  Results and their reading: docs/concepts/shallow.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specinit._core.plotting import figure
from specinit._core.rng import as_generator
from specinit.data import pca_project
from specinit.initializers import shallow_init_
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows, verdict
from specinit.lab.runner import Context
from specinit.measure.hyperplanes import HyperplaneTracker, Neurons, cluster_hyperplanes, hyperplane_movement
from specinit.nn.models import mlp
from specinit.training import accuracy, train

KINDS = ("1d", "2d", "mnist")
REGIME_NAMES = ("adaptive", "lazy")


@dataclass(frozen=True)
class Task:
    """One problem: ``kind`` (``1d``, ``2d``, ``mnist``), training points, width, steps, the
    two learning rates (``lr_lazy`` is multiplied by ``1/width``) and the clustering radius.
    """

    kind: str
    n_train: int
    width: int
    steps: int
    lr_adaptive: float
    lr_lazy: float
    eps: float


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    tasks: tuple[Task, ...] = (
        Task("1d", 12, 1024, 6000, 0.2, 1.0, 0.01),
        Task("2d", 30, 1024, 6000, 0.2, 1.0, 0.05),
        Task("mnist", 2000, 256, 2000, 0.5, 4.0, 0.1),
    )
    regimes: tuple[str, ...] = REGIME_NAMES
    adaptive_scale: float = 1e-3
    min_amplitude: float = 1e-2
    pin_tol: float = 0.1
    lazy_move_tol: float = 0.01
    pca_dim: int = 32
    mnist_test: int = 2000
    records: int = 25
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Data: the quick config fits the embedded subsets (2000 train / 1000 test per dataset), so it
# runs with no data folder; the default needs the full sets (--data-dir / SPECINIT_DATA).
QUICK = Config(
    tasks=(
        Task("1d", 12, 256, 1000, 0.2, 1.0, 0.01),
        Task("2d", 30, 256, 1000, 0.2, 1.0, 0.05),
        Task("mnist", 500, 64, 200, 0.5, 4.0, 0.1),
    ),
    mnist_test=500,
    records=10,
    seeds=(0, 1),
)


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for an unknown task kind or regime, or a non-positive setting."""
    if not cfg.tasks:
        raise ValueError("tasks must hold at least one Task")
    kinds = [t.kind for t in cfg.tasks]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown task kind(s) {bad}; choose from {', '.join(KINDS)}")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"each task kind may appear once, got {kinds}")
    bad = [r for r in cfg.regimes if r not in REGIME_NAMES]
    if bad or not cfg.regimes:
        raise ValueError(f"unknown regime(s) {bad}; choose from {', '.join(REGIME_NAMES)}")
    for t in cfg.tasks:
        for name in ("n_train", "width", "steps"):
            if not isinstance(getattr(t, name), int) or getattr(t, name) < 2:
                raise ValueError(f"task {t.kind}: {name} must be an integer ≥ 2, got {getattr(t, name)!r}")
        for name in ("lr_adaptive", "lr_lazy", "eps"):
            if not getattr(t, name) > 0:
                raise ValueError(f"task {t.kind}: {name} must be positive, got {getattr(t, name)!r}")
    for name in ("adaptive_scale", "pin_tol", "lazy_move_tol"):
        if not getattr(cfg, name) > 0:
            raise ValueError(f"{name} must be positive, got {getattr(cfg, name)!r}")
    if not 0 <= cfg.min_amplitude < 1:
        raise ValueError(f"min_amplitude must lie in [0, 1), got {cfg.min_amplitude!r}")
    if cfg.pca_dim < 1 or cfg.records < 2 or cfg.mnist_test < 1:
        raise ValueError("pca_dim, mnist_test must be ≥ 1 and records ≥ 2")


def units(cfg: Config) -> list[Unit]:
    """One unit per task × regime × seed (the config checked first)."""
    check_config(cfg)
    return seeds_units([{"task": t.kind, "regime": r} for t in cfg.tasks for r in cfg.regimes], cfg.seeds)


def data_needs(cfg: Config) -> list[tuple[str, int | None, int | None]]:
    """The MNIST images of the ``mnist`` task, if the config has one (1D and 2D read none)."""
    return [("mnist", t.n_train, cfg.mnist_test) for t in cfg.tasks if t.kind == "mnist"]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Problem:
    """Training data, the loss, and held-out points with their targets."""

    x: Tensor
    y: Tensor
    loss: str
    x_test: Tensor
    y_test: Tensor


def _target_1d(x: Tensor) -> Tensor:
    return torch.sin(3 * x) + 0.5 * x


def _target_2d(x: Tensor) -> Tensor:
    return (torch.sin(2 * x[:, 0]) * torch.cos(2 * x[:, 1])).unsqueeze(1)


def make_problem(cfg: Config, task: Task, seed: int, context: Context) -> Problem:
    """The data of ``task``; the 1D/2D points depend on ``seed``, the MNIST subset does not."""
    gen = as_generator(10_000 + seed)
    if task.kind == "1d":
        x = torch.sort(torch.rand(task.n_train, generator=gen) * 2 - 1).values.unsqueeze(1)
        grid = torch.linspace(-1, 1, 512).unsqueeze(1)
        return context.place(Problem(x, _target_1d(x), "mse", grid, _target_1d(grid)))
    if task.kind == "2d":
        x = torch.rand(task.n_train, 2, generator=gen) * 2 - 1
        axis = torch.linspace(-1, 1, 32)
        grid = torch.cartesian_prod(axis, axis)
        return context.place(Problem(x, _target_2d(x), "mse", grid, _target_2d(grid)))
    split = context.images("mnist", task.n_train, cfg.mnist_test, 0)
    x, xt = pca_project(split.x_train, split.x_test, cfg.pca_dim)
    return Problem(x, split.y_train, "cross_entropy", xt, split.y_test)


# --------------------------------------------------------------------------- one unit


def record_steps(steps: int, records: int) -> list[int]:
    """Step 0 and about ``records − 1`` log-spaced steps from 1 to ``steps`` (both included)."""
    logs = np.unique(np.round(np.logspace(0, math.log10(steps), records - 1)).astype(int))
    return [0, *logs.tolist()]


def measure(neurons: Neurons, start: Neurons, x: Tensor, task: Task, cfg: Config) -> dict[str, float]:
    """Clustering, spread, pinning and movement of one recorded network."""
    clusters = cluster_hyperplanes(neurons, eps=task.eps, min_amplitude=cfg.min_amplitude)
    return {
        "n_clusters": clusters.n_clusters,
        "n_effective": clusters.n_effective,
        "spread": clusters.mean_spread,
        "pinned_fraction": clusters.pinned_fraction(x, cfg.pin_tol),
        "pinning": clusters.median_pinning(x),
        "movement": float(np.median(hyperplane_movement(start, neurons))),
    }


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one shallow ReLU net in one regime, measuring its hyperplanes at every record."""
    p = unit.params
    task = next(t for t in cfg.tasks if t.kind == p["task"])
    problem = make_problem(cfg, task, p["seed"], context)
    d = problem.x.shape[1]
    outputs = 10 if problem.loss == "cross_entropy" else 1
    adaptive = p["regime"] == "adaptive"
    net = shallow_init_(
        mlp(d, [task.width], outputs, "relu"),
        scale=cfg.adaptive_scale if adaptive else 1.0,
        generator=p["seed"],
    )
    context.place(net)
    lr = task.lr_adaptive if adaptive else task.lr_lazy / task.width
    tracker = HyperplaneTracker(record_steps(task.steps, cfg.records))
    result = train(
        net,
        problem.x,
        problem.y,
        loss=problem.loss,
        optimizer="sgd",
        lr=lr,
        steps=task.steps,
        generator=p["seed"],
        callbacks=[tracker],
        progress=False,
    )
    start = tracker.records[0]
    series = [measure(tracker.records[s], start, problem.x, task, cfg) for s in tracker.steps]
    final, initial = series[-1], series[0]
    with torch.no_grad():
        if problem.loss == "mse":
            test_error = float(((net(problem.x_test) - problem.y_test) ** 2).mean())
        else:
            test_error = 1.0 - accuracy(net, problem.x_test, problem.y_test)
    row: dict[str, Any] = {
        "task": task.kind,
        "regime": p["regime"],
        "seed": p["seed"],
        "width": task.width,
        "lr": lr,
        "train_loss": result.final_loss,
        "test_error": test_error,
        **final,
        "n_clusters_init": initial["n_clusters"],
        "pinned_fraction_init": initial["pinned_fraction"],
        "n_clusters_min": min(s["n_clusters"] for s in series),
        "pinned_fraction_max": max(s["pinned_fraction"] for s in series),
    }
    arrays = {"step": np.array(tracker.steps)}
    for key in ("n_clusters", "n_effective", "pinned_fraction", "movement"):
        arrays[key] = np.array([s[key] for s in series], dtype=float)
    if task.kind in ("1d", "2d"):
        stacked = tracker.stacked()
        arrays["normals"] = stacked["normals"] if task.kind == "2d" else stacked["normals"][:, :, 0]
        arrays["offsets"] = stacked["offsets"]
        arrays["weights"] = np.linalg.norm(stacked["amplitudes"], axis=2)
        arrays["x"] = problem.x.cpu().numpy()
    return row, arrays


# --------------------------------------------------------------------------- summary

METRICS = (
    "train_loss",
    "test_error",
    "n_clusters",
    "n_effective",
    "spread",
    "pinned_fraction",
    "pinned_fraction_init",
    "pinning",
    "movement",
    "n_clusters_min",
    "pinned_fraction_max",
)
#: The summary's case columns: one row per task × regime (the width is the task's).
BY = ("task", "regime", "width")


def _lookup(table: list[dict[str, Any]], task: str, regime: str) -> dict[str, Any] | None:
    return next((r for r in table if r["task"] == task and r["regime"] == regime), None)


def _se(row: Mapping[str, Any], metric: str) -> float:
    """The standard error of a metric's mean across seeds (NaN for one seed)."""
    return row[f"{metric}_std"] / math.sqrt(row["n"]) if row["n"] >= 2 else math.nan


def _says(holds: bool | None, evidence: str) -> tuple[bool | None, str]:
    """``holds`` and its evidence, marked when the numbers cannot decide (beyond 2 SE of the seeds)."""
    return holds, evidence + ("" if holds is not None else " — not decided (within 2 SE, or one seed)")


def findings(cfg: Config, table: list[dict[str, Any]]) -> list[Finding]:
    """Checked claims per task: adaptive clusters ≪ width and pinned to data (vs the same
    neurons at init), lazy hyperplanes move less than ``lazy_move_tol``, adaptive < lazy.
    """
    out = []
    for t in cfg.tasks:
        ada, lazy = _lookup(table, t.kind, "adaptive"), _lookup(table, t.kind, "lazy")
        if ada is not None:
            n, eff = ada["n_clusters_mean"], ada["n_effective_mean"]
            out.append(
                Finding(
                    f"{t.kind}, adaptive regime: clusters ≪ width (fewer than width/10 = {t.width / 10:g})",
                    *_says(
                        verdict(t.width / 10 - n, _se(ada, "n_clusters")),
                        f"{n:.3g} clusters (effective {eff:.3g}) among {t.width} neurons, eps {t.eps}; "
                        f"width/10 − clusters {t.width / 10 - n:+.3g}, "
                        f"2 SE = {2 * _se(ada, 'n_clusters'):.2g}",
                    ),
                )
            )
            frac, frac0 = ada["pinned_fraction_mean"], ada["pinned_fraction_init_mean"]
            out.append(
                Finding(
                    f"{t.kind}, adaptive regime: most cluster mass is pinned to data (hyperplane "
                    f"within {cfg.pin_tol:g} × the data spacing of a training point)",
                    *_says(
                        all_hold(
                            [
                                verdict(frac - 0.5, _se(ada, "pinned_fraction")),
                                verdict(
                                    frac - frac0,
                                    math.hypot(_se(ada, "pinned_fraction"), _se(ada, "pinned_fraction_init")),
                                ),
                            ]
                        ),
                        f"pinned mass fraction {frac:.3g} after training vs {frac0:.3g} at init "
                        f"(2 SE = {2 * _se(ada, 'pinned_fraction'):.2g}); "
                        f"mass-weighted median relative distance {ada['pinning_mean']:.3g}",
                    ),
                )
            )
        if lazy is not None:
            move = lazy["movement_mean"]
            out.append(
                Finding(
                    f"{t.kind}, lazy regime: hyperplanes move less than ε = {cfg.lazy_move_tol:g} "
                    "(median over neurons of ‖Δ(ŵ, β)‖)",
                    *_says(
                        verdict(cfg.lazy_move_tol - move, _se(lazy, "movement")),
                        f"median movement {move:.3g} (width {t.width}; "
                        f"2 SE = {2 * _se(lazy, 'movement'):.2g})",
                    ),
                )
            )
        if ada is not None and lazy is not None:
            ratio = lazy["movement_mean"] / ada["movement_mean"]
            out.append(
                Finding(
                    f"{t.kind}: lazy hyperplanes move less than a tenth as far as adaptive ones",
                    *_says(
                        verdict(
                            0.1 * ada["movement_mean"] - move,
                            math.hypot(_se(lazy, "movement"), 0.1 * _se(ada, "movement")),
                        ),
                        f"median movement lazy/adaptive = {ratio:.3g}",
                    ),
                )
            )
            out.append(
                Finding(
                    f"{t.kind}: the adaptive regime ends with fewer clusters than the lazy one",
                    *_says(
                        verdict(
                            lazy["n_clusters_mean"] - ada["n_clusters_mean"],
                            math.hypot(_se(lazy, "n_clusters"), _se(ada, "n_clusters")),
                        ),
                        f"adaptive {ada['n_clusters_mean']:.3g} vs lazy {lazy['n_clusters_mean']:.3g}; "
                        f"train loss adaptive {ada['train_loss_mean']:.3g}, "
                        f"lazy {lazy['train_loss_mean']:.3g}",
                    ),
                )
            )
    return out


def plot_breakpoints(
    cfg: Config, rows: list[dict[str, Any]], arrays: Mapping[str, Mapping[str, np.ndarray]], path: Any
) -> None:
    """1D: breakpoints of the significant neurons vs step (first seed), data points as lines."""
    picks = [r for r in rows if r["task"] == "1d" and r["seed"] == cfg.seeds[0]]
    fig, axes = figure(1, max(len(picks), 1), width=4.8 * max(len(picks), 1), height=3.6)
    for ax, row in zip(axes[0], picks, strict=False):
        arr = arrays[row["unit"]]
        for xi in arr["x"][:, 0]:
            ax.axhline(xi, color="0.75", lw=0.6, zorder=0)
        for t, step in enumerate(arr["step"]):
            w = arr["weights"][t]
            keep = w >= cfg.min_amplitude * w.max()
            bp = arr["offsets"][t][keep] * arr["normals"][t][keep]
            size = 2 + 30 * w[keep] / w.max()
            ax.scatter(np.full(bp.shape, max(step, 0.5)), bp, s=size, color="C0", alpha=0.4, lw=0)
        ax.set_xscale("log")
        ax.set(
            ylim=(-1.3, 1.3),
            xlabel="step (0 drawn at 0.5)",
            ylabel="breakpoint −b/w",
            title=f"1D, {row['regime']}, width {row['width']} (grey: data x)",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_lines_2d(
    cfg: Config, rows: list[dict[str, Any]], arrays: Mapping[str, Mapping[str, np.ndarray]], path: Any
) -> None:
    """2D: final hyperplanes (lines) of the significant neurons over the data (first seed)."""
    picks = [r for r in rows if r["task"] == "2d" and r["seed"] == cfg.seeds[0]]
    fig, axes = figure(1, max(len(picks), 1), width=4.2 * max(len(picks), 1), height=4.0)
    s = np.linspace(-3, 3, 2)
    for ax, row in zip(axes[0], picks, strict=False):
        arr = arrays[row["unit"]]
        w, normals, offsets = arr["weights"][-1], arr["normals"][-1], arr["offsets"][-1]
        for k in np.argsort(w)[::-1][: min(len(w), 200)]:
            if w[k] < cfg.min_amplitude * w.max():
                break
            n, b = normals[k], offsets[k]
            foot, along = n * b, np.array([-n[1], n[0]])
            line = foot[None, :] + s[:, None] * along[None, :]
            ax.plot(line[:, 0], line[:, 1], color="C0", alpha=0.15 + 0.6 * w[k] / w.max(), lw=0.8)
        ax.plot(arr["x"][:, 0], arr["x"][:, 1], "k.", ms=5)
        ax.set(
            xlim=(-1.2, 1.2),
            ylim=(-1.2, 1.2),
            aspect="equal",
            title=f"2D, {row['regime']}: {row['n_clusters']} clusters",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_series(
    cfg: Config, rows: list[dict[str, Any]], arrays: Mapping[str, Mapping[str, np.ndarray]], path: Any
) -> None:
    """Clusters, pinned fraction and movement vs step, mean over seeds; one column per task."""
    keys = (
        ("n_clusters", "clusters"),
        ("pinned_fraction", "pinned mass fraction"),
        ("movement", "median ‖Δ(ŵ, β)‖"),
    )
    fig, axes = figure(len(keys), len(cfg.tasks), width=3.6 * len(cfg.tasks), height=2.6 * len(keys))
    for col, t in enumerate(cfg.tasks):
        for regime in cfg.regimes:
            group = [arrays[r["unit"]] for r in rows if r["task"] == t.kind and r["regime"] == regime]
            if not group:
                continue
            steps = np.maximum(group[0]["step"], 0.5)
            for row_i, (key, label) in enumerate(keys):
                mean = np.nanmean(np.stack([g[key] for g in group]), axis=0)
                ax = axes[row_i, col]
                first = 1 if key == "movement" else 0  # no movement at step 0 by definition
                ax.plot(
                    steps[first:], mean[first:], "o-" if regime == "adaptive" else "s--", ms=3, label=regime
                )
                ax.set(xscale="log", ylabel=label, xlabel="step (0 drawn at 0.5)")
                if key in ("n_clusters", "movement"):
                    ax.set_yscale("log")
                    ax.minorticks_off()
        axes[0, col].set_title(f"{t.kind}, width {t.width}")
        axes[0, col].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per task × regime, the figures and the checked findings."""
    table = ci_rows(rows, BY, METRICS)
    run.write_table("summary", table)
    figures = [
        ("Clusters, pinned mass fraction and hyperplane movement vs step (mean over seeds)", "series.png")
    ]
    plot_series(cfg, rows, arrays, run.figure_path("series"))
    if any(t.kind == "1d" for t in cfg.tasks):
        plot_breakpoints(cfg, rows, arrays, run.figure_path("breakpoints_1d"))
        figures.append(
            (
                "1D breakpoints of the significant neurons vs step (first seed; marker size ∝ amplitude)",
                "breakpoints_1d.png",
            )
        )
    if any(t.kind == "2d" for t in cfg.tasks):
        plot_lines_2d(cfg, rows, arrays, run.figure_path("lines_2d"))
        figures.append(("2D: final neuron hyperplanes over the training points (first seed)", "lines_2d.png"))
    return Summary(
        tables=[
            (
                "Clustering and pinning at the end of training, mean ± 95% CI over seeds",
                ci_markdown(
                    table,
                    BY,
                    (
                        "n_clusters",
                        "n_effective",
                        "spread",
                        "pinned_fraction",
                        "pinned_fraction_init",
                        "movement",
                    ),
                ),
            ),
            (
                "Fit, mean ± 95% CI over seeds (test_error: MSE on a grid for 1d/2d, error rate for mnist)",
                ci_markdown(table, BY, ("train_loss", "test_error", "pinning")),
            ),
            (
                "Over the whole run (all records): fewest clusters and largest pinned mass "
                "fraction, mean ± 95% CI over seeds",
                ci_markdown(table, BY, ("n_clusters_min", "pinned_fraction_max")),
            ),
        ],
        figures=figures,
        findings=findings(cfg, table),
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="hyperplanes",
    title="Hyperplane clustering and datapoint pinning of shallow ReLU nets: adaptive vs lazy regime",
    source="arXiv 2503.10587 (Sahs et al.); ReLU splines arXiv 2008.01772",
    default=Config(),
    quick=QUICK,
)
