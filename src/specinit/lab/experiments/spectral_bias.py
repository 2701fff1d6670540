"""``spectral-bias``: Exp 2 of arXiv 2206.08558 — per-frequency convergence while fitting dense data.

ReLU, Gaussian and sine networks fit densely sampled multi-frequency targets; a
:class:`specinit.FrequencyTracker` records ``|F[f_t](k) − F[y](k)| / |F[y](k)|`` for each
target frequency ``k`` as training goes.  Claim (Theorem 5.1): every network shows spectral
bias — low frequencies converge first — with convergence-decay rates that differ across
network types.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from specinit._core.plotting import figure
from specinit.data import Sinusoids, sample_1d, sinusoids
from specinit.lab import checks
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, ci_markdown, ci_rows
from specinit.lab.runner import Context
from specinit.lab.tasks import build_net
from specinit.measure.spectrum import FrequencyTracker
from specinit.training import train


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    activations: tuple[str, ...] = ("relu", "gaussian(sigma=0.1)", "sine(omega0=5)")
    depth: int = 4
    width: int = 128
    init: str = "xavier_normal"
    freqs: tuple[float, ...] = (1.0, 4.0, 8.0, 12.0, 16.0)
    lo: float = -1.0
    hi: float = 1.0
    n: int = 256  # dense samples on [lo, hi)
    optimizer: str = "adam"
    lr: float = 1e-3
    steps: int = 5000
    every: int = 10
    tol: float = 0.1  # a frequency has converged when its relative error drops below tol
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


QUICK = Config(steps=800, every=10, seeds=(0,))


def _target(cfg: Config) -> Sinusoids:
    phases = tuple(0.7 * i for i in range(len(cfg.freqs)))
    return sinusoids(cfg.freqs, None, phases)


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a value that cannot run (before any unit runs)."""
    checks.nonempty(cfg, "activations", "freqs")
    checks.distinct(cfg, "activations")
    checks.positive(cfg, "depth", "width", "freqs", "n", "lr", "steps", "every", "tol")
    checks.activation_names(cfg, "activations")
    checks.init_methods(cfg, "init")
    if cfg.optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {cfg.optimizer!r}")
    if not cfg.hi > cfg.lo:
        raise ValueError(f"hi must exceed lo, got lo={cfg.lo!r}, hi={cfg.hi!r}")


def units(cfg: Config) -> list[Unit]:
    """One unit per activation × seed."""
    return seeds_units([{"activation": a} for a in cfg.activations], cfg.seeds)


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one network on the dense samples, tracking when each target frequency converges."""
    act, seed = unit.params["activation"], unit.params["seed"]
    target = _target(cfg)
    x, y = context.place(sample_1d(target, cfg.lo, cfg.hi, n=cfg.n))
    model = build_net(act, cfg.depth, cfg.width, cfg.init, seed, device=context.device)
    tracker = FrequencyTracker(y, cfg.lo, cfg.hi, cfg.n, freqs=cfg.freqs, every=cfg.every)
    result = train(
        model,
        x,
        y,
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        steps=cfg.steps,
        generator=seed,
        callbacks=[tracker],
        progress=False,
    )
    # A frequency that never converged is censored at steps + every ("later than the run").
    converged = tracker.convergence_step(cfg.tol)
    reached = np.where(np.isnan(converged), cfg.steps + cfg.every, converged)
    rho = float(spearmanr(tracker.freqs, reached).statistic) if np.ptp(reached) > 0 else 0.0
    row = {
        "activation": act,
        "seed": seed,
        "final_mse": result.final_loss,
        "spearman_freq_vs_step": rho,
        "n_converged": int(np.isfinite(converged).sum()),
        **{f"converged_at_f{f:g}": float(s) for f, s in zip(tracker.freqs, reached, strict=True)},
    }
    return row, {"steps": np.asarray(tracker.steps), "freqs": tracker.freqs, "errors": tracker.errors}


def _rho_verdict(rho: float, n_freqs: int, n_seeds: int) -> tuple[bool | None, str]:
    """Whether a mean Spearman ρ over ``n_seeds`` seeds is positive (True) or negative (False)
    beyond chance at the 5% level (one-sided), else None.  One seed: the exact permutation
    distribution of ρ for ``n_freqs`` distinct values; more: a normal approximation with the null
    standard deviation ``1/√(n_freqs − 1)`` of one ρ, divided by ``√n_seeds``.

    >>> _rho_verdict(1.0, 5, 1)[0], _rho_verdict(0.8, 5, 1)[0], _rho_verdict(0.8, 5, 3)[0]
    (True, None, True)
    """
    if n_freqs < 3 or not math.isfinite(rho):
        return None, "too few frequencies to test"
    if n_seeds == 1 and n_freqs <= 8:
        ranks = np.arange(n_freqs, dtype=float)
        null = np.array([np.corrcoef(ranks, p)[0, 1] for p in itertools.permutations(ranks)])
        upper, lower = float(np.mean(null >= rho - 1e-9)), float(np.mean(null <= rho + 1e-9))
        text = f"exact permutation p = {min(upper, lower):.3g}, one seed"
        return (True if upper < 0.05 else False if lower < 0.05 else None), text
    z = rho * math.sqrt(n_freqs - 1) * math.sqrt(n_seeds)
    text = f"z = {z:.2f} against chance over {n_seeds} seeds"
    return (True if z > 1.645 else False if z < -1.645 else None), text


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per activation, the per-frequency convergence figure and the checked
    findings.
    """
    step_cols = [k for k in rows[0] if k.startswith("converged_at_f")]
    metrics = ("final_mse", "spearman_freq_vs_step", "n_converged", *step_cols)
    table = ci_rows(rows, ("activation",), metrics)
    run.write_table("summary", table)

    fig, axes = figure(1, len(cfg.activations), width=4.4 * len(cfg.activations), height=3.2)
    for ax, act in zip(axes[0], cfg.activations, strict=True):
        key = next(r["unit"] for r in rows if r["activation"] == act and r["seed"] == cfg.seeds[0])
        arr = arrays[key]
        # Step + 1 on a log axis: the fast networks converge in tens of steps.
        image = ax.pcolormesh(
            arr["steps"] + 1,
            np.arange(len(arr["freqs"])),
            np.clip(arr["errors"].T, 0, 1),
            cmap="viridis",
            vmin=0,
            vmax=1,
            shading="nearest",
        )
        ax.set_xscale("log")
        ax.set_yticks(range(len(arr["freqs"])), [f"{f:g}" for f in arr["freqs"]])
        ax.set(title=act, xlabel="step + 1")
    axes[0, 0].set_ylabel("frequency (cycles/unit)")
    fig.colorbar(image, ax=axes.ravel().tolist(), label="relative error |F[f]−F[y]|/|F[y]|")
    fig.savefig(run.figure_path("convergence_heatmaps"), dpi=110, bbox_inches="tight")

    by_act = {r["activation"]: r for r in table}
    tests = {
        a: _rho_verdict(by_act[a]["spearman_freq_vs_step_mean"], len(cfg.freqs), by_act[a]["n"])
        for a in by_act
    }
    findings = [
        Finding(
            f"{act}: low frequencies converge before high ones (spectral bias)",
            tests[act][0],
            f"Spearman ρ(frequency, convergence step) = {by_act[act]['spearman_freq_vs_step_mean']:.2f} "
            f"({tests[act][1]}{'' if tests[act][0] is not None else ', not decided'}); "
            "steps to error < "
            f"{cfg.tol:g}: "
            + ", ".join(
                f"f={c.removeprefix('converged_at_f')}: {by_act[act][c + '_mean']:.0f}" for c in step_cols
            )
            + f" ({cfg.steps + cfg.every} = not converged within the run)",
        )
        for act in cfg.activations
    ]
    return Summary(
        tables=[
            (
                f"Mean ± 95% CI over seeds (convergence step: first record with error < {cfg.tol:g}; "
                f"{cfg.steps + cfg.every} = not converged within the run)",
                ci_markdown(table, ("activation",), metrics),
            )
        ],
        figures=[("Per-frequency convergence (first seed)", "convergence_heatmaps.png")],
        findings=findings,
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="spectral-bias",
    title="Spectral bias of ReLU, Gaussian and sine networks on dense data",
    source="arXiv 2206.08558, Exp 2 (Fig. 2)",
    default=Config(),
    quick=QUICK,
)
