"""``flat-minima``: Exp 5 of arXiv 2206.08558 — does flatness at convergence predict generalization?

A family of random 1D signals ``f(x) = Σ_{k=1,2} A_k sin(2π f_k x + φ_k)`` (four random variables
``f_1, f_2, A_1, A_2`` plus phases, :func:`specinit.data.random_sinusoids`) is sampled at step ``s``
on ``[lo, hi]``; the test points lie strictly **between** the training samples (the paper's
"error between samples").  The four starts of the paper's Exp 5 (built by
:func:`specinit.experiments.bandwidth_1d.make_start`) fit every signal:

=====================  =========  =====================================================
start                  bandwidth  how
=====================  =========  =====================================================
relu-xavier            low        ReLU net, Xavier-normal init
relu-high-frequency    high       ReLU net pre-trained on ``sin(2π f_hi x)``, ``f_hi > f_c``
gaussian-small         low        Gaussian net, ``W ~ N(0, (α σ)²/fan_in)``
gaussian-xavier        high       Gaussian net, Xavier-normal init
=====================  =========  =====================================================

At convergence the Hessian ``H`` of the training MSE w.r.t. all parameters is measured with the
library's matrix-free estimators (:mod:`specinit.measure.curvature`): ``tr H`` by Hutchinson with its
standard error, ``λ_max(H)`` by Lanczos, and the spectral density by stochastic Lanczos
quadrature (saved per unit).  The paper's claim (Sec. 8): flatness orders the starts like their
generalization for ReLU nets but not for Gaussian nets, while the initial bandwidth predicts
generalization for both.

What the text leaves open and we chose (the paper's numbers were stripped):

- signals: 2 components with ``f_k ~ U(0, 3)``, ``A_k ~ U(0, 1)``, ``φ_k ~ U(0, 2π)`` on
  ``[−1, 1]``, step ``s = 0.1`` (21 samples, ``f_c = 1/(2s) = 5``), so every signal is resolved;
  3 test points evenly inside each gap;
- nets and starts as in ``bandwidth-1d``: width 128, ReLU depth 4, Gaussian depth 6 with
  ``σ = 0.1``, small-variance ``α = 2``, ``f_hi = 8`` pre-trained for 3000 Adam steps;
- "convergence": SGD with momentum 0.9, full batch, ``steps`` steps at each learning rate of a
  shared grid, keeping the lowest final *training* loss (no test information); units whose
  training MSE stays above ``converged_mse`` are counted and reported;
- the Hessian is that of the training loss (mean squared error over the samples) at the final
  weights.  Gradient descent cannot settle where ``λ_max > 2(1+β)/η`` (the stability bound
  of heavy-ball momentum ``β``, learning rate ``η``), so the row's ``eos_ratio = λ_max η/(2(1+β))``
  shows when sharpness was capped by the chosen learning rate rather than chosen by the start.

A pre-training on a constant (``init_(net, "dc")``, A.3) as a further low-bandwidth Gaussian
start was tried (values 0 and 0.5, 3000 Adam steps at 3e-3, three signals): it leaves the
Gaussian net a near-constant function whose hidden units no longer respond (``tr H ≈ 2``, the
output bias's share alone, in five of six runs) and SGD then fails to fit any signal (train MSE
0.03–0.5), so it is not one of the starts.

Run time, measured on the project's 2-core CPU with one torch thread while other jobs shared
the cores (load average 5–8, so wall time is 2–3× the CPU time)::

    OMP_NUM_THREADS=1 specinit reproduce flat-minima --quick --out /tmp/fm_quick
    # quick, 4 starts × 2 signals × 1 seed (8 units): 46 s CPU, 49 s wall (2 min at load 8)
    OMP_NUM_THREADS=1 specinit reproduce flat-minima --out /tmp/fm_default
    # default, 4 starts × 5 signals × 2 seeds (40 units): 397 s CPU, 13 min 43 s wall, 0.6 GB RSS

The learning rate is a confound of flatness (the stability bound above): the tuned grid gives the
ReLU high-bandwidth start ``η ≈ 1e-3`` and the Xavier start ``η = 3e-2``.  The same run with one
learning rate for every start is an override away::

    OMP_NUM_THREADS=1 specinit reproduce flat-minima --seeds 1 --out /tmp/fm_matched
        --set lrs=3e-3 --set steps=15000 --set converged_mse=1e-3   # (one command line)
    # 20 units: 250 s CPU, 7 min wall

What those runs measured (matched (signal, seed) pairs of converged units): the high-bandwidth
start errs more between the samples in every pair, for both activations.  With the tuned
learning rates the better ReLU start is also the flatter one in 10/10 pairs, and for Gaussian
nets in only 3/6 (trace and λ_max alike) — the paper's picture.  At one shared learning rate the
ReLU ordering weakens to 4/5 (trace) and 2/5 (λ_max) and the Gaussian one becomes 2/3 for both,
so the architecture-dependence of flatness is not robust in this reproduction; the bandwidth
claim is.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats

from specinit._core.plotting import figure
from specinit.data import between_samples, random_sinusoids
from specinit.lab import checks
from specinit.lab.experiment import Summary, Unit, register_module
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows
from specinit.lab.results import compare as compare_values
from specinit.lab.runner import Context
from specinit.lab.tasks import BANDWIDTH_STARTS, SparseTask, Starts, make_start
from specinit.measure.curvature import curvature_summary
from specinit.training import tune_lr

__all__ = [
    "Config",
    "QUICK",
    "STARTS",
    "BANDWIDTH",
    "Comparison",
    "compare",
    "signal_task",
    "units",
    "run_unit",
    "summarize",
]

#: The paper's four Exp-5 starts and the bandwidth each stands for.
STARTS = BANDWIDTH_STARTS
BANDWIDTH = {
    "relu-xavier": "low",
    "relu-high-frequency": "high",
    "gaussian-xavier": "high",
    "gaussian-small": "low",
}


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    n_components: int = 2  # two sinusoids: f_1, f_2, A_1, A_2 are the "four random variables"
    max_freq: float = 3.0  # f_k ~ U(0, max_freq); must stay below f_c = 1/(2·step)
    lo: float = -1.0
    hi: float = 1.0
    step: float = 0.1
    test_per_gap: int = 3  # test points strictly inside each gap between training samples
    spectrum_grid: int = 1024
    width: int = 128
    relu_depth: int = 4
    gaussian_depth: int = 6
    gaussian_sigma: float = 0.1
    small_alpha: float = 2.0
    high_freq: float = 8.0
    pretrain_steps: int = 3000
    pretrain_lr: float = 3e-3
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    steps: int = 3000
    momentum: float = 0.9
    converged_mse: float = 1e-4
    trace_matvecs: int = 100
    slq_steps: int = 80
    slq_probes: int = 1
    starts: tuple[str, ...] = STARTS
    signals: tuple[int, ...] = (0, 1, 2, 3, 4)
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Quick: two lrs, shorter fits and Hessian estimates, one signal: 1 matched pair per activation,
# too few for the comparisons (the sign tests of the flatness findings need 6), so they stay undecided.
QUICK = Config(
    lrs=(3e-3, 1e-2),
    steps=1200,
    pretrain_steps=1200,
    trace_matvecs=10,
    slq_steps=10,
    signals=(1,),
    seeds=(0,),
)


def signal_task(cfg: Config, signal: int) -> SparseTask:
    """The sparse regression problem of family member ``signal`` (its seed)."""
    target = random_sinusoids(cfg.n_components, cfg.max_freq, generator=signal)
    return SparseTask(
        freqs=target.freqs,
        amplitudes=target.amplitudes,
        phases=target.phases,
        lo=cfg.lo,
        hi=cfg.hi,
        step=cfg.step,
        grid=cfg.spectrum_grid,
    )


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a size or rate that cannot run (the rest is checked by :func:`units`)."""
    checks.positive(cfg, "n_components", "max_freq", "step", "test_per_gap", "spectrum_grid", "width")
    checks.positive(cfg, "relu_depth", "gaussian_depth", "gaussian_sigma", "small_alpha", "lrs", "steps")
    checks.positive(cfg, "pretrain_steps", "pretrain_lr", "converged_mse", "slq_steps", "slq_probes")
    checks.non_negative(cfg, "momentum")
    if cfg.trace_matvecs < 2:
        raise ValueError(f"trace_matvecs must be at least 2, got {cfg.trace_matvecs!r}")


def units(cfg: Config) -> list[Unit]:
    """One unit per signal × start × seed (starts and ``max_freq`` checked first)."""
    unknown = [s for s in cfg.starts if s not in BANDWIDTH]
    if unknown:
        raise ValueError(f"unknown start(s) {unknown}; known: {', '.join(STARTS)}")
    cutoff = SparseTask(step=cfg.step).cutoff
    if not cfg.max_freq < cutoff:
        raise ValueError(f"max_freq={cfg.max_freq} must lie below the lowest fitting frequency {cutoff:g}")
    if not cfg.high_freq > cutoff:
        raise ValueError(f"high_freq={cfg.high_freq} must exceed the lowest fitting frequency {cutoff:g}")
    if not cfg.lrs or not cfg.signals or not cfg.seeds:
        raise ValueError("lrs, signals and seeds must each hold at least one value")
    return [
        Unit(f"start={start},signal={signal},seed={seed}", {"start": start, "signal": signal, "seed": seed})
        for start, signal, seed in itertools.product(cfg.starts, cfg.signals, cfg.seeds)
    ]


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fit one random signal from one start (best learning rate) and measure the flatness of the
    minimum it reaches: Hessian trace, top eigenvalue and spectral density.
    """
    start, signal, seed = unit.params["start"], unit.params["signal"], unit.params["seed"]
    task = signal_task(cfg, signal)
    x, y = context.place(task.samples())
    x_test = between_samples(x, cfg.test_per_gap)
    y_test = task.target(x_test).reshape(-1, 1)
    net = make_start(start, seed, Starts.of(cfg), task.lo, task.hi, device=context.device)
    spec0 = task.spectrum(net)
    search = tune_lr(
        lambda: copy.deepcopy(net),
        x,
        y,
        cfg.lrs,
        optimizer="sgd",
        momentum=cfg.momentum,
        steps=cfg.steps,
        generator=seed,
        progress=False,
    )
    model = search.model
    spec1 = task.spectrum(model)
    with torch.no_grad():
        test_mse = float(((model(x_test) - y_test) ** 2).mean())
    curvature, arrays = curvature_summary(
        model,
        "mse",
        (x, y),
        trace_matvecs=cfg.trace_matvecs,
        slq_steps=cfg.slq_steps,
        slq_probes=cfg.slq_probes,
        generator=seed,
    )
    row = {
        "start": start,
        "activation": start.split("-")[0],
        "bandwidth": BANDWIDTH[start],
        "signal": signal,
        "seed": seed,
        "lr": search.lr,
        "train_mse": search.result.final_loss,
        "test_mse": test_mse,
        "converged": search.result.final_loss <= cfg.converged_mse,
        **curvature,
        "eos_ratio": curvature["top_eig"] * search.lr / (2 * (1 + cfg.momentum)),
        "centroid_init": spec0.centroid(),
        "centroid_final": spec1.centroid(),
        "energy_above_final": spec1.energy_above(task.cutoff),
    }
    return row, arrays


METRICS = (
    "converged",
    "train_mse",
    "test_mse",
    "trace",
    "top_eig",
    "mean_eig",
    "centroid_init",
    "centroid_final",
    "eos_ratio",
    "lr",
)


#: The summary's case columns.
BY = ("activation", "start", "bandwidth")


@dataclass(frozen=True)
class Comparison:
    """Low- vs high-bandwidth start of one activation, over the matched (signal, seed) pairs."""

    activation: str
    n_pairs: int
    means: dict[str, dict[str, float]]  # bandwidth → metric → mean over the paired units
    better: str  # the bandwidth with the lower mean test MSE
    worse_high: float  # fraction of pairs where the high start has the higher test MSE
    spearman: dict[str, float]  # metric → Spearman ρ(metric, test MSE) over the paired units
    concordance: dict[str, float]  # metric → fraction of pairs whose lower-MSE unit is flatter

    def flatness_predicts(self) -> bool | None:
        """Whether, in most matched pairs, the better-generalizing unit is also the flatter one by
        both the trace and the top eigenvalue: per measure, a two-sided sign test of the
        concordance against 1/2 at the 5% level (True above, False below, None in between —
        fewer than 6 pairs can never decide), combined with :func:`all_hold`.
        """
        states = []
        for m in ("trace", "top_eig"):
            agree = round(self.concordance[m] * self.n_pairs)
            p = stats.binomtest(agree, self.n_pairs, 0.5).pvalue
            states.append(bool(agree * 2 > self.n_pairs) if p < 0.05 else None)
        return all_hold(states)

    def describe(self) -> str:
        """One line of means, Spearman correlations and concordances for the findings."""
        lo, hi = self.means["low"], self.means["high"]
        return (
            f"{self.activation}: test MSE low {lo['test_mse']:.3g} vs high {hi['test_mse']:.3g}; "
            f"trace low {lo['trace']:.4g} vs high {hi['trace']:.4g}; λ_max low {lo['top_eig']:.4g} "
            f"vs high {hi['top_eig']:.4g}; Spearman ρ(trace, test) {self.spearman['trace']:+.2f}, "
            f"ρ(λ_max, test) {self.spearman['top_eig']:+.2f}; the lower-MSE unit is flatter in "
            f"{self.concordance['trace']:.0%} (trace) / {self.concordance['top_eig']:.0%} (λ_max) "
            f"of {self.n_pairs} matched (signal, seed) pairs; chosen lr low {lo['lr']:.2g} vs high "
            f"{hi['lr']:.2g}, λ_max·η/(2(1+β)) low {lo['eos_ratio']:.2f} vs high {hi['eos_ratio']:.2f}"
        )


def compare(rows: Sequence[Mapping[str, Any]], activation: str) -> Comparison:
    """Compare the low- and high-bandwidth starts of ``activation`` on ``rows``.

    Pairs match a low and a high unit of the same ``(signal, seed)``; everything is computed on
    the paired units only.  The better start has the lower mean between-sample MSE;
    ``concordance[m]`` is the fraction of pairs in which the lower-MSE unit also has the lower
    ``m``, and ``spearman[m]`` the rank correlation of ``m`` with the MSE over the paired units.
    The findings call it on converged units only (a Hessian away from a minimum says nothing
    about flatness).
    """
    mine = [r for r in rows if r["activation"] == activation]
    by_band = {b: {(r["signal"], r["seed"]): r for r in mine if r["bandwidth"] == b} for b in ("low", "high")}
    pairs = [(by_band["low"][k], by_band["high"][k]) for k in by_band["low"] if k in by_band["high"]]
    if not pairs:
        raise ValueError(f"{activation}: no (signal, seed) has both a low- and a high-bandwidth unit")
    paired = {"low": [lo for lo, _ in pairs], "high": [hi for _, hi in pairs]}
    metrics = ("test_mse", "trace", "top_eig", "lr", "eos_ratio")
    means = {b: {m: float(np.mean([r[m] for r in paired[b]])) for m in metrics} for b in paired}
    better = "low" if means["low"]["test_mse"] <= means["high"]["test_mse"] else "high"
    test = np.array([[lo["test_mse"], hi["test_mse"]] for lo, hi in pairs])

    def agree(metric: str) -> float:
        values = np.array([[lo[metric], hi[metric]] for lo, hi in pairs])
        return float(np.mean(np.sign(values[:, 1] - values[:, 0]) == np.sign(test[:, 1] - test[:, 0])))

    def rho(metric: str) -> float:
        both = paired["low"] + paired["high"]
        return float(stats.spearmanr([r[metric] for r in both], [r["test_mse"] for r in both])[0])

    return Comparison(
        activation=activation,
        n_pairs=len(pairs),
        means=means,
        better=better,
        worse_high=float(np.mean(test[:, 1] > test[:, 0])),
        spearman={m: rho(m) for m in ("trace", "top_eig")},
        concordance={m: agree(m) for m in ("trace", "top_eig")},
    )


def _high_worse(rows: Sequence[Mapping[str, Any]], activation: str) -> tuple[bool | None, str]:
    """Whether the high-bandwidth start has the higher between-sample MSE, on the log scale over
    matched (signal, seed) pairs (2 SE of the paired differences; one pair decides nothing).
    """
    mine = [r for r in rows if r["activation"] == activation]
    by_band = {b: {(r["signal"], r["seed"]): r for r in mine if r["bandwidth"] == b} for b in ("low", "high")}
    keys = [k for k in by_band["low"] if k in by_band["high"]]
    high = [math.log10(max(float(by_band["high"][k]["test_mse"]), 1e-300)) for k in keys]
    low = [math.log10(max(float(by_band["low"][k]["test_mse"]), 1e-300)) for k in keys]
    return compare_values(high, low, paired=True)


def _findings(cfg: Config, rows: Sequence[Mapping[str, Any]]) -> list[Finding]:
    converged = [r for r in rows if r["converged"]]
    both = [
        a
        for a in ("relu", "gaussian")
        if {r["bandwidth"] for r in converged if r["activation"] == a} == {"low", "high"}
    ]
    comps = {a: compare(converged, a) for a in both}
    failed = [f"{r['start']} signal {r['signal']} seed {r['seed']}" for r in rows if not r["converged"]]
    evidence = (
        f"{len(rows) - len(failed)}/{len(rows)} units converged; worst train MSE "
        f"{max(float(r['train_mse']) for r in rows):.3g}"
    )
    findings = [
        Finding(
            f"every net fits its training samples (train MSE ≤ {cfg.converged_mse:g}), so the "
            "Hessians are measured at minima",
            not failed,
            evidence + (f" (not converged: {', '.join(failed)})" if failed else ""),
        ),
    ]
    if comps:
        worse = {a: _high_worse(converged, a) for a in comps}
        holds = all_hold(w[0] for w in worse.values())
        findings.append(
            Finding(
                "a high-bandwidth start interpolates worse between the samples, for "
                + " and ".join(comps)
                + " (converged units)",
                holds,
                ("" if holds is not None else "not decided (too few pairs or within 2 SE): ")
                + "; ".join(
                    f"{a}: between-sample MSE low {c.means['low']['test_mse']:.3g} vs high "
                    f"{c.means['high']['test_mse']:.3g}, high worse in {c.worse_high:.0%} of "
                    f"{c.n_pairs} pairs; log10 MSE high − low: {worse[a][1]}"
                    for a, c in comps.items()
                ),
            )
        )
    if "relu" in comps:
        findings.append(
            Finding(
                "ReLU nets: the better-generalizing unit of a matched pair is mostly also the flatter "
                "one (lower Hessian trace and top eigenvalue), consistent with the flat-minima conjecture",
                comps["relu"].flatness_predicts(),
                comps["relu"].describe(),
            )
        )
    if "gaussian" in comps:
        predicts = comps["gaussian"].flatness_predicts()
        findings.append(
            Finding(
                "Gaussian nets: flatness does NOT pick the better-generalizing unit in most matched "
                "pairs (the conjecture fails, arXiv 2206.08558 Sec. 8)",
                None if predicts is None else not predicts,
                comps["gaussian"].describe(),
            )
        )
    return findings


def _scatter(rows: Sequence[Mapping[str, Any]], path: Any) -> None:
    from matplotlib.ticker import NullFormatter  # lazy, like results.figure

    acts = list(dict.fromkeys(r["activation"] for r in rows))
    fig, axes = figure(2, len(acts), width=4.2 * len(acts), height=6.4)
    colours = {"low": "C0", "high": "C3"}
    for col, act in enumerate(acts):
        for row_i, (metric, label) in enumerate(
            (("trace", "Hessian trace"), ("top_eig", "top Hessian eigenvalue"))
        ):
            ax = axes[row_i, col]
            for start in dict.fromkeys(r["start"] for r in rows if r["activation"] == act):
                for converged, marker in ((True, "o"), (False, "x")):
                    pts = [r for r in rows if r["start"] == start and bool(r["converged"]) == converged]
                    name = f"{start} ({BANDWIDTH[start]} B/W)" + ("" if converged else ", not converged")
                    if pts:
                        ax.scatter(
                            [r[metric] for r in pts],
                            [r["test_mse"] for r in pts],
                            s=18,
                            color=colours[BANDWIDTH[start]],
                            marker=marker,
                            label=name,
                        )
            ax.set(xscale="log", yscale="log", xlabel=label, ylabel="MSE between samples", title=act)
            ax.xaxis.set_minor_formatter(NullFormatter())  # less than a decade: no crowded labels
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _densities(
    rows: Sequence[Mapping[str, Any]],
    arrays: Mapping[str, Mapping[str, np.ndarray]],
    starts: Sequence[str],
    path: Any,
) -> None:
    fig, axes = figure(1, len(starts), width=3.6 * len(starts), height=3.0)
    for ax, start in zip(axes[0], starts, strict=True):
        for r in (r for r in rows if r["start"] == start):
            arr = arrays[r["unit"]]
            density = np.maximum(arr["density"], 1e-12)
            ax.plot(
                arr["density_grid"],
                density,
                lw=0.8,
                alpha=0.6,
                label=f"signal {r['signal']}, seed {r['seed']}",
            )
        ax.set(yscale="log", ylim=(1e-8, None), xlabel="Hessian eigenvalue", title=start)
        if 0 < len(ax.lines) <= 4:  # more lines than that: a legend would hide the curves
            ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("SLQ density (each unit)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables, the flatness scatter and density figures, and the checked findings."""
    table = ci_rows(rows, BY, METRICS)  # the bool `converged` averages to the fraction converged
    run.write_table("summary", table)
    _scatter(rows, run.figure_path("flatness"))
    _densities(rows, arrays, cfg.starts, run.figure_path("densities"))
    return Summary(
        tables=[
            (
                f"Mean ± 95% CI over {len(cfg.signals)} signals × {len(cfg.seeds)} seeds, all units "
                "(`converged`: the fraction with train MSE ≤ converged_mse) "
                f"(step {cfg.step:g}, f_c = {SparseTask(step=cfg.step).cutoff:g}, f_hi = {cfg.high_freq:g})",
                ci_markdown(table, BY, METRICS),
            )
        ],
        figures=[
            ("Between-sample error vs Hessian trace and top eigenvalue (x: not converged)", "flatness.png"),
            ("Hessian spectral densities (SLQ), one line per signal × seed", "densities.png"),
        ],
        findings=_findings(cfg, rows),
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="flat-minima",
    title="Flatness at convergence vs generalization from low- and high-bandwidth starts",
    source="arXiv 2206.08558, Sec. 8 Exp 5 (Table 2, Fig. 4) and A.3",
    default=Config(),
    quick=QUICK,
)
