"""``swim-mnist``: sampled (SWIM) classifiers on MNIST and Fashion-MNIST, and SWIM as a start for Adam.

arXiv 2511.02244 (spectral SWIM) claims per-layer scales that grow with depth beat the constant
scale of SWIM (arXiv 2306.16830).  Two kinds of unit:

* **no backprop** — :class:`specinit.SwimClassifier` (tanh, float32, default ridge) with
  ``depth`` hidden layers of ``width`` units and scale schedule ``"spectral"``, ``"constant"``
  or ``"reversed"`` (with one hidden layer ``"reversed"`` is the same network as
  ``"spectral"`` and is not run); test accuracy on the full test split, training accuracy on
  the first ``train_eval`` training images, fit time;
* **fine-tuning** — an MLP of ``finetune_depth`` × ``finetune_width`` started from SWIM
  (``specinit.init_(model, "swim", data=x_train, targets=y_train, scales=finetune_schedule)``)
  or from Xavier, then trained with Adam and cross-entropy for the same ``epochs``; both get the
  same learning-rate grid, chosen per unit by final *training* loss (:func:`specinit.tune_lr`).

Inputs are the pixels in ``[0, 1]`` (``specinit.data.mnist(flatten=True)``).  SWIM does not care
about a global affine rescaling of the inputs — a neuron's pre-activation
``s1 ⟨x − x_i, x_j − x_i⟩ / ‖x_j − x_i‖² − s2`` is invariant under ``x ↦ a x + c`` — so global
standardization would give the same networks.

Logit scale: the SWIM readout regresses one-hot targets, so its outputs are ≈ 0 or 1 and
``softmax`` of them is nearly uniform — a high cross-entropy at an accurate start, whose large
gradients would first undo the readout.  Before fine-tuning the readout (weight and bias) is
multiplied by the ``T`` of ``logit_scales`` with the lowest *training* cross-entropy of
``T · f(x)`` (argmax, hence accuracy, unchanged); the row records ``T``.  Two more things keep
Adam from wrecking the start (measured on 2000 MNIST images, width 256, 2 epochs): the readout is
fitted with a larger ridge ``finetune_l2 = 0.1`` (at the no-backprop default 1e-6 its norm is
≈ 1000, so small changes of the hidden features swing the logits: test accuracy fell from 0.87
to 0.83–0.84 for every lr; at 0.1 the norm is ≈ 35 and Adam lifts it to 0.89), and the lr grid
reaches down to 3e-5: SWIM's hidden weights ``s1 Δx/‖Δx‖²`` are ≈ 0.003 per entry on MNIST,
ten times smaller than Xavier's, so Adam's per-entry step of ≈ lr is relatively ten times larger.

Runtime (one core, ``OMP_NUM_THREADS=1``, measured on a shared 2-core machine): ``--quick``
(2000/1000-image subsets) about 15 s; ``--seeds 2 --set widths=512,2048 --set epochs=2`` 773 s;
one width-8192 one-layer fit 38 s, width 16384 260 s.  The default (2 datasets × widths 512,
2048, 8192 × depths 1–2 × 3 seeds on the full splits, plus fine-tuning width 1024 for 3 epochs ×
4 learning rates) is estimated at 2.5–4 h, dominated by the depth-2 width-8192 fits (a
60000 × 8192 × 8192 layer product each) and the Adam epochs (≈ 15 s each).
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import specinit
from specinit import data
from specinit._core.placement import to_device
from specinit._core.plotting import figure
from specinit.estimators import SwimClassifier
from specinit.initializers.readout import calibrate_logits
from specinit.initializers.swim import SCHEDULES, default_scales
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows, compare, verdict
from specinit.lab.runner import Context
from specinit.lab.tasks import check_image_datasets, mean_by
from specinit.nn.models import mlp
from specinit.training import accuracy, tune_lr

#: Starts compared under Adam fine-tuning.
FINETUNE_INITS = ("swim", "xavier_normal")


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    datasets: tuple[str, ...] = ("mnist", "fashion_mnist")
    activation: str = "tanh"
    depths: tuple[int, ...] = (1, 2)
    widths: tuple[int, ...] = (512, 2048, 8192)
    schedules: tuple[str, ...] = ("spectral", "constant", "reversed")
    limit_train: int | None = None  # class-balanced subset size; None = the full split
    limit_test: int | None = None
    train_eval: int = 10000  # training images scored for train_acc
    finetune_inits: tuple[str, ...] = FINETUNE_INITS
    finetune_depth: int = 1
    finetune_width: int = 1024
    finetune_schedule: str = "spectral"
    finetune_l2: float = 0.1  # relative ridge of the SWIM start's readout (see the docstring)
    epochs: int = 3
    batch_size: int = 128
    lrs: tuple[float, ...] = (3e-5, 1e-4, 3e-4, 1e-3)
    logit_scales: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Data: the quick config fits the embedded subsets (2000 train / 1000 test per dataset), so it
# runs with no data folder; the default needs the full sets (--data-dir / SPECINIT_DATA).
QUICK = Config(
    widths=(256, 512),
    limit_train=2000,
    limit_test=1000,
    finetune_width=256,
    epochs=2,
    lrs=(1e-4, 1e-3),
    seeds=(0,),
)


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for an unknown dataset, schedule or start, bad sizes or rates."""
    if not cfg.datasets:
        raise ValueError("datasets is empty; name at least one of mnist, fashion_mnist")
    check_image_datasets(cfg.datasets)
    default_scales(cfg.activation)  # unsupported activation: ValueError naming it
    bad = [s for s in (*cfg.schedules, cfg.finetune_schedule) if s not in SCHEDULES]
    if bad:
        raise ValueError(f"unknown schedule(s) {bad}; choose from {', '.join(SCHEDULES)}")
    bad = [i for i in cfg.finetune_inits if i not in FINETUNE_INITS]
    if bad:
        raise ValueError(f"unknown fine-tuning start(s) {bad}; choose from {', '.join(FINETUNE_INITS)}")
    sizes = (
        *cfg.depths,
        *cfg.widths,
        cfg.finetune_depth,
        cfg.finetune_width,
        cfg.epochs,
        cfg.batch_size,
        cfg.train_eval,
    )
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes):
        raise ValueError(
            "depths, widths, finetune_depth, finetune_width, epochs, batch_size and "
            "train_eval must be positive integers"
        )
    if cfg.finetune_inits and (not cfg.lrs or min(cfg.lrs) <= 0):
        raise ValueError(f"lrs must hold positive learning rates, got {cfg.lrs}")
    if cfg.finetune_l2 <= 0:
        raise ValueError(f"finetune_l2 must be positive, got {cfg.finetune_l2}")
    if not cfg.logit_scales or min(cfg.logit_scales) <= 0:
        raise ValueError(f"logit_scales must hold positive factors, got {cfg.logit_scales}")


def units(cfg: Config) -> list[Unit]:
    """One unit per dataset × method × schedule × depth × width × seed (config checked first)."""
    check_config(cfg)
    cases: list[dict[str, Any]] = []
    for dataset in cfg.datasets:
        cases += [
            {"dataset": dataset, "method": "swim", "schedule": s, "depth": d, "width": w}
            for d in cfg.depths
            for w in cfg.widths
            for s in cfg.schedules
            if not (d == 1 and s == "reversed")
        ]
        cases += [
            {
                "dataset": dataset,
                "method": f"{i}+adam",
                "schedule": cfg.finetune_schedule if i == "swim" else "none",
                "depth": cfg.finetune_depth,
                "width": cfg.finetune_width,
            }
            for i in cfg.finetune_inits
        ]
    return seeds_units(cases, cfg.seeds)


def data_needs(cfg: Config) -> list[tuple[str, int | None, int | None]]:
    """The images every unit reads: one subset per dataset."""
    return [(d, cfg.limit_train, cfg.limit_test) for d in cfg.datasets]


def _swim_unit(cfg: Config, split: data.Split, p: Mapping[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    clf = SwimClassifier(
        widths=(p["width"],) * p["depth"],
        activation=cfg.activation,
        scales=p["schedule"],
        random_state=p["seed"],
    )
    model = to_device(
        clf.fit(split.x_train.cpu().numpy(), split.y_train.cpu().numpy()).model_, split.x_train.device
    )
    seconds = time.perf_counter() - start
    n = min(cfg.train_eval, len(split.x_train))
    return {
        "fit_seconds": round(seconds, 3),
        "train_acc": accuracy(model, split.x_train[:n], split.y_train[:n]),
        "test_acc": accuracy(model, split.x_test, split.y_test),
    }


def _finetune_unit(
    cfg: Config, split: data.Split, p: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    init, seed = p["method"].removesuffix("+adam"), p["seed"]
    net = to_device(
        mlp(split.x_train.shape[1], [p["width"]] * p["depth"], split.num_classes or 10, cfg.activation),
        split.x_train.device,
    )
    start = time.perf_counter()
    row: dict[str, Any] = {"logit_scale": float("nan")}
    if init == "swim":
        specinit.init_(
            net,
            "swim",
            data=split.x_train,
            targets=split.y_train,
            scales=p["schedule"],
            generator=seed,
            l2=cfg.finetune_l2,
        )
        row["logit_scale"] = calibrate_logits(net, split.x_train, split.y_train, cfg.logit_scales)
    else:
        specinit.init_(net, init, generator=seed)
    row["init_seconds"] = round(time.perf_counter() - start, 3)
    row["test_acc_e0"] = accuracy(net, split.x_test, split.y_test)
    search = tune_lr(
        lambda: copy.deepcopy(net),
        split.x_train,
        split.y_train,
        cfg.lrs,
        loss="cross_entropy",
        optimizer="adam",
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        generator=seed,
        x_val=split.x_test,
        y_val=split.y_test,
        progress=False,
    )
    history = np.asarray(search.result.history["val_accuracy"], dtype=float)
    curve = np.concatenate([[row["test_acc_e0"]], history])
    row.update({f"test_acc_e{e}": float(a) for e, a in enumerate(curve) if e > 0})
    row.update({"lr": search.lr, "train_loss": search.result.final_loss, "test_acc": float(curve[-1])})
    return row, {"test_acc": curve}


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fit one SWIM classifier without backpropagation, or fine-tune one start with Adam."""
    p = unit.params
    split = context.images(p["dataset"], cfg.limit_train, cfg.limit_test)  # one subset: seed 0
    row: dict[str, Any] = {k: p[k] for k in ("dataset", "method", "schedule", "depth", "width", "seed")}
    if p["method"] == "swim":
        return {**row, **_swim_unit(cfg, split, p)}, {}
    extra, arrays = _finetune_unit(cfg, split, p)
    return {**row, **extra}, arrays


BY = ("dataset", "method", "schedule", "depth", "width")


def plot_accuracy(cfg: Config, rows: list[dict[str, Any]], path: Any) -> None:
    """No-backprop test accuracy against width, one panel per dataset, one line per depth × schedule."""
    fig, axes = figure(1, len(cfg.datasets), width=4.2 * len(cfg.datasets), height=3.3)
    for ax, dataset in zip(axes[0], cfg.datasets, strict=True):
        for depth in cfg.depths:
            for schedule in cfg.schedules:
                means = [
                    mean_by(
                        rows,
                        "test_acc",
                        dataset=dataset,
                        method="swim",
                        schedule=schedule,
                        depth=depth,
                        width=w,
                    )
                    for w in cfg.widths
                ]
                if not np.all(np.isnan(means)):
                    ax.semilogx(
                        cfg.widths,
                        means,
                        "o-" if depth == 1 else "s--",
                        ms=4,
                        label=f"{schedule}, depth {depth}",
                    )
        ax.set_xticks(cfg.widths, [str(w) for w in cfg.widths])
        ax.minorticks_off()
        ax.set(title=dataset, xlabel="width")
    axes[0, 0].set_ylabel("test accuracy (no backprop)")
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_finetune(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], path: Any
) -> None:
    """Test accuracy per epoch (0 = the start) of each fine-tuned start, mean over seeds."""
    fig, axes = figure(1, len(cfg.datasets), width=4 * len(cfg.datasets), height=3.2)
    for ax, dataset in zip(axes[0], cfg.datasets, strict=True):
        for init in cfg.finetune_inits:
            curves = [
                arrays[r["unit"]]["test_acc"]
                for r in rows
                if r["dataset"] == dataset and r["method"] == f"{init}+adam"
            ]
            if curves:
                ax.plot(
                    np.arange(len(curves[0])), np.mean(curves, axis=0), "o-", ms=4, label=f"{init} + Adam"
                )
        ax.set(
            title=f"{dataset}, {cfg.finetune_depth} × {cfg.finetune_width}",
            xlabel="epoch",
            xticks=np.arange(cfg.epochs + 1),
        )
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _says(decisions: list[tuple[bool | None, str]], evidence: str) -> tuple[bool | None, str]:
    """Every comparison decided for the claim (2 SE of the seed and binomial test-set noise)."""
    holds = all_hold(h for h, _ in decisions)
    margins = "; ".join(m for _, m in decisions)
    return holds, f"{evidence}; {margins}" + ("" if holds is not None else " — not decided")


def findings(cfg: Config, rows: list[dict[str, Any]]) -> list[Finding]:
    """Spectral vs constant/reversed at the largest width per dataset and depth; SWIM start vs
    Xavier start after fine-tuning and at epoch 1; the best no-backprop accuracy.
    """
    wide = max(cfg.widths)
    n_test = cfg.limit_test or 10_000
    out = []
    for dataset in cfg.datasets:
        acc = functools.partial(mean_by, rows, "test_acc", dataset=dataset, method="swim", width=wide)
        for depth in cfg.depths:
            rivals = [
                s
                for s in ("constant", "reversed")
                if s in cfg.schedules and not (depth == 1 and s == "reversed")
            ]
            if "spectral" not in cfg.schedules or not rivals:
                continue
            ours = acc(schedule="spectral", depth=depth)
            theirs = {s: acc(schedule=s, depth=depth) for s in rivals}
            out.append(
                Finding(
                    f"{dataset}, depth {depth}, width {wide}: spectral SWIM has higher test accuracy "
                    f"than {' and '.join(rivals)}",
                    *_says(
                        [compare(ours, v, n_test=n_test) for v in theirs.values()],
                        f"spectral {ours:.4f}, "
                        + ", ".join(f"{s} {v:.4f}" for s, v in theirs.items())
                        + " (mean over seeds)",
                    ),
                )
            )
        if {"swim", "xavier_normal"} <= set(cfg.finetune_inits):
            for metric, when in (
                ("test_acc_e1", "after 1 epoch"),
                ("test_acc", f"after {cfg.epochs} epochs"),
            ):
                swim = mean_by(rows, metric, dataset=dataset, method="swim+adam")
                xavier = mean_by(rows, metric, dataset=dataset, method="xavier_normal+adam")
                out.append(
                    Finding(
                        f"{dataset}: a SWIM start beats a Xavier start {when} of Adam "
                        f"({cfg.finetune_depth} × {cfg.finetune_width})",
                        *_says(
                            [compare(swim, xavier, n_test=n_test)],
                            f"SWIM {swim:.4f} vs Xavier {xavier:.4f} (mean over seeds)",
                        ),
                    )
                )
    if "mnist" in cfg.datasets:
        best = max(
            (r for r in rows if r["dataset"] == "mnist" and r["method"] == "swim"),
            key=lambda r: r["test_acc"],
            default=None,
        )
        if best is not None:
            best_se = math.sqrt(max(best["test_acc"] * (1 - best["test_acc"]), 0.985 * 0.015) / n_test)
            out.append(
                Finding(
                    "MNIST without backprop reaches ≥ 98.5% test accuracy",
                    verdict(best["test_acc"] - 0.985, best_se),
                    f"best {best['test_acc']:.4f}: {best['schedule']}, depth {best['depth']}, width "
                    f"{best['width']}, seed {best['seed']} (2 SE = {2 * best_se:.3f} on {n_test} test images)"
                    + ("" if verdict(best["test_acc"] - 0.985, best_se) is not None else " — not decided"),
                )
            )
    return out


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables of the SWIM fits and the fine-tuning runs, the figures and the checked
    findings.
    """
    swim_rows = [r for r in rows if r["method"] == "swim"]
    tune_rows = [r for r in rows if r["method"] != "swim"]
    swim_table = ci_rows(swim_rows, BY, ("test_acc", "train_acc", "fit_seconds"))
    epochs = tuple(f"test_acc_e{e}" for e in range(cfg.epochs + 1))
    tune_table = ci_rows(tune_rows, BY, (*epochs, "train_loss"))
    run.write_table("summary", swim_table)
    run.write_table("summary_finetune", tune_table)
    plot_accuracy(cfg, rows, run.figure_path("accuracy_vs_width"))
    figures = [("No-backprop test accuracy against width (mean over seeds)", "accuracy_vs_width.png")]
    if tune_rows:
        plot_finetune(cfg, rows, arrays, run.figure_path("finetune"))
        figures.append(("Adam fine-tuning from a SWIM or a Xavier start (mean over seeds)", "finetune.png"))
    return Summary(
        tables=[
            (
                "No backprop: SWIM classifiers, mean ± 95% CI over seeds",
                ci_markdown(swim_table, BY, ("test_acc", "train_acc", "fit_seconds")),
            ),
            (
                "Adam fine-tuning, test accuracy per epoch (e0 = start), mean ± 95% CI over seeds",
                ci_markdown(tune_table, BY, (*epochs, "train_loss")),
            ),
        ],
        figures=figures,
        findings=findings(cfg, rows),
        metrics={"summary": swim_table, "finetune": tune_table},
    )


EXPERIMENT = register_module(
    __name__,
    name="swim-mnist",
    title="SWIM classifiers on MNIST / Fashion-MNIST: scale schedules, and SWIM as a start for Adam",
    source="arXiv 2511.02244 (spectral SWIM), SWIM arXiv 2306.16830",
    default=Config(),
    quick=QUICK,
)
