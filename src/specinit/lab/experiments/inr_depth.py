"""``inr-depth``: Exp 1 of arXiv 2206.08558 — depth, activation and the spectrum at initialization.

ReLU, Gaussian and sine MLPs of increasing depth, Xavier-initialized, fit sparse samples of a
1D signal with SGD.  Claim: ReLU interpolations stay smooth as depth grows, while Gaussian and
sine networks start with more high-frequency energy the deeper they are and interpolate worse.
The paper's widths, learning rate and activation parameters were stripped from the text; ours
are in :class:`Config`, and every network gets the same learning-rate grid (chosen by final
training loss, never by test error).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from specinit._core.plotting import figure
from specinit.lab import checks
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, ci_markdown, ci_rows, compare
from specinit.lab.runner import Context
from specinit.lab.tasks import SparseTask, build_net, check_task, fit_and_measure, mean_by, plot_fits
from specinit.nn.activations import get as get_activation


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    activations: tuple[str, ...] = ("relu", "gaussian(sigma=0.1)", "sine(omega0=5)")
    depths: tuple[int, ...] = (1, 2, 4, 6)
    width: int = 128
    init: str = "xavier_normal"
    task: SparseTask = SparseTask()
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    steps: int = 3000
    momentum: float = 0.9
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


QUICK = Config(depths=(1, 6), lrs=(3e-3, 1e-2), steps=800, seeds=(0,))


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a value that cannot run (before any unit runs)."""
    checks.nonempty(cfg, "activations", "depths", "lrs")
    checks.distinct(cfg, "activations", "depths")
    checks.positive(cfg, "depths", "width", "lrs", "steps")
    checks.non_negative(cfg, "momentum")
    checks.activation_names(cfg, "activations")
    checks.init_methods(cfg, "init")
    check_task(cfg.task)


def units(cfg: Config) -> list[Unit]:
    """One unit per activation × depth × seed."""
    cases = [{"activation": a, "depth": d} for a in cfg.activations for d in cfg.depths]
    return seeds_units(cases, cfg.seeds)


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fit one network of one activation and depth (best learning rate); its spectrum before and after."""
    p = unit.params
    make = partial(build_net, p["activation"], p["depth"], cfg.width, cfg.init, p["seed"])
    row, arrays = fit_and_measure(
        cfg.task,
        make,
        lrs=cfg.lrs,
        steps=cfg.steps,
        momentum=cfg.momentum,
        seed=p["seed"],
        device=context.device,
    )
    return {"activation": p["activation"], "depth": p["depth"], "seed": p["seed"], **row}, arrays


METRICS = ("train_mse", "test_mse", "energy_above_init", "energy_above_final")


#: A network "fitted" its samples when its train MSE is below this (the signal's variance is ~1).
FIT_MSE = 1e-2


def _values(rows: list[dict[str, Any]], metric: str, activation: str, depth: int) -> list[float]:
    mine = [r for r in rows if r["activation"] == activation and r["depth"] == depth]
    return [float(r[metric]) for r in sorted(mine, key=lambda r: r["seed"])]


def _findings(cfg: Config, rows: list[dict[str, Any]]) -> list[Finding]:
    """The depth claims, decided beyond 2 SE of the seed differences (one seed decides nothing,
    except the absolute floor of 0.05 for ReLU), and the after-fitting claims only for fitted nets.
    """
    relu, others = cfg.activations[0], cfg.activations[1:]
    shallow, deep = min(cfg.depths), max(cfg.depths)
    e = partial(mean_by, rows)
    v = partial(_values, rows)
    relu_deep = v("energy_above_final", relu, deep)
    rougher, margin = compare(relu_deep, v("energy_above_final", relu, shallow), paired=True)
    smooth = True if max(relu_deep) <= 0.05 else (None if rougher is None else not rougher)
    findings = [
        Finding(
            "ReLU interpolations do not get rougher with depth (energy above f_c after fitting)",
            smooth,
            ", ".join(
                f"depth {d}: {e('energy_above_final', activation=relu, depth=d):.3f}" for d in cfg.depths
            )
            + f"; deep − shallow: {margin}"
            + ("" if smooth is not None else " — not decided (above the 0.05 floor, noise unknown)"),
        )
    ]
    for act in others:
        holds, margin = compare(
            v("energy_above_init", act, deep), v("energy_above_init", act, shallow), paired=True
        )
        findings.append(
            Finding(
                f"{act} networks carry more high-frequency energy at init when deeper",
                holds,
                f"energy above f_c at init: depth {shallow} "
                f"{e('energy_above_init', activation=act, depth=shallow):.3f}"
                f" → depth {deep} {e('energy_above_init', activation=act, depth=deep):.3f}; {margin}"
                + ("" if holds is not None else " — not decided at this scale (too few seeds)"),
            )
        )
    for act in others:
        fit = max(v("train_mse", act, deep) + v("train_mse", relu, deep)) <= FIT_MSE
        holds, margin = compare(v("energy_above_final", act, deep), relu_deep, paired=True)
        if not fit:
            holds, margin = None, f"not decided: a net did not fit its samples (train MSE > {FIT_MSE:g})"
        findings.append(
            Finding(
                f"after fitting, the deepest {act} network carries more energy above f_c than ReLU",
                holds,
                f"{e('energy_above_final', activation=act, depth=deep):.3f} vs ReLU "
                f"{e('energy_above_final', activation=relu, depth=deep):.3f} "
                f"(train MSE {e('train_mse', activation=act, depth=deep):.2g} vs "
                f"{e('train_mse', activation=relu, depth=deep):.2g}; test MSE "
                f"{e('test_mse', activation=act, depth=deep):.2g} "
                f"vs {e('test_mse', activation=relu, depth=deep):.2g}); {margin}",
            )
        )
    return findings


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per activation × depth, the fits and spectra, and the checked findings."""
    table = ci_rows(rows, ("activation", "depth"), METRICS)
    run.write_table("summary", table)
    seed = cfg.seeds[0]
    first = {(r["activation"], r["depth"]): r["unit"] for r in rows if r["seed"] == seed}

    plot_fits(
        cfg.task,
        [
            (
                f"{get_activation(a).name}, depth {d}",
                arrays[first[a, d]]["grid"],
                arrays[first[a, d]]["fitted"],
            )
            for a in cfg.activations
            for d in cfg.depths
        ],
        run.figure_path("fits"),
        columns=len(cfg.depths),
    )

    fig, axes = figure(1, len(cfg.activations), width=4 * len(cfg.activations), height=3)
    for ax, act in zip(axes[0], cfg.activations, strict=True):
        for d in cfg.depths:
            arr = arrays[first[act, d]]
            ax.semilogy(arr["freqs"], np.maximum(arr["amplitude_init"], 1e-8), lw=1, label=f"depth {d}")
        ax.axvline(cfg.task.cutoff, color="k", ls="--", lw=0.8)
        ax.set(title=f"{act} at init", xlabel="frequency (cycles/unit)", xlim=(0, 8 * cfg.task.cutoff))
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("amplitude")
    fig.tight_layout()
    fig.savefig(run.figure_path("spectra_init"), dpi=110)

    fig, axes = figure(1, 2, width=9, height=3.2)
    for act in cfg.activations:
        for ax, metric in zip(axes[0], ("energy_above_init", "energy_above_final"), strict=True):
            means = [mean_by(rows, metric, activation=act, depth=d) for d in cfg.depths]
            ax.plot(cfg.depths, means, "o-", label=act)
            ax.set(
                xlabel="hidden layers",
                ylabel="energy fraction above f_c",
                title="at init" if metric.endswith("init") else "after fitting",
                ylim=(-0.02, 1.02),
            )
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.figure_path("energy_vs_depth"), dpi=110)

    findings = _findings(cfg, rows)
    return Summary(
        tables=[
            (
                f"Mean ± 95% CI over seeds (f_c = {cfg.task.cutoff:g} cycles/unit)",
                ci_markdown(table, ("activation", "depth"), METRICS),
            )
        ],
        figures=[
            ("Fitted curves (first seed)", "fits.png"),
            ("Spectra at initialization", "spectra_init.png"),
            ("Energy above the lowest fitting frequency vs depth", "energy_vs_depth.png"),
        ],
        findings=findings,
        metrics={"summary": table, "cutoff": cfg.task.cutoff},
    )


EXPERIMENT = register_module(
    __name__,
    name="inr-depth",
    title="Depth and activation: spectra at init and interpolation of sparse samples",
    source="arXiv 2206.08558, Exp 1 (Fig. 1)",
    default=Config(),
    quick=QUICK,
)
