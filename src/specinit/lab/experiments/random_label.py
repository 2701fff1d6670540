"""``random-label``: a high-bandwidth start from random-label pre-training (arXiv 2206.08558, Exp 4).

The paper's claim: a classifier first trained on the training images with *randomly shuffled*
labels starts with a high bandwidth; trained afterwards on the true labels it still fits the
training set but generalizes worse, and the Hessian's flatness does not consistently track the
difference (A.4, Table 4).  Each unit is one ``(dataset, arch, start, seed)``:

1. build the architecture (``mlp`` / ``vgg_small`` / ``resnet_small``, or the paper's
   ``vgg11`` / ``vgg16`` / ``resnet18`` for 32×32 CIFAR images; ReLU, BatchNorm in the CNNs, no
   dropout), initialize it with ``specinit.init_(net, base_init, generator=seed)`` on the CPU
   and move it to the run's device;
2. ``start="random_labels"`` only: :func:`specinit.pretrain_random_labels_` on the training
   subset with the labels of ``specinit.data.random_labels(y, generator=seed)`` (Adam, cross-entropy,
   ``pretrain_epochs``), so both starts of a seed share the same initial weights and differ by
   the pre-training alone;
3. measure at the start: the bandwidth proxy (:func:`specinit.gradient_bandwidth` — the
   gradient of the class-averaged output w.r.t. the input pixels — on the first ``n_bandwidth``
   training images; the scalar is ``mean |g|``, the 99% quantile of ``|g|`` is kept too), test
   accuracy, and how well the shuffled labels were memorized;
4. train on the true labels with Adam for ``epochs`` (the same budget, batch size and
   learning-rate grid for both starts; with several ``lrs`` each unit keeps the lowest final
   *training* loss, :func:`specinit.tune_lr`); no data augmentation;
5. measure the final model: train/test accuracy, test loss, the bandwidth proxy again, and on
   the first ``n_hessian`` training images (eval mode) the Hessian trace (Hutchinson,
   ``trace_matvecs`` Rademacher probes, with its standard error) and top eigenvalue (Lanczos,
   relative tolerance ``eig_tol``), both seeded by ``hessian_seed``; with ``slq_steps > 0``
   also the spectral density by stochastic Lanczos quadrature and its mean ``mean_eig`` (the
   flat-minima experiment's third Hessian metric), saved per unit.

Paper scale (``--scale paper``, a GPU run): arXiv 2206.08558 Exp 4 on its own data and
models — CIFAR-10 and CIFAR-100 (full splits, ``--data-dir`` holding the official python
batches), VGG-11, VGG-16 and ResNet-18 (:func:`specinit.nn.vgg11`, :func:`~specinit.nn.vgg16`,
:func:`~specinit.nn.resnet18`), both starts, three seeds (36 units), with the Hessian metrics of
A.4 (trace, top eigenvalue and SLQ density on 1000 training images) on every model, ResNet-18
and VGG-16 included.  Its ``device`` is ``"cuda"``; ``amp`` (mixed precision for the training
steps, never for the Hessian) is off, as in the paper; ``--set amp=true`` turns it on.  The
epochs and the optimizer are our choices (the paper's numbers are missing): Adam at 1e-3,
50 epochs of random-label pre-training, 100 on the true labels, batch 128, no augmentation.
How its time was estimated: ``docs/howto/devices.md``.

The training and test subsets are class-balanced and fixed (data seed 0) for every unit; the
unit's seed drives the initial weights, the label permutation and the mini-batch order.

Our choices where the paper's numbers are missing (PAPERS.md §4.4): CPU-sized stand-ins for
its VGG/ResNets, He-normal (``kaiming_normal``) as the architectures' standard start, Adam at
lr 1e-3 for both phases (3e-3 in ``--quick``, whose nets are narrower and train for only 2
epochs), and the pre-training length.  A caveat on the proxy: it differentiates the
class-averaged logit, a direction cross-entropy is blind to (softmax ignores a common shift of
the logits), so it changes only as a side effect of training — through the hidden features
and, with Adam's per-coordinate steps, the readout.

Runtime (one core, ``OMP_NUM_THREADS=1``, on a shared 2-core machine where a process often
got only 40% of a core): ``--quick`` (12 units: 2000/1000-image subsets, narrow nets, 3 + 2
epochs, Hessian on 64 images, one seed) takes about 65 s of CPU time (2–4 min wall clock
there).  The default config for MNIST and one seed (6 units: 5000/2000 images, 30 + 10
epochs, Hessian on 1000 images) took 39 min wall clock, about 17 min of CPU time; the slowest
unit, VGG from a random start, 12 min wall (about 5 min CPU), the MLP units under 75 s.  The
full default run (36 units) is therefore estimated at about 4 h wall clock on that machine,
under 2 h on one free core.  Much of a CNN unit's time is the Hessian: Lanczos needs at least
21 products (ARPACK's 20-vector basis) and a double-backward product through a CNN costs
several training steps.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor, nn

import specinit
from specinit import data
from specinit._core.plotting import figure
from specinit.initializers.pretrain import pretrain_random_labels_
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows, compare
from specinit.lab.runner import IMAGE_SHAPES, Context
from specinit.lab.tasks import check_image_datasets
from specinit.measure.bandwidth import gradient_bandwidth
from specinit.measure.curvature import hessian_density, hessian_eigs, hessian_trace
from specinit.nn.models import mlp, resnet18, resnet_small, vgg11, vgg16, vgg_small
from specinit.training import accuracy, evaluate_loss, tune_lr

#: The starts compared: the architecture's standard init, and the same weights pre-trained on
#: shuffled labels (the paper's "high-B/W init").
STARTS = ("random", "random_labels")

#: Architectures, by config name: MLP, the CPU-sized VGG-like and ResNet-like CNNs, and the
#: paper's VGG-11, VGG-16 and ResNet-18 (32×32 images only: CIFAR).
ARCHS = ("mlp", "vgg", "resnet", "vgg11", "vgg16", "resnet18")

#: The architectures made for 32×32 images (the paper's; ``width_multiplier`` scales them).
PAPER_ARCHS = ("vgg11", "vgg16", "resnet18")

#: Quantile of ``|g|`` kept next to the proxy's mean.
Q_LEVEL = 0.99


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    datasets: tuple[str, ...] = ("mnist", "fashion_mnist")
    archs: tuple[str, ...] = ("mlp", "vgg", "resnet")
    starts: tuple[str, ...] = STARTS
    base_init: str = "kaiming_normal"
    mlp_widths: tuple[int, ...] = (512, 512)
    vgg_widths: tuple[int, ...] = (16, 32, 64)
    resnet_widths: tuple[int, ...] = (16, 32, 64)
    limit_train: int | None = 5000  # class-balanced subset size; None = the full split
    limit_test: int | None = 2000
    epochs: int = 10
    batch_size: int = 128
    lrs: tuple[float, ...] = (1e-3,)
    pretrain_epochs: int = 30
    pretrain_lr: float = 1e-3
    n_bandwidth: int = 512
    n_hessian: int = 1000
    trace_matvecs: int = 30
    eig_tol: float = 1e-3
    hessian_seed: int = 0
    fit_threshold: float = 0.99  # "fits the training set": train accuracy at least this
    width_multiplier: float = 1.0  # channels of vgg11 / vgg16 / resnet18, times this
    slq_steps: int = 0  # > 0: also the SLQ spectral density of the final Hessian (mean_eig)
    amp: bool = False  # mixed precision for the training steps (never for the Hessian)
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Data: the quick config fits the embedded subsets (2000 train / 1000 test per dataset), so it
# runs with no data folder; the default needs the full sets (--data-dir / SPECINIT_DATA).
QUICK = Config(
    datasets=("mnist",),
    archs=("mlp", "vgg"),
    mlp_widths=(256,),
    vgg_widths=(4, 8, 16),
    resnet_widths=(4, 8, 16),
    limit_train=1000,
    limit_test=1000,
    epochs=2,
    batch_size=64,
    lrs=(3e-3,),
    pretrain_epochs=3,
    pretrain_lr=3e-3,
    n_bandwidth=256,
    n_hessian=64,
    trace_matvecs=8,
    eig_tol=1e-2,
    fit_threshold=0.9,
    seeds=(0,),
)


# Paper scale: arXiv 2206.08558 Exp 4 / A.4 on CIFAR with VGG-11/16 and ResNet-18 — a GPU run.
PAPER = Config(
    datasets=("cifar10", "cifar100"),
    archs=PAPER_ARCHS,
    limit_train=None,
    limit_test=None,
    epochs=100,
    batch_size=128,
    lrs=(1e-3,),
    pretrain_epochs=50,
    pretrain_lr=1e-3,
    n_bandwidth=512,
    n_hessian=1000,
    trace_matvecs=50,
    eig_tol=1e-3,
    slq_steps=80,
    seeds=(0, 1, 2),
    device="cuda",
)


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for an unknown dataset, architecture, start or init, or bad sizes."""
    for name, given, known in (
        ("datasets", cfg.datasets, None),
        ("archs", cfg.archs, ARCHS),
        ("starts", cfg.starts, STARTS),
    ):
        if not given:
            raise ValueError(f"{name} is empty")
        if known is not None and any(g not in known for g in given):
            raise ValueError(
                f"unknown {name} {[g for g in given if g not in known]}; choose from {', '.join(known)}"
            )
    check_image_datasets(cfg.datasets)
    if cfg.base_init not in specinit.initializers.methods():
        raise ValueError(f"unknown base_init {cfg.base_init!r}; see specinit.initializers.methods()")
    sizes = {
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "n_bandwidth": cfg.n_bandwidth,
        "n_hessian": cfg.n_hessian,
        "pretrain_epochs": cfg.pretrain_epochs,
        **{f"{a}_widths": w for a, widths in _widths(cfg).items() for w in widths},
    }
    bad = [k for k, v in sizes.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad or not all(_widths(cfg).values()):
        raise ValueError(f"{', '.join(bad) or 'widths'} must be positive integers (non-empty widths)")
    if cfg.trace_matvecs < 2:
        raise ValueError(f"trace_matvecs must be at least 2 (for a standard error), got {cfg.trace_matvecs}")
    if not cfg.lrs or min(cfg.lrs) <= 0 or cfg.pretrain_lr <= 0 or cfg.eig_tol <= 0:
        raise ValueError(
            f"lrs, pretrain_lr and eig_tol must be positive, got lrs={cfg.lrs}, "
            f"pretrain_lr={cfg.pretrain_lr}, eig_tol={cfg.eig_tol}"
        )
    if not 0 < cfg.fit_threshold <= 1:
        raise ValueError(f"fit_threshold must lie in (0, 1], got {cfg.fit_threshold}")
    if not cfg.width_multiplier > 0 or cfg.slq_steps < 0:
        raise ValueError(
            f"width_multiplier must be positive and slq_steps non-negative, got "
            f"{cfg.width_multiplier} and {cfg.slq_steps}"
        )
    small = [d for d in cfg.datasets if IMAGE_SHAPES[d][1:] != (32, 32)]
    paper = [a for a in cfg.archs if a in PAPER_ARCHS]
    if small and paper:
        raise ValueError(
            f"archs {paper} are made for 32×32 images (cifar10, cifar100), not {small}; use "
            "mlp, vgg or resnet for those"
        )


def _widths(cfg: Config) -> dict[str, tuple[int, ...]]:
    return {"mlp": cfg.mlp_widths, "vgg": cfg.vgg_widths, "resnet": cfg.resnet_widths}


def units(cfg: Config) -> list[Unit]:
    """One unit per dataset × arch × start × seed (the config is checked first)."""
    check_config(cfg)
    cases = [
        {"dataset": d, "arch": a, "start": s} for d in cfg.datasets for a in cfg.archs for s in cfg.starts
    ]
    return seeds_units(cases, cfg.seeds)


def data_needs(cfg: Config) -> list[tuple[str, int | None, int | None]]:
    """The images every unit reads: one subset per dataset."""
    return [(d, cfg.limit_train, cfg.limit_test) for d in cfg.datasets]


def build_network(
    cfg: Config, arch: str, seed: int, num_classes: int = 10, shape: tuple[int, int, int] = (1, 28, 28)
) -> nn.Module:
    """The ``arch`` network for images of ``shape`` ``(C, H, W)`` (28×28 grey by default),
    initialized by ``init_(·, base_init, seed)`` on the CPU.
    """
    channels, height, _ = shape
    if arch in PAPER_ARCHS:
        build = {"vgg11": vgg11, "vgg16": vgg16, "resnet18": resnet18}[arch]
        net: nn.Module = build(num_classes, channels, width=cfg.width_multiplier)
    elif arch == "mlp":
        net = mlp(math.prod(shape), _widths(cfg)[arch], num_classes, "relu")
    elif arch == "vgg":
        net = vgg_small(channels, num_classes, widths=_widths(cfg)[arch], norm="batch", image_size=height)
    else:
        net = resnet_small(channels, num_classes, widths=_widths(cfg)[arch], norm="batch")
    return specinit.init_(net, cfg.base_init, generator=seed)


def images_for(arch: str, x: Tensor, shape: tuple[int, int, int] = (1, 28, 28)) -> Tensor:
    """Flattened pixels ``(N, C·H·W)`` for the MLP, ``(N, C, H, W)`` images for the CNNs."""
    return x.reshape(len(x), -1) if arch == "mlp" else x.reshape(len(x), *shape)


def _proxy(model: nn.Module, x: Tensor, when: str) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The bandwidth proxy's scalars (mean |g| and its 99% quantile) and histogram."""
    record = gradient_bandwidth(model, x, levels=(Q_LEVEL,), reduction="mean")  # the paper's proxy
    return (
        {f"bw_{when}": record.mean_abs, f"bw_q99_{when}": float(record.quantiles[0])},
        {f"hist_edges_{when}": record.edges, f"hist_counts_{when}": record.counts},
    )


def _curvature(
    cfg: Config, model: nn.Module, x: Tensor, y: Tensor
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Hessian trace (Hutchinson, with standard error) and top eigenvalue (Lanczos), A.4; with
    ``slq_steps`` also the SLQ density (its mean, and the curve as arrays).
    """
    batch = (x[: cfg.n_hessian], y[: cfg.n_hessian])
    trace = hessian_trace(
        model,
        "cross_entropy",
        batch,
        method="hutchinson",
        num_matvecs=cfg.trace_matvecs,
        generator=cfg.hessian_seed,
    )
    top = hessian_eigs(
        model,
        "cross_entropy",
        batch,
        k=1,
        method="lanczos",
        which="LA",
        tol=cfg.eig_tol,
        generator=cfg.hessian_seed,
    )
    row = {
        "trace": trace.estimate,
        "trace_se": trace.stderr,
        "top_eig": float(top.eigenvalues[0]),
        "eig_matvecs": top.num_matvecs,
    }
    if not cfg.slq_steps:
        return row, {}
    density = hessian_density(
        model, "cross_entropy", batch, n_steps=cfg.slq_steps, generator=cfg.hessian_seed
    )
    assert not isinstance(density, dict)  # one density: per_layer is off
    row["mean_eig"] = density.mean
    return row, {"density_grid": np.asarray(density.grid), "density": np.asarray(density.density)}


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Start, measure, train on the true labels, measure again (steps 1–5 of the module docstring).

    Arrays: the per-epoch ``train_loss`` and test accuracy (``val_accuracy``) of the true-label
    training, and the proxy's signed-gradient histogram (``hist_edges_*``, ``hist_counts_*``)
    before and after it.
    """
    p = unit.params
    seed = p["seed"]
    split = context.images(p["dataset"], cfg.limit_train, cfg.limit_test)  # one subset: seed 0
    shape = IMAGE_SHAPES[p["dataset"]]
    x, x_test = images_for(p["arch"], split.x_train, shape), images_for(p["arch"], split.x_test, shape)
    y, y_test = split.y_train, split.y_test
    net = context.place(build_network(cfg, p["arch"], seed, split.num_classes or 10, shape))
    row: dict[str, Any] = {k: p[k] for k in ("dataset", "arch", "start", "seed")}
    row["pretrain_fit"] = float("nan")  # accuracy on the shuffled labels after pre-training
    if p["start"] == "random_labels":
        pretrain_random_labels_(
            net,
            x,
            y,
            epochs=cfg.pretrain_epochs,
            lr=cfg.pretrain_lr,
            batch_size=cfg.batch_size,
            generator=seed,
            amp=cfg.amp,
        )
        row["pretrain_fit"] = accuracy(net, x, data.random_labels(y, generator=seed))
    probe = x[: cfg.n_bandwidth]
    before, hist_before = _proxy(net, probe, "before")
    row.update(before)
    row["test_acc_start"] = accuracy(net, x_test, y_test)
    search = tune_lr(
        lambda: copy.deepcopy(net),
        x,
        y,
        cfg.lrs,
        loss="cross_entropy",
        optimizer="adam",
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        generator=seed,
        x_val=x_test,
        y_val=y_test,
        progress=False,
        amp=cfg.amp,
    )
    model = search.model
    after, hist_after = _proxy(model, probe, "after")
    curvature, density = _curvature(cfg, model, x, y)
    row.update(
        {
            "lr": search.lr,
            "train_loss": search.result.final_loss,
            "train_acc": accuracy(model, x, y),
            "test_acc": accuracy(model, x_test, y_test),
            "test_loss": evaluate_loss(model, x_test, y_test, loss="cross_entropy"),
            **after,
            **curvature,
        }
    )
    history = search.result.history
    arrays = {
        "epoch": np.asarray(history["epoch"]),
        "train_loss": np.asarray(history["train_loss"]),
        "val_accuracy": np.asarray(history["val_accuracy"]),
        **hist_before,
        **hist_after,
        **density,
    }
    return row, arrays


# --------------------------------------------------------------------------- summary

BY = ("dataset", "arch", "start")
METRICS = ("train_acc", "test_acc", "test_loss", "bw_before", "bw_after", "trace", "top_eig")


def _lookup(table: Sequence[Mapping[str, Any]]) -> Callable[..., float]:
    index = {tuple(r[k] for k in BY): r for r in table}
    return lambda metric, dataset, arch, start: index[(dataset, arch, start)][f"{metric}_mean"]


def _cases(cfg: Config) -> list[tuple[str, str]]:
    return [(d, a) for d in cfg.datasets for a in cfg.archs]


def _values(
    rows: Sequence[Mapping[str, Any]], metric: str, dataset: str, arch: str, start: str
) -> list[float]:
    """Per-seed values of one case and start, in seed order (so two starts pair by seed)."""
    mine = [r for r in rows if (r["dataset"], r["arch"], r["start"]) == (dataset, arch, start)]
    return [float(r[metric]) for r in sorted(mine, key=lambda r: r["seed"])]


def _compare(
    cfg: Config, rows: Sequence[Mapping[str, Any]], metric: str, higher: bool
) -> tuple[list[bool | None], list[str]]:
    """Per (dataset, arch) case: is ``metric`` higher (``higher``) or lower with the random-label
    start, beyond 2 SE of the paired seed differences (and, for accuracies, of the binomial noise
    of the test split)?  The verdicts, and evidence per case.
    """
    n_test = None if not metric.endswith("acc") else (cfg.limit_test or 10_000)
    states, notes = [], []
    for d, a in _cases(cfg):
        rl, rnd = _values(rows, metric, d, a, "random_labels"), _values(rows, metric, d, a, "random")
        holds, margin = (
            compare(rl, rnd, n_test=n_test, paired=True)
            if higher
            else compare(rnd, rl, n_test=n_test, paired=True)
        )
        states.append(holds)
        notes.append(f"{d}/{a} {np.mean(rl):.4g} vs {np.mean(rnd):.4g} ({margin})")
    return states, notes


def _claim(states: list[bool | None]) -> str:
    k, n = sum(s is True for s in states), len(states)
    undecided = sum(s is None for s in states)
    return f"{k} of {n} cases decided for it" + (f", {undecided} not decided" if undecided else "")


def findings(
    cfg: Config, table: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
) -> list[Finding]:
    """The paper's Exp 4 / A.4 claims, each checked on the per-seed values: a case counts only
    where its difference is beyond 2 SE of the seed noise (paired by seed) and, for accuracies,
    of the binomial noise of the test split; one seed leaves non-accuracy claims undecided.
    """
    if set(cfg.starts) != set(STARTS):
        return []
    out = []
    fits = [r["train_acc"] for r in rows if r["start"] == "random_labels"]
    plain = min(r["train_acc"] for r in rows if r["start"] == "random")
    fit = min(fits) >= cfg.fit_threshold
    out.append(
        Finding(
            f"a random-label start still fits the training set (train accuracy ≥ {cfg.fit_threshold} "
            "in every unit)",
            fit if fit or plain >= cfg.fit_threshold else None,
            (
                ""
                if fit or plain >= cfg.fit_threshold
                else "not decided: the random start does not fit either (training too short); "
            )
            + f"lowest train accuracy {min(fits):.4f} over {len(fits)} random-label units (random "
            f"start: lowest {plain:.4f})",
        )
    )
    claims = [
        (
            "test_acc",
            False,
            "a random-label start generalizes worse (lower mean test accuracy; the paper: every "
            "dataset × architecture case)",
            "random labels vs random: ",
        ),
        (
            "bw_before",
            True,
            "random-label pre-training raises the bandwidth proxy mean |∂ mean output/∂ pixel| at the start",
            "random labels vs random: ",
        ),
        (
            "bw_after",
            True,
            "the higher bandwidth survives training on the true labels",
            "random labels vs random after training: ",
        ),
    ]
    for metric, higher, claim, prefix in claims:
        states, notes = _compare(cfg, rows, metric, higher)
        out.append(Finding(f"{claim} ({_claim(states)})", all_hold(states), prefix + "; ".join(notes)))
    worse, _ = _compare(cfg, rows, "test_acc", False)
    agree, parts = [], []
    for metric in ("trace", "top_eig"):
        sharper, _ = _compare(cfg, rows, metric, True)
        both = [(s, w) for s, w in zip(sharper, worse, strict=True) if s is not None and w is not None]
        agree.append(sum(s == w for s, w in both) == len(both) if both else None)
        parts.append(
            f"sharper ⇔ worse in {sum(s == w for s, w in both)} of {len(both)} decided cases by {metric}"
        )
    n = len(_cases(cfg))
    decided_all = all(a is not None for a in agree)
    holds = True if any(a is False for a in agree) else (False if decided_all else None)
    out.append(
        Finding(
            "flatness does not consistently track generalization (the sharper final model is not "
            "always the one that generalizes worse)",
            holds,
            ", ".join(parts)
            + f" (of {n} cases; a case counts where both differences are beyond 2 SE)"
            + ("" if holds is not None else " — not decided"),
        )
    )
    return out


def plot_summary(cfg: Config, table: Sequence[Mapping[str, Any]], path: Any) -> None:
    """Per dataset (rows): test accuracy, proxy before and after training, bars by start with 95% CIs."""
    index = {tuple(r[k] for k in BY): r for r in table}
    panels = (
        ("test_acc", "test accuracy", False),
        ("bw_before", "B/W proxy at start", True),
        ("bw_after", "B/W proxy after training", True),
    )
    fig, axes = figure(
        len(cfg.datasets), len(panels), width=4.0 * len(panels), height=3.0 * len(cfg.datasets)
    )
    step = 0.8 / len(cfg.starts)
    for i, dataset in enumerate(cfg.datasets):
        for ax, (metric, label, log) in zip(axes[i], panels, strict=True):
            for j, start in enumerate(cfg.starts):
                found = [index.get((dataset, a, start)) for a in cfg.archs]
                means = [r[f"{metric}_mean"] if r else np.nan for r in found]
                errs = [np.nan_to_num(r[f"{metric}_ci"]) if r else 0.0 for r in found]
                ax.bar(
                    np.arange(len(cfg.archs)) + (j - (len(cfg.starts) - 1) / 2) * step,
                    means,
                    step,
                    yerr=errs,
                    capsize=3,
                    label=start,
                    color=f"C{j}",
                )
            ax.set_xticks(np.arange(len(cfg.archs)), cfg.archs)
            ax.set(title=f"{dataset}: {label}")
            if log:
                ax.set_yscale("log")
            else:
                lows = [r["test_acc_mean"] for r in table if r["dataset"] == dataset]
                ax.set_ylim(max(0.0, min(lows) - 0.1), 1.0)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """``summary.csv`` (mean, std and 95% CI half-width per dataset × arch × start, see
    :func:`specinit.results.ci_rows`), the figure and the findings.
    """
    table = ci_rows(rows, BY, METRICS)
    run.write_table("summary", table)
    plot_summary(cfg, table, run.figure_path("random_label"))
    return Summary(
        tables=[
            (
                "Mean ± 95% CI (Student t) across seeds; bandwidth proxy = mean |∂ mean output/∂ "
                "pixel| on a fixed training batch; Hessian of the final model on a fixed "
                "training subset",
                ci_markdown(table, BY, METRICS),
            )
        ],
        figures=[
            ("Test accuracy and bandwidth proxy by start (bars: mean, whiskers: 95% CI)", "random_label.png")
        ],
        findings=findings(cfg, table, rows),
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="random-label",
    title="Random-label pre-training as a high-bandwidth start: fit, generalization, bandwidth, flatness",
    source="arXiv 2206.08558 (How you start matters for generalization), Exp 4 and A.4",
    default=Config(),
    quick=QUICK,
    paper=PAPER,
)
