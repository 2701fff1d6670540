"""``oddsig-sensitivity``: how robust is the odd-sigmoid start (arXiv 2509.23085) at init?

One variable at a time is swept around a base network (an MLP on standardized 8×8 digits,
width 64, ``L = 100`` hidden layers, ``f = tanh``, activation scale ``k = 1``, closed-form
noise): the width (8..128), the depth ``L`` (10..200, target layer = ``L``), the scale ``k`` of
``f(kx)`` (0.5..4) and a multiplier of the noise ``Z`` (0.25×..4× the closed form).  At init,
:func:`specinit.measure.propagation.propagation` measures the activation std and saturated fraction of
the last hidden layer; :func:`~specinit.initializers.odd_sigmoid.predicted_std` predicts the std
from that of the first hidden layer, with the tolerance band stated in ``docs/concepts/odd_sigmoid.md``
([0.75, 1.15] × prediction at the target layer).  Xavier normal is measured alongside (except
for the noise sweep, which only exists for ours).  The measurement is at init; then each
network is trained briefly (2 epochs of Adam, lr 1e-4, batch 64) and its digits test accuracy
recorded.  About 20 s per seed on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import specinit
from specinit._core.plotting import figure
from specinit.data import digits, standardize
from specinit.initializers.odd_sigmoid import predicted_std
from specinit.lab import checks
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, all_hold, ci_markdown, ci_rows, compare
from specinit.lab.runner import Context
from specinit.measure.propagation import propagation
from specinit.nn.activations import get as get_activation
from specinit.nn.models import mlp
from specinit.training import TrainingDiverged, accuracy, train

BAND = (0.75, 1.15)  # docs/concepts/odd_sigmoid.md, "Stated tolerance", target layer, width ≥ 8
OURS = "odd_sigmoid"


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    activation: str = "tanh"
    width: int = 64
    depth: int = 100
    k: float = 1.0
    noise: float = 1.0
    widths: tuple[int, ...] = (8, 16, 32, 64, 128)
    depths: tuple[int, ...] = (10, 25, 50, 100, 200)
    ks: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    noises: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    baseline: str = "xavier_normal"
    batch: int = 256
    train_epochs: int = 2  # a short training after the measurement (0: none)
    lr: float = 1e-4  # Adam; at 1e-3 both starts stall near chance at depth 100, width 128
    batch_size: int = 64
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Quick: a 30-layer base, two or three values per sweep, 2 seeds and one epoch of training.
QUICK = Config(
    depth=30,
    widths=(8, 128),
    depths=(10, 100),
    ks=(0.5, 4.0),
    noises=(0.25, 1.0, 4.0),
    train_epochs=1,
    seeds=(0, 1),
)
SWEEPS = {"width": "widths", "depth": "depths", "k": "ks", "noise": "noises"}


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a value that cannot run (before any unit runs)."""
    checks.nonempty(cfg, "widths", "depths", "ks", "noises")
    checks.distinct(cfg, "widths", "depths", "ks", "noises")
    checks.positive(cfg, "width", "depth", "k", "noise", "widths", "depths", "ks", "noises")
    checks.positive(cfg, "batch", "lr", "batch_size")
    checks.non_negative(cfg, "train_epochs")
    checks.activation_names(cfg, "activation")
    checks.init_methods(cfg, "baseline")


def units(cfg: Config) -> list[Unit]:
    """One unit per swept value × init × seed, one variable varied at a time around the base network."""
    cases = [
        {"vary": var, "value": value, "init": init}
        for var, field in SWEEPS.items()
        for value in getattr(cfg, field)
        for init in ((OURS,) if var == "noise" else (OURS, cfg.baseline))
    ]
    return seeds_units(cases, cfg.seeds)


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Initialize one network (the base with one variable changed) and measure the signal's std at
    the last layer against the prediction of arXiv 2509.23085; optionally train it briefly.
    """
    p = unit.params
    case = {"width": cfg.width, "depth": cfg.depth, "k": cfg.k, "noise": cfg.noise, p["vary"]: p["value"]}
    act = get_activation(cfg.activation, k=case["k"])
    data = context.place(standardize(digits(generator=0), per_feature=True))
    x = data.x_train[: cfg.batch]
    net = mlp(x.shape[1], [case["width"]] * case["depth"], 10, act)
    options = {"target_layer": case["depth"], "noise_multiplier": case["noise"]} if p["init"] == OURS else {}
    context.place(specinit.init_(net, p["init"], generator=p["seed"], **options))
    prop = propagation(net, x)
    rms = np.hypot(prop.column("std"), prop.column("mean"))
    predicted = predicted_std(act, case["depth"] - 1, float(rms[0]))
    last = prop.layers[-1]
    acc = math.nan
    if cfg.train_epochs:
        try:
            train(
                net,
                data.x_train,
                data.y_train,
                loss="cross_entropy",
                optimizer="adam",
                lr=cfg.lr,
                epochs=cfg.train_epochs,
                batch_size=cfg.batch_size,
                generator=p["seed"],
                progress=False,
            )
            acc = accuracy(net, data.x_test, data.y_test)
        except TrainingDiverged:
            pass  # recorded as NaN accuracy
    row = {
        "vary": p["vary"],
        "value": p["value"],
        "init": p["init"],
        "seed": p["seed"],
        "std_first": float(rms[0]),
        "std_last": float(rms[-1]),
        "predicted": predicted,
        "ratio": float(rms[-1]) / predicted,
        "saturated_last": last.frac_saturated,
        "near_zero_last": last.frac_near_zero,
        "test_accuracy": acc,
    }
    return row, {"rms": rms}


METRICS = ("std_last", "predicted", "ratio", "saturated_last", "near_zero_last", "test_accuracy")


def _values(rows: list[dict[str, Any]], metric: str, **where: Any) -> np.ndarray:
    return np.array([r[metric] for r in rows if all(r[k] == v for k, v in where.items())], dtype=float)


def _accuracy_finding(cfg: Config, rows: list[dict[str, Any]], var: str, field: str) -> Finding:
    """Ours more accurate than the baseline at every value of ``var``: each value decided beyond
    2 SE of the paired seed differences and the binomial noise of the digits test split.
    """
    n_test = len(digits(generator=0).y_test)
    states, parts = [], []
    for v in getattr(cfg, field):
        ours = _values(rows, "test_accuracy", vary=var, value=v, init=OURS)
        base = _values(rows, "test_accuracy", vary=var, value=v, init=cfg.baseline)
        holds, margin = compare(ours, base, n_test=n_test, paired=True)
        states.append(holds)
        parts.append(f"{v:g}: {ours.mean():.3f} vs {base.mean():.3f} ({margin})")
    holds = all_hold(states)
    return Finding(
        f"after {cfg.train_epochs} epoch(s) on digits the odd-sigmoid start is more accurate "
        f"than {cfg.baseline} at every {var} tried",
        holds,
        ("" if holds is not None else "not decided (some differences within 2 SE): ")
        + "test accuracy (ours vs baseline): "
        + ", ".join(parts),
    )


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per varied value × init, the sensitivity figure and the checked findings."""
    table = ci_rows(rows, ("vary", "value", "init"), METRICS)
    run.write_table("summary", table)

    fig, axes = figure(3, len(SWEEPS), width=3.8 * len(SWEEPS), height=9)
    for col, (var, field) in enumerate(SWEEPS.items()):
        values = getattr(cfg, field)
        top, bottom, trained = axes[:, col]
        pred = np.array([_values(rows, "predicted", vary=var, value=v, init=OURS).mean() for v in values])
        top.fill_between(values, BAND[0] * pred, BAND[1] * pred, color="0.85", label="predicted band")
        top.plot(values, pred, "k:", lw=1, label="predicted")
        for init in (OURS,) if var == "noise" else (OURS, cfg.baseline):
            stats = [_values(rows, "std_last", vary=var, value=v, init=init) for v in values]
            top.errorbar(
                values,
                [s.mean() for s in stats],
                yerr=[s.std() for s in stats],
                marker="o",
                capsize=2,
                label=init,
            )
            sat = [_values(rows, "saturated_last", vary=var, value=v, init=init).mean() for v in values]
            bottom.plot(values, sat, "o-", label=init)
            acc = [_values(rows, "test_accuracy", vary=var, value=v, init=init) for v in values]
            trained.errorbar(
                values,
                [a.mean() for a in acc],
                yerr=[a.std() for a in acc],
                marker="o",
                capsize=2,
                label=init,
            )
        top.set(xscale="log", yscale="log", title=f"std at the last hidden layer vs {var}")
        bottom.set(xscale="log", ylim=(-0.02, 1.02), title="saturated fraction there")
        trained.set(
            xscale="log",
            xlabel=var,
            ylim=(0, 1),
            title=f"digits test accuracy after {cfg.train_epochs} epochs",
        )
        for ax in (top, bottom, trained):
            ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.minorticks_off()
        top.legend(fontsize=7)
    axes[0, 0].set_ylabel("activation rms")
    axes[1, 0].set_ylabel("fraction |h| ≥ 0.99 sup f")
    axes[2, 0].set_ylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(run.figure_path("sensitivity"), dpi=110)

    ours_base = [r for r in rows if r["init"] == OURS and (r["vary"] != "noise" or r["value"] == 1.0)]
    ratios = np.array([r["ratio"] for r in ours_base])
    k_std = {v: _values(rows, "std_last", vary="k", value=v, init=OURS).mean() for v in cfg.ks}
    k_xav = {v: _values(rows, "std_last", vary="k", value=v, init=cfg.baseline).mean() for v in cfg.ks}
    spread = max(k_std.values()) / min(k_std.values())
    noise_ratio = {v: _values(rows, "ratio", vary="noise", value=v).mean() for v in cfg.noises}
    noise_sat = {v: _values(rows, "saturated_last", vary="noise", value=v).max() for v in cfg.noises}
    findings = [
        Finding(
            f"with closed-form noise the std at layer L stays in {BAND[0]}–{BAND[1]} × the prediction "
            "for every width, depth and k tried (all seeds)",
            bool(((ratios > BAND[0]) & (ratios < BAND[1])).all()),
            f"ratio measured/predicted over {len(ratios)} networks: {ratios.min():.3f}–{ratios.max():.3f}",
        ),
        Finding(
            "with the ωD + Z start, f(kx) gives the same signal for every k (ω = 1/(k f'(0)) absorbs k)",
            spread < 1.001,
            "std at layer L by k: "
            + ", ".join(f"{v:g}: {s:.4f}" for v, s in k_std.items())
            + f" (max/min {spread:.5f}); {cfg.baseline}: "
            + ", ".join(f"{v:g}: {s:.3g}" for v, s in k_xav.items()),
        ),
        Finding(
            "no saturation at layer L with the closed-form start (saturated fraction < 1 %)",
            max(r["saturated_last"] for r in ours_base) < 0.01,
            f"max saturated fraction {max(r['saturated_last'] for r in ours_base):.4f}; "
            f"{cfg.baseline}: up to "
            f"{max(r['saturated_last'] for r in rows if r['init'] == cfg.baseline):.3f}",
        ),
        Finding(
            "at or below the closed-form noise (0.25×–1×) the std at layer L stays in the band "
            "(the diagonal path's decay sets it)",
            all(BAND[0] < noise_ratio[v] < BAND[1] for v in cfg.noises if v <= 1.0),
            "mean ratio measured/predicted by noise multiplier: "
            + ", ".join(f"{v:g}×: {r:.3f}" for v, r in noise_ratio.items()),
        ),
        Finding(
            "for every noise multiplier tried the signal stays dispersed at layer L: not collapsed "
            "(rms > 0.5 × prediction) and not saturated (< 1 %)",
            min(noise_ratio.values()) > 0.5 and max(noise_sat.values()) < 0.01,
            f"ratio {min(noise_ratio.values()):.3f}–{max(noise_ratio.values()):.3f}, saturated "
            f"fraction at most {max(noise_sat.values()):.4f}",
        ),
        *[
            _accuracy_finding(cfg, rows, var, field)
            for var, field in SWEEPS.items()
            if var != "noise" and cfg.train_epochs
        ],
    ]
    return Summary(
        tables=[
            (
                f"Last hidden layer at init, mean ± 95% CI over seeds (base: width {cfg.width}, "
                f"depth {cfg.depth}, {cfg.activation}, k = {cfg.k:g}, noise {cfg.noise:g}×)",
                ci_markdown(table, ("vary", "value", "init"), METRICS),
            )
        ],
        figures=[
            (
                "Std and saturation at the last hidden layer at init, and accuracy after a short "
                "training, vs each swept variable",
                "sensitivity.png",
            )
        ],
        findings=findings,
        metrics={"summary": table, "band": BAND, "ratio_range": [float(ratios.min()), float(ratios.max())]},
    )


EXPERIMENT = register_module(
    __name__,
    name="oddsig-sensitivity",
    title="Odd-sigmoid initialization: sensitivity to width, depth, activation scale and noise",
    source="arXiv 2509.23085 (sensitivity analysis); closed form from docs/concepts/odd_sigmoid.md",
    default=Config(),
    quick=QUICK,
)
