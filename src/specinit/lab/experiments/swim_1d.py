"""``swim-1d``: sampled (SWIM) networks on a mixed-frequency 1D regression, per-layer scale schedules.

arXiv 2511.02244 (spectral SWIM) claims that per-layer scale factors that grow with depth —
small ``s1`` early (smooth, low-frequency features), large ``s1`` late (steep, high-frequency
ones) — beat the constant scale of the original SWIM (arXiv 2306.16830), especially at large
width.  Each unit fits one network to ``n_train`` noise-free samples of
``f(x) = Σ_k A_k sin(2π f_k x + φ_k)`` on ``[lo, hi]`` (default frequencies 1, 4 and 16 cycles
per unit on ``[−1, 1]``) and reports the MSE against ``f`` at ``n_test`` points that lie halfway
between grid points, never on a training point.  Cases:

* SWIM (:class:`specinit.SwimRegressor`, float64, relative ridge ``l2``) for every depth × width
  × schedule (``"spectral"``, ``"constant"``, ``"reversed"``; with one hidden layer
  ``"reversed"`` is the same network as ``"spectral"`` and is not run);
* the uniform-pair and random-feature samplers (constant schedule) at ``sampler_depth``, every
  width;
* Xavier and He (``kaiming_normal``, ReLU gain √2, its default) MLPs of the *same* shape — so
  the parameter count matches exactly — trained full-batch with Adam for ``adam_steps`` steps at
  the widths ``adam_widths``; both get the same learning-rate grid, chosen per unit by final
  *training* loss (:func:`specinit.tune_lr`).

For every SWIM network the per-layer feature spectra (:func:`specinit.layer_spectra.layer_spectra`,
normalized mean power of each layer's units on a 1024-point grid) give one spectral centroid per
hidden layer: the spectral schedule should make them increase with depth.

Runtime (one core, ``OMP_NUM_THREADS=1``, measured on a shared 2-core machine): ``--quick``
about 10 s; ``--seeds 1`` (the default config with one seed) 1229 s; ``--seeds 3 --set
adam_widths=64`` 870 s.  The default config (3 seeds) is estimated at about 1 h, dominated by the
width-256 Adam baselines (about 1 min per learning rate at depth 4); SWIM fits take under 30 s
each even at depth 4, width 4096.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.plotting import figure
from specinit._core.rng import as_generator
from specinit.data import Sinusoids, grid_1d, sample_1d, sinusoids
from specinit.estimators import SwimRegressor
from specinit.initializers.swim import SAMPLERS, SCHEDULES, default_scales
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows, compare
from specinit.lab.runner import Context
from specinit.lab.tasks import build_net, mean_by
from specinit.measure.layer_spectra import layer_spectra
from specinit.training import tune_lr

#: Gradient-trained baselines: ``specinit.init_`` methods, then Adam.
ADAM_INITS = ("xavier_normal", "kaiming_normal")
#: Grid of the per-layer feature spectra (points on ``[lo, hi)``).
SPECTRA_GRID = 1024


@dataclass(frozen=True)
class MixedTask:
    """Noise-free samples of a sum of sinusoids on a uniform grid, tested between the samples."""

    freqs: tuple[float, ...] = (1.0, 4.0, 16.0)
    amplitudes: tuple[float, ...] = (1.0, 0.5, 0.25)
    phases: tuple[float, ...] = (0.0, 1.0, 2.0)
    lo: float = -1.0
    hi: float = 1.0
    n_train: int = 1024
    n_test: int = 4096

    @property
    def target(self) -> Sinusoids:
        """The sum of sinusoids ``f`` the samples come from."""
        return sinusoids(self.freqs, self.amplitudes, self.phases)

    def train(self) -> tuple[Tensor, Tensor]:
        """``n_train`` grid points ``x_j = lo + j (hi − lo)/n_train`` and ``f(x_j)``, float64."""
        return sample_1d(self.target, self.lo, self.hi, n=self.n_train, dtype=torch.float64)

    def test(self) -> tuple[Tensor, Tensor]:
        """Midpoints ``lo + (j + ½)(hi − lo)/n_test`` and ``f`` there, float64; none is a
        training point when ``n_test`` is a multiple of ``n_train``.
        """
        x = grid_1d(self.lo, self.hi, n=self.n_test, dtype=torch.float64)
        x = x + 0.5 * (self.hi - self.lo) / self.n_test
        return x, self.target(x)

    def validation(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        """``n`` points drawn uniformly on ``[lo, hi)`` from ``seed`` and ``f`` there (float64)."""
        g = as_generator(seed)
        x = self.lo + (self.hi - self.lo) * torch.rand(n, 1, generator=g, dtype=torch.float64)
        return x, self.target(x)


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    task: MixedTask = MixedTask()
    activation: str = "tanh"
    depths: tuple[int, ...] = (1, 2, 3, 4)
    widths: tuple[int, ...] = (64, 256, 1024, 4096)
    schedules: tuple[str, ...] = ("spectral", "constant", "reversed")
    samplers: tuple[str, ...] = ("uniform", "random_feature")  # extra samplers, constant scale
    sampler_depth: int = 2
    l2: float = 1e-10  # relative ridge; float64 features, so no rounding floor
    adam_inits: tuple[str, ...] = ADAM_INITS
    adam_widths: tuple[int, ...] = (64, 256)
    adam_steps: int = 3000
    lrs: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    spectra_width: int = 256  # width whose per-layer spectra are plotted
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


QUICK = Config(
    task=MixedTask(n_train=256, n_test=1024),
    depths=(1, 2, 3),
    widths=(32, 128, 512),
    adam_widths=(32,),
    adam_steps=400,
    lrs=(1e-3, 3e-3),
    spectra_width=128,
    seeds=(0,),
)


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a bad schedule, sampler, init, depth, width or learning rate."""
    default_scales(cfg.activation)  # unsupported activation: ValueError naming it
    for name, values in (("depths", cfg.depths), ("widths", cfg.widths)):
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"{name} must be positive integers, got {values}")
    bad = [s for s in cfg.schedules if s not in SCHEDULES]
    if bad or not cfg.schedules:
        raise ValueError(f"unknown schedule(s) {bad}; choose from {', '.join(SCHEDULES)}")
    extra = [s for s in SAMPLERS if s != "swim"]
    bad = [s for s in cfg.samplers if s not in extra]
    if bad:
        raise ValueError(f"unknown extra sampler(s) {bad}; choose from {', '.join(extra)}")
    if cfg.samplers and cfg.sampler_depth not in cfg.depths:
        raise ValueError(f"sampler_depth {cfg.sampler_depth} is not one of depths {cfg.depths}")
    bad = [i for i in cfg.adam_inits if i not in ADAM_INITS]
    if bad:
        raise ValueError(f"unknown Adam init(s) {bad}; choose from {', '.join(ADAM_INITS)}")
    missing = [w for w in cfg.adam_widths if w not in cfg.widths]
    if missing:
        raise ValueError(
            f"adam_widths {missing} are not in widths {cfg.widths}: the baselines "
            "must match a SWIM network's shape"
        )
    if cfg.spectra_width not in cfg.widths:
        raise ValueError(f"spectra_width {cfg.spectra_width} is not one of widths {cfg.widths}")
    if cfg.adam_inits and cfg.adam_widths and (not cfg.lrs or min(cfg.lrs) <= 0):
        raise ValueError(f"lrs must hold positive learning rates, got {cfg.lrs}")
    if cfg.l2 <= 0:
        raise ValueError(f"l2 must be positive, got {cfg.l2}")


def units(cfg: Config) -> list[Unit]:
    """One unit per method × schedule (or sampler) × depth × width × seed (config checked first)."""
    check_config(cfg)
    cases: list[dict[str, Any]] = []
    for d in cfg.depths:
        for w in cfg.widths:
            cases += [
                {"method": "swim", "schedule": s, "depth": d, "width": w}
                for s in cfg.schedules
                if not (d == 1 and s == "reversed")
            ]
            if d == cfg.sampler_depth:
                cases += [{"method": m, "schedule": "constant", "depth": d, "width": w} for m in cfg.samplers]
            if w in cfg.adam_widths:
                cases += [
                    {"method": f"{i}+adam", "schedule": "none", "depth": d, "width": w}
                    for i in cfg.adam_inits
                ]
    return seeds_units(cases, cfg.seeds)


def n_params(depth: int, width: int) -> int:
    """Parameters of the ``1 → width^depth → 1`` MLP (SWIM and the baselines alike)."""
    return 2 * width + (depth - 1) * (width * width + width) + width + 1


def _mse(model: nn.Module, x: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return float(((model(x.to(next(model.parameters()).dtype)).double() - y) ** 2).mean())


def fit_swim(cfg: Config, p: Mapping[str, Any], x: Tensor, y: Tensor) -> nn.Module:
    """The fitted SWIM network (float64) of one case."""
    reg = SwimRegressor(
        widths=(p["width"],) * p["depth"],
        activation=cfg.activation,
        scales=p["schedule"],
        sampler=p["method"],
        l2=cfg.l2,
        random_state=p["seed"],
        dtype="float64",
    )
    return reg.fit(x.cpu().numpy(), y[:, 0].cpu().numpy()).model_


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fit one network (SWIM with a scale schedule, another sampler, or a start trained by Adam)
    and measure its test error and per-layer spectra.
    """
    p = unit.params
    task = cfg.task
    x, y = context.place(task.train())
    xt, yt = context.place(task.test())
    row: dict[str, Any] = {k: p[k] for k in ("method", "schedule", "depth", "width", "seed")}
    row["params"] = n_params(p["depth"], p["width"])
    arrays: dict[str, np.ndarray] = {}
    start = time.perf_counter()
    if p["method"].endswith("+adam"):
        make = partial(
            build_net,
            cfg.activation,
            p["depth"],
            p["width"],
            p["method"].removesuffix("+adam"),
            p["seed"],
            device=context.device,
        )
        search = tune_lr(
            make,
            x.float(),
            y.float(),
            cfg.lrs,
            optimizer="adam",
            steps=cfg.adam_steps,
            generator=p["seed"],
            progress=False,
        )
        model, row["lr"] = search.model, search.lr
    else:
        model = context.place(fit_swim(cfg, p, x, y))  # a scikit-learn fit: on the CPU
        row["lr"] = float("nan")
    row["fit_seconds"] = round(time.perf_counter() - start, 3)
    row["train_mse"] = _mse(model, x, y)
    row["test_mse"] = _mse(model, xt, yt)
    spectra = layer_spectra(model, task.lo, task.hi, SPECTRA_GRID)
    centroids = spectra.column("centroid")
    row["centroid_first"], row["centroid_last"] = float(centroids[0]), float(centroids[-1])
    arrays["centroids"] = centroids
    if p["width"] == cfg.spectra_width:
        arrays["freqs"] = spectra.layers[0].features.freqs
        arrays["power"] = np.stack([layer.features.energy for layer in spectra.layers])
    return row, arrays


METRICS = ("test_mse", "train_mse", "centroid_first", "centroid_last", "fit_seconds")
BY = ("method", "schedule", "depth", "width")


def plot_errors(cfg: Config, rows: list[dict[str, Any]], path: Any) -> None:
    """Test MSE (mean over seeds) against width, one panel per depth, one line per case (a case
    keeps its colour in every panel).
    """
    cases = (
        [("swim", s) for s in cfg.schedules]
        + [(m, "constant") for m in cfg.samplers]
        + [(f"{i}+adam", "none") for i in cfg.adam_inits]
    )
    fig, axes = figure(1, len(cfg.depths), width=3.6 * len(cfg.depths), height=3.2)
    for ax, depth in zip(axes[0], cfg.depths, strict=True):
        for color, (method, schedule) in enumerate(cases):
            widths = sorted(
                {
                    r["width"]
                    for r in rows
                    if (r["method"], r["schedule"], r["depth"]) == (method, schedule, depth)
                }
            )
            if not widths:
                continue
            means = [
                mean_by(rows, "test_mse", method=method, schedule=schedule, depth=depth, width=w)
                for w in widths
            ]
            style = "o-" if method == "swim" else ("s--" if method.endswith("adam") else "^:")
            ax.loglog(
                widths, means, style, ms=4, color=f"C{color}", label=schedule if method == "swim" else method
            )
        ax.set_xticks(cfg.widths, [str(w) for w in cfg.widths])
        ax.minorticks_off()
        ax.set(title=f"{depth} hidden layer(s)", xlabel="width")
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("test MSE")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_spectra(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], path: Any
) -> None:
    """Per-layer feature power (first seed, deepest net, ``spectra_width``), one panel per schedule."""
    depth, seed = max(cfg.depths), cfg.seeds[0]
    picks = [
        (s, r)
        for s in cfg.schedules
        for r in rows
        if (r["method"], r["schedule"], r["depth"], r["width"], r["seed"])
        == ("swim", s, depth, cfg.spectra_width, seed)
    ]
    fig, axes = figure(1, max(len(picks), 1), width=3.8 * max(len(picks), 1), height=3.2)
    for ax, (schedule, row) in zip(axes[0], picks, strict=False):
        arr = arrays[row["unit"]]
        for layer, (power, centroid) in enumerate(zip(arr["power"], arr["centroids"], strict=True), start=1):
            ax.semilogy(
                arr["freqs"][1:],
                np.maximum(power[1:], 1e-16),
                lw=1,
                label=f"layer {layer}, centroid {centroid:.3g}",
            )
        ax.set(
            title=f"{schedule}, depth {depth}, width {cfg.spectra_width}",
            xlabel="frequency (cycles/unit)",
            xlim=(0, 8 * max(cfg.task.freqs)),
        )
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("normalized mean power")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _log_mse(rows: list[dict[str, Any]], where: Mapping[str, Any]) -> list[float]:
    """log10 test MSE of the rows matching ``where``, in seed order (so two cases pair by seed)."""
    mine = sorted((r for r in rows if all(r.get(k) == v for k, v in where.items())), key=lambda r: r["seed"])
    return [math.log10(max(float(r["test_mse"]), 1e-300)) for r in mine]


def _centroid_shift(
    rows: list[dict[str, Any]], schedule: str, depth: int, width: int, sign: int
) -> tuple[bool | None, str]:
    """The last layer's centroid above (``sign`` 1) or below (−1) the first's, paired by seed."""
    mine = sorted(
        (
            r
            for r in rows
            if r.get("method") == "swim"
            and (r.get("schedule"), r["depth"], r["width"]) == (schedule, depth, width)
        ),
        key=lambda r: r["seed"],
    )
    last = [sign * float(r["centroid_last"]) for r in mine]
    first = [sign * float(r["centroid_first"]) for r in mine]
    return compare(last, first, paired=True)


def _says(decision: tuple[bool | None, str], evidence: str) -> tuple[bool | None, str]:
    """``holds`` and evidence with the margin; a claim within 2 SE of the seeds (or with one seed,
    whose noise is unknown) is not decided.
    """
    holds, margin = decision
    text = f"{evidence}; {margin}" if margin else evidence
    return holds, text + ("" if holds is not None else " — not decided (within 2 SE, or one seed)")


def findings(cfg: Config, rows: list[dict[str, Any]]) -> list[Finding]:
    """Checked claims: spectral vs constant/reversed at the largest width, per-layer centroids,
    SWIM vs the Adam baselines at matched shape, the SWIM sampler vs the other samplers.
    """
    e = partial(mean_by, rows, "test_mse")

    def lower(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[bool | None, str]:
        """Case ``a`` has a lower test MSE than case ``b``: log10 MSE paired by seed, 2 SE."""
        holds, margin = compare(_log_mse(rows, b), _log_mse(rows, a), paired=True)
        return holds, f"log10 MSE difference {margin.removeprefix('difference ')}"

    wide = max(cfg.widths)
    out = []
    deep = [d for d in cfg.depths if d >= 2]
    for rival in ("constant", "reversed"):
        if "spectral" not in cfg.schedules or rival not in cfg.schedules:
            continue
        for d in deep:
            ours, theirs = (e(method="swim", schedule=s, depth=d, width=wide) for s in ("spectral", rival))
            out.append(
                Finding(
                    f"spectral beats {rival} SWIM at the largest width ({wide}), depth {d} (test MSE)",
                    *_says(
                        lower(
                            {"method": "swim", "schedule": "spectral", "depth": d, "width": wide},
                            {"method": "swim", "schedule": rival, "depth": d, "width": wide},
                        ),
                        f"spectral {ours:.3g} vs {rival} {theirs:.3g} (mean over seeds)",
                    ),
                )
            )
        # one log ratio per (depth, width, seed): their spread is the noise of the average
        logs = [
            a - b
            for d in deep
            for w in cfg.widths
            for a, b in zip(
                _log_mse(rows, {"method": "swim", "schedule": "spectral", "depth": d, "width": w}),
                _log_mse(rows, {"method": "swim", "schedule": rival, "depth": d, "width": w}),
                strict=True,
            )
        ]
        if logs:
            gm = float(10 ** np.mean(logs))
            holds, margin = compare([0.0] * len(logs), logs, paired=True)
            out.append(
                Finding(
                    f"averaged over depths ≥ 2 and all widths, spectral has lower test MSE than {rival}",
                    *_says(
                        (holds, margin),
                        f"geometric mean of the MSE ratio spectral/{rival}: {gm:.3g} over {len(logs)} "
                        "(depth, width, seed) cases",
                    ),
                )
            )
    if deep and 1 in cfg.depths and "spectral" in cfg.schedules:
        best_deep = min((e(method="swim", schedule="spectral", depth=d, width=wide), d) for d in deep)
        best_one = min(
            (e(method="swim", schedule=s, depth=1, width=wide), s) for s in cfg.schedules if s != "reversed"
        )
        out.append(
            Finding(
                f"at the largest width ({wide}), the best spectral SWIM with ≥ 2 hidden layers beats "
                "the best one-layer SWIM",
                *_says(
                    lower(
                        {"method": "swim", "schedule": "spectral", "depth": best_deep[1], "width": wide},
                        {"method": "swim", "schedule": best_one[1], "depth": 1, "width": wide},
                    ),
                    f"spectral depth {best_deep[1]} {best_deep[0]:.3g} vs one layer ({best_one[1]}) "
                    f"{best_one[0]:.3g}",
                ),
            )
        )
    depth = max(cfg.depths)
    if depth >= 2:
        for schedule, sign in (("spectral", 1), ("reversed", -1)):
            if schedule not in cfg.schedules:
                continue
            first = mean_by(
                rows, "centroid_first", method="swim", schedule=schedule, depth=depth, width=cfg.spectra_width
            )
            last = mean_by(
                rows, "centroid_last", method="swim", schedule=schedule, depth=depth, width=cfg.spectra_width
            )
            word = "higher" if sign > 0 else "lower"
            out.append(
                Finding(
                    f"{schedule}: the last hidden layer's features have a {word} spectral centroid "
                    f"than the first (depth {depth}, width {cfg.spectra_width})",
                    *_says(
                        _centroid_shift(rows, schedule, depth, cfg.spectra_width, sign),
                        f"centroid layer 1 {first:.3g} → layer {depth} {last:.3g} cycles/unit",
                    ),
                )
            )
    adam = [f"{i}+adam" for i in cfg.adam_inits]
    if adam and "spectral" in cfg.schedules:
        for w in cfg.adam_widths:
            wins = []
            for d in cfg.depths:
                swim = e(method="swim", schedule="spectral", depth=d, width=w)
                best = min(e(method=m, depth=d, width=w) for m in adam)
                wins.append((d, swim, best))
            out.append(
                Finding(
                    f"spectral SWIM beats Xavier/He + Adam ({cfg.adam_steps} steps) at the same shape, "
                    f"width {w}, every depth",
                    *_says(
                        (
                            all_hold(
                                lower(
                                    {"method": "swim", "schedule": "spectral", "depth": d, "width": w},
                                    {"method": m, "depth": d, "width": w},
                                )[0]
                                for d, _, _ in wins
                                for m in adam
                            ),
                            "",
                        ),
                        "; ".join(f"depth {d}: SWIM {s:.3g} vs best Adam {b:.3g}" for d, s, b in wins),
                    ),
                )
            )
    if cfg.samplers:
        ours = e(method="swim", schedule="constant", depth=cfg.sampler_depth, width=wide)
        rivals = {m: e(method=m, depth=cfg.sampler_depth, width=wide) for m in cfg.samplers}
        out.append(
            Finding(
                f"the SWIM sampler beats {' and '.join(cfg.samplers)} (constant scale, depth "
                f"{cfg.sampler_depth}, width {wide})",
                *_says(
                    (
                        all_hold(
                            lower(
                                {
                                    "method": "swim",
                                    "schedule": "constant",
                                    "depth": cfg.sampler_depth,
                                    "width": wide,
                                },
                                {"method": m, "depth": cfg.sampler_depth, "width": wide},
                            )[0]
                            for m in rivals
                        ),
                        "",
                    ),
                    f"swim {ours:.3g}, " + ", ".join(f"{m} {v:.3g}" for m, v in rivals.items()),
                ),
            )
        )
    return out


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables at the largest width, the error and layer-spectra figures, and the
    checked findings.
    """
    table = ci_rows(rows, BY, METRICS)
    run.write_table("summary", table)
    wide = max(cfg.widths)
    at_wide = [r for r in table if r["width"] == wide]
    plot_errors(cfg, rows, run.figure_path("test_mse_vs_width"))
    plot_spectra(cfg, rows, arrays, run.figure_path("layer_spectra"))
    return Summary(
        tables=[
            (
                f"Test MSE at the largest width ({wide}), mean ± 95% CI over seeds",
                ci_markdown(at_wide, BY, ("test_mse", "centroid_first", "centroid_last")),
            ),
            ("All cases, mean ± 95% CI over seeds", ci_markdown(table, BY, METRICS)),
        ],
        figures=[
            ("Test MSE against width (mean over seeds)", "test_mse_vs_width.png"),
            ("Per-layer feature spectra (deepest net, first seed)", "layer_spectra.png"),
        ],
        findings=findings(cfg, rows),
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="swim-1d",
    title="SWIM on a mixed-frequency 1D regression: spectral vs constant vs reversed scale schedules",
    source="arXiv 2511.02244 (spectral SWIM), SWIM arXiv 2306.16830",
    default=Config(),
    quick=QUICK,
)
