"""``oddsig-pinn``: Burgers' equation PINN, odd-sigmoid initialization vs Xavier (arXiv 2509.23085).

The PINN of :mod:`specinit.training.pinn` (``u_t + u u_x − ν u_xx = 0``, ``ν = 0.01/π``,
``u(x,0) = −sin πx``, ``u(±1,t) = 0``) with scaled odd-sigmoid activations ``f(kx)``, each
started with our odd-sigmoid init (``W = ωD + Z``, closed-form noise, target layer = number of
weight layers) or with Xavier normal.  Claim: the odd-sigmoid start trains the deep narrow PINN
to a lower loss.  Metrics: final loss and its residual / initial / boundary parts, and the
relative L2 error against the exact (Cole–Hopf) solution on a 256 × 101 grid.

The default is Tanh-Init's reference setting (arXiv 2410.02242): 30 tanh-like layers of width
16, Adam (lr 1e-3) then L-BFGS, ``N_c = 20000``, ``N_t = 500``, ``N_b = 500`` per side.  One
Adam step there costs ≈ 0.2 s on 2 CPU cores, an L-BFGS iteration about as much (plus line
search evaluations), so one unit (5000 Adam + 2000 L-BFGS) takes ≈ 25–30 min and the 24 units
(4 activations × 2 inits × 3 seeds) ≈ 11 h on 2 cores.  The quick config (depth 10,
``N_c = 1000``, 300 Adam steps, no L-BFGS, 1 seed) runs in about a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch

import specinit
from specinit._core.plotting import figure
from specinit.lab import checks
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, ci_markdown, ci_rows, compare
from specinit.lab.runner import Context
from specinit.lab.tasks import mean_by
from specinit.nn.models import mlp
from specinit.training.pinn import NU, reference_solution, sample_points, train_pinn


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    activations: tuple[str, ...] = ("tanh", "tanh(k=2)", "arctan", "erf")
    inits: tuple[str, ...] = ("odd_sigmoid", "xavier_normal")
    depth: int = 30
    width: int = 16
    n_collocation: int = 20000
    n_initial: int = 500
    n_boundary: int = 500
    adam_steps: int = 5000
    lr: float = 1e-3
    lbfgs_iterations: int = 2000
    grid_x: int = 256
    grid_t: int = 101
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


# Quick: one activation, two seeds (the loss comparison needs a noise estimate), small sets.
QUICK = Config(
    activations=("tanh",),
    depth=10,
    n_collocation=300,
    n_initial=100,
    n_boundary=100,
    adam_steps=200,
    lbfgs_iterations=0,
    grid_x=64,
    grid_t=26,
    seeds=(0, 1),
)
SLICES = (0.25, 0.5, 0.75)  # times of the solution slices in the figure


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for a value that cannot run (before any unit runs)."""
    checks.nonempty(cfg, "activations", "inits")
    checks.distinct(cfg, "activations", "inits")
    checks.positive(cfg, "depth", "width", "n_collocation", "n_initial", "n_boundary", "lr")
    checks.positive(cfg, "grid_x", "grid_t")
    checks.non_negative(cfg, "adam_steps", "lbfgs_iterations")
    checks.activation_names(cfg, "activations")
    checks.init_methods(cfg, "inits")


def units(cfg: Config) -> list[Unit]:
    """One unit per activation × init × seed."""
    cases = [{"activation": a, "init": i} for a in cfg.activations for i in cfg.inits]
    return seeds_units(cases, cfg.seeds)


def _grid(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(-1.0, 1.0, cfg.grid_x), np.linspace(0.0, 1.0, cfg.grid_t)


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one PINN on Burgers' equation (Adam, then L-BFGS) and compare it on a grid with the
    reference solution (relative L2 error).
    """
    p = unit.params
    net = specinit.init_(mlp(2, [cfg.width] * cfg.depth, 1, p["activation"]), p["init"], generator=p["seed"])
    context.place(net)
    points = context.place(
        sample_points(cfg.n_collocation, cfg.n_initial, cfg.n_boundary, generator=p["seed"])
    )
    result = train_pinn(
        net, points, adam_steps=cfg.adam_steps, lr=cfg.lr, lbfgs_iterations=cfg.lbfgs_iterations
    )
    x, t = _grid(cfg)
    xt = torch.tensor(np.stack(np.meshgrid(x, t, indexing="ij"), -1).reshape(-1, 2), dtype=torch.float32)
    xt = context.place(xt)
    with torch.no_grad():
        u = net(xt).reshape(len(x), len(t)).double().cpu().numpy()
    exact = reference_solution(x, t, NU)
    rel_l2 = float(np.linalg.norm(u - exact) / np.linalg.norm(exact))
    row = {
        "activation": p["activation"],
        "init": p["init"],
        "seed": p["seed"],
        **{f"{k}_loss": v for k, v in result.final.items()},
        "rel_l2": rel_l2,
        "lbfgs_evaluations": result.lbfgs_evaluations,
    }
    return row, {"losses": result.losses, "u": u}


METRICS = ("total_loss", "residual_loss", "initial_loss", "boundary_loss", "rel_l2")


def _loss_finding(rows: list[dict[str, Any]], act: str, ours: str, base: str) -> Finding:
    """Ours reaches a lower final loss than ``base``: log10 losses paired by seed, decided beyond
    2 SE of the paired differences (one seed decides nothing).
    """
    e = partial(mean_by, rows)

    def logs(init: str) -> list[float]:
        mine = sorted(
            (r for r in rows if r["activation"] == act and r["init"] == init), key=lambda r: r["seed"]
        )
        return [math.log10(max(float(r["total_loss"]), 1e-300)) for r in mine]

    holds, margin = compare(logs(base), logs(ours), paired=True)
    return Finding(
        f"with {act}, the {ours} start reaches a lower final loss than {base}",
        holds,
        f"loss {e('total_loss', activation=act, init=ours):.3g} vs "
        f"{e('total_loss', activation=act, init=base):.3g} (residual "
        f"{e('residual_loss', activation=act, init=ours):.2g} vs "
        f"{e('residual_loss', activation=act, init=base):.2g}; rel. L2 error "
        f"{e('rel_l2', activation=act, init=ours):.3f} vs {e('rel_l2', activation=act, init=base):.3f}); "
        f"log10 loss {base} − {ours}: {margin}" + ("" if holds is not None else " — not decided"),
    )


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per activation × init, the loss curves and solution slices, and the
    checked findings.
    """
    table = ci_rows(rows, ("activation", "init"), METRICS)
    run.write_table("summary", table)
    first = {(r["activation"], r["init"]): r["unit"] for r in rows if r["seed"] == cfg.seeds[0]}
    n = len(cfg.activations)

    fig, axes = figure(1, n, width=3.6 * n, height=3)
    for ax, act in zip(axes[0], cfg.activations, strict=True):
        for init in cfg.inits:
            ax.semilogy(arrays[first[act, init]]["losses"], lw=1, label=init)
        if cfg.lbfgs_iterations:
            ax.axvline(cfg.adam_steps, color="k", ls=":", lw=0.8)
        ax.set(title=act, xlabel="Adam step, then L-BFGS loss evaluation")
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("loss")
    fig.tight_layout()
    fig.savefig(run.figure_path("loss_curves"), dpi=110)

    x, t = _grid(cfg)
    exact = reference_solution(x, t, NU)
    cols = [int(np.argmin(abs(t - s))) for s in SLICES]
    fig, axes = figure(n, len(cols), width=3.4 * len(cols), height=2.4 * n)
    for i, act in enumerate(cfg.activations):
        for ax, c in zip(axes[i], cols, strict=True):
            ax.plot(x, exact[:, c], "k-", lw=1.5, label="exact")
            for init in cfg.inits:
                ax.plot(x, arrays[first[act, init]]["u"][:, c], "--", lw=1, label=init)
            ax.set(title=f"{act}, t = {t[c]:.2f}", ylim=(-1.2, 1.2))
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.figure_path("solution_slices"), dpi=110)

    ours, other = cfg.inits[0], cfg.inits[1:]
    findings = [_loss_finding(rows, act, ours, base) for act in cfg.activations for base in other]
    return Summary(
        tables=[
            (
                "Final loss parts and relative L2 error vs the exact solution, mean ± 95% CI over seeds",
                ci_markdown(table, ("activation", "init"), METRICS),
            )
        ],
        figures=[
            ("Training loss (first seed)", "loss_curves.png"),
            ("Solution slices vs the exact solution (first seed)", "solution_slices.png"),
        ],
        findings=findings,
        metrics={"summary": table},
    )


EXPERIMENT = register_module(
    __name__,
    name="oddsig-pinn",
    title="Burgers PINN: odd-sigmoid initialization vs Xavier with scaled odd-sigmoid activations",
    source="arXiv 2509.23085 (PINN experiment), setting of arXiv 2410.02242",
    default=Config(),
    quick=QUICK,
)
