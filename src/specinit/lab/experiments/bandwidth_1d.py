"""``bandwidth-1d``: Exp 3a–d of arXiv 2206.08558 — the spectrum at the start decides the fit.

Four starts fit the same sparse samples (step ``s``, lowest fitting frequency ``f_c = 1/(2s)``):
(a) ReLU, Xavier — little energy above ``f_c``, converges to the low-frequency solution;
(b) ReLU pre-trained on ``sin(2π f_hi x)`` with ``f_hi > f_c`` — the spike at ``f_hi`` survives;
(c) Gaussian, Xavier — high frequencies at the start, a poor interpolation;
(d) Gaussian, small-variance init — low bandwidth, a good interpolation.
Every start gets the same SGD learning-rate grid (chosen by final training loss).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from specinit._core.plotting import figure
from specinit.lab import checks
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows, compare
from specinit.lab.runner import Context
from specinit.lab.tasks import (
    BANDWIDTH_STARTS,
    SparseTask,
    Starts,
    check_task,
    fit_and_measure,
    make_start,
    mean_by,
    plot_fits,
)

STARTS = BANDWIDTH_STARTS


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    task: SparseTask = SparseTask()
    width: int = 128
    relu_depth: int = 4
    gaussian_depth: int = 6
    gaussian_sigma: float = 0.1
    small_alpha: float = 2.0  # gaussian_small: W ~ N(0, (alpha·sigma)²/fan_in)
    high_freq: float = 8.0  # f_hi, cycles per unit; must exceed f_c
    pretrain_steps: int = 3000
    pretrain_lr: float = 3e-3
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    steps: int = 2000
    momentum: float = 0.9
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


QUICK = Config(lrs=(1e-2,), pretrain_steps=1000, seeds=(0,))


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a value that cannot run (before any unit runs)."""
    checks.nonempty(cfg, "lrs")
    checks.positive(
        cfg, "width", "relu_depth", "gaussian_depth", "gaussian_sigma", "small_alpha", "lrs", "steps"
    )
    checks.positive(cfg, "pretrain_steps", "pretrain_lr")
    checks.non_negative(cfg, "momentum")
    check_task(cfg.task)


def units(cfg: Config) -> list[Unit]:
    """One unit per start × seed (``high_freq`` checked to lie above the lowest fitting frequency)."""
    if cfg.high_freq <= cfg.task.cutoff:
        raise ValueError(
            f"high_freq={cfg.high_freq} must exceed the lowest fitting frequency {cfg.task.cutoff}"
        )
    return seeds_units([{"start": s} for s in STARTS], cfg.seeds)


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Build one start, fit the sparse samples (best learning rate) and measure its spectrum before
    and after, with the peak amplitude near ``f_hi``.
    """
    start, seed = unit.params["start"], unit.params["seed"]
    # The pre-trained start is built once and copied for each learning rate.
    base = make_start(start, seed, Starts.of(cfg), cfg.task.lo, cfg.task.hi, device=context.device)
    row, arrays = fit_and_measure(
        cfg.task,
        lambda: copy.deepcopy(base),
        lrs=cfg.lrs,
        steps=cfg.steps,
        momentum=cfg.momentum,
        seed=seed,
        device=context.device,
    )
    band = np.abs(arrays["freqs"] - cfg.high_freq) <= 1.0  # the spike may drift by a bin or two
    row.update(
        amp_fhi_init=float(arrays["amplitude_init"][band].max()),
        amp_fhi_final=float(arrays["amplitude_final"][band].max()),
    )
    return {"start": start, "seed": seed, **row}, arrays


METRICS = ("train_mse", "test_mse", "energy_above_init", "energy_above_final", "amp_fhi_final")


#: A start "fits" the samples when its train MSE is below this (the signal's variance is ~1).
FIT_MSE = 1e-2


def _fits(rows: list[dict[str, Any]], starts: list[str]) -> bool:
    return all(float(r["train_mse"]) <= FIT_MSE for r in rows if r["start"] in starts)


def _fitted(rows: list[dict[str, Any]], starts: list[str], holds: bool | None) -> bool | None:
    """A claim about fitted networks is only decided when every network of ``starts`` fitted."""
    return holds if _fits(rows, starts) else None


def _fit_note(rows: list[dict[str, Any]], starts: list[str]) -> str:
    return (
        ""
        if _fits(rows, starts)
        else f" — not decided: a net did not fit its samples (train MSE > {FIT_MSE:g})"
    )


def _log_higher(
    rows: list[dict[str, Any]], metric: str, high: str, low: str, by: float = 0.0
) -> tuple[bool | None, str]:
    """``log10 metric[high] − log10 metric[low] > by`` beyond 2 SE of the seed-paired differences."""

    def logs(start: str) -> list[float]:
        mine = sorted((r for r in rows if r["start"] == start), key=lambda r: r["seed"])
        return [math.log10(max(float(r[metric]), 1e-300)) for r in mine]

    return compare([v - by for v in logs(high)], logs(low), paired=True)


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per start, the fitted curves and spectra, and the checked findings."""
    table = ci_rows(rows, ("start",), METRICS)
    run.write_table("summary", table)
    first = {r["start"]: r["unit"] for r in rows if r["seed"] == cfg.seeds[0]}
    plot_fits(
        cfg.task,
        [(s, arrays[first[s]]["grid"], arrays[first[s]]["fitted"]) for s in STARTS],
        run.figure_path("fits"),
        columns=len(STARTS),
    )
    fig, axes = figure(1, len(STARTS), width=4 * len(STARTS), height=3)
    for ax, s in zip(axes[0], STARTS, strict=True):
        arr = arrays[first[s]]
        ax.semilogy(arr["freqs"], np.maximum(arr["amplitude_init"], 1e-8), lw=1, label="start")
        ax.semilogy(arr["freqs"], np.maximum(arr["amplitude_final"], 1e-8), lw=1, label="after fit")
        ax.axvline(cfg.task.cutoff, color="k", ls="--", lw=0.8)
        ax.set(title=s, xlabel="frequency (cycles/unit)", xlim=(0, 4 * cfg.task.cutoff))
    axes[0, 0].set_ylabel("amplitude")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.figure_path("spectra"), dpi=110)

    e = partial(mean_by, rows)
    findings = [
        Finding(
            "(a) ReLU + Xavier starts and ends with little energy above f_c",
            _fitted(
                rows,
                ["relu-xavier"],
                e("energy_above_init", start="relu-xavier") < 0.1
                and e("energy_above_final", start="relu-xavier") < 0.05,
            ),
            f"energy above f_c {e('energy_above_init', start='relu-xavier'):.3f} → "
            f"{e('energy_above_final', start='relu-xavier'):.3f} (bounds 0.1 and 0.05 for every seed's mean)"
            + _fit_note(rows, ["relu-xavier"]),
        ),
        Finding(
            f"(b) a ReLU start pre-trained at f_hi = {cfg.high_freq:g} keeps high frequencies after "
            "fitting and interpolates worse than (a)",
            _fitted(
                rows,
                ["relu-high-frequency", "relu-xavier"],
                all_hold(
                    [
                        _log_higher(rows, "energy_above_final", "relu-high-frequency", "relu-xavier", 1.0)[0],
                        _log_higher(rows, "test_mse", "relu-high-frequency", "relu-xavier")[0],
                    ]
                ),
            ),
            f"energy above f_c after fitting {e('energy_above_final', start='relu-high-frequency'):.3f} "
            f"vs (a) {e('energy_above_final', start='relu-xavier'):.3f}; peak amplitude within ±1 of "
            f"f_hi {e('amp_fhi_init', start='relu-high-frequency'):.3f} → "
            f"{e('amp_fhi_final', start='relu-high-frequency'):.3f}; test MSE "
            f"{e('test_mse', start='relu-high-frequency'):.3g} "
            f"vs (a) {e('test_mse', start='relu-xavier'):.3g}; log10 energy ratio − 1: "
            f"{_log_higher(rows, 'energy_above_final', 'relu-high-frequency', 'relu-xavier', 1.0)[1]}; "
            f"log10 test MSE: {_log_higher(rows, 'test_mse', 'relu-high-frequency', 'relu-xavier')[1]}"
            + _fit_note(rows, ["relu-high-frequency", "relu-xavier"]),
        ),
        Finding(
            "(c, d) a Gaussian net fits badly from Xavier and well from a small-variance start",
            _fitted(
                rows,
                ["gaussian-xavier", "gaussian-small"],
                all_hold(
                    [
                        _log_higher(rows, "test_mse", "gaussian-xavier", "gaussian-small")[0],
                        _log_higher(rows, "energy_above_final", "gaussian-xavier", "gaussian-small")[0],
                    ]
                ),
            ),
            f"test MSE {e('test_mse', start='gaussian-xavier'):.3g} (Xavier) vs "
            f"{e('test_mse', start='gaussian-small'):.3g} (small); energy above f_c after fitting "
            f"{e('energy_above_final', start='gaussian-xavier'):.3f} "
            f"vs {e('energy_above_final', start='gaussian-small'):.3f}; log10 test MSE: "
            f"{_log_higher(rows, 'test_mse', 'gaussian-xavier', 'gaussian-small')[1]}"
            + _fit_note(rows, ["gaussian-xavier", "gaussian-small"]),
        ),
    ]
    return Summary(
        tables=[
            (
                f"Mean ± 95% CI over seeds (f_c = {cfg.task.cutoff:g}, f_hi = {cfg.high_freq:g})",
                ci_markdown(table, ("start",), METRICS),
            )
        ],
        figures=[
            ("Fitted curves (first seed)", "fits.png"),
            ("Spectra before and after fitting", "spectra.png"),
        ],
        findings=findings,
        metrics={"summary": table, "cutoff": cfg.task.cutoff},
    )


EXPERIMENT = register_module(
    __name__,
    name="bandwidth-1d",
    title="The initial spectrum decides the interpolation (lowest-frequency solution)",
    source="arXiv 2206.08558, Exp 3a–d (Fig. 3)",
    default=Config(),
    quick=QUICK,
)
