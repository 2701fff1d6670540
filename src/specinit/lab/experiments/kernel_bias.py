"""``kernel-bias``: the activation-dependent spectral bias of shallow networks in the kernel regime.

arXiv 2503.10587 claims that in the kernel (lazy) regime a shallow network's implicit bias is a
spectral seminorm ``Σ_k W_σ(k) |f̂(k)|²`` whose frequency weight ``W_σ`` depends on the
activation ``σ``.  The paper's formula was not reachable in full, so we measure the weight
numerically as ``W_σ(k) = 1/λ_σ(k)``, the inverse power of the infinite-width NTK
(:func:`specinit.measure.kernels.shallow_ntk`) at frequency ``k``, and check what it predicts.

Set-up (our choice): ``n_points`` inputs on the unit circle, ``z_j = (cos 2πθ_j, sin 2πθ_j)``
with ``θ_j = j/n``, and the target ``y(θ) ∝ Σ_{k=1..n_freqs} cos(2πkθ + φ_k)`` (unit mean
square).  The shallow NTK depends on ``z·z'`` only, so on this grid it is circulant: its
eigenvectors are exactly the Fourier modes in ``θ`` and ``λ(k)`` its eigenvalues — the weight
is exact, not a Rayleigh-quotient bound (up to Monte Carlo error).  Each unit (activation × seed):

1. ``λ_σ(k)`` from the infinite-width kernel (Monte Carlo, ``n_samples`` draws, seeded);
2. a wide :class:`~specinit.nn.models.ShallowNTKNet` (NTK parameterization, float64) trained by
   full-batch gradient descent on ``L = (1/2n) Σ (f − y)²`` with ``lr = lr_scale · n / λ_max``
   of its empirical NTK (phases ``φ_k`` and all draws from the seed);
3. the linearized prediction with the empirical NTK at init and the offset ``f0``
   (:func:`~specinit.measure.kernels.linearized_flow`, ``discrete=True``: the same steps) and the
   kernel-regression limit (:func:`~specinit.measure.kernels.kernel_regression`), at the training
   points and at the midpoints between them (test);
4. per target frequency ``k ≤ n_freqs``, the residual ``r_t(k) = |DFT(f_t − y)(k)|`` and its
   decay rate (:func:`~specinit.measure.kernels.efolding_rate`) against the kernel prediction
   ``−log(1 − η λ(k)/n)`` (:func:`~specinit.measure.kernels.predicted_decay_rate`), with
   ``λ(k)`` of the infinite-width kernel (and, as a control, of the net's empirical NTK), by
   :func:`~specinit.measure.kernels.compare_rates`.

Runtime (one core, ``OMP_NUM_THREADS=1``, shared 2-core machine, measured): ``--quick``
(width 2048, 600 steps, 2 seeds) 13 s; the default (5 activations × 5 seeds, 64 points, width
8192, 2000 steps) 650–859 s depending on the load, dominated by the gradient-descent steps.  Results
and reading: docs/concepts/kernels.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specinit._core.checks import check_int, check_positive
from specinit._core.plotting import figure
from specinit._core.tables import text_table
from specinit.lab.experiment import Summary, Unit, register_module, seeds_units
from specinit.lab.results import Finding, RunDir, below, ci_markdown, ci_rows
from specinit.lab.runner import Context
from specinit.measure.kernels import (
    ShallowNTKNet,
    SpectralWeight,
    compare_rates,
    fourier_projection,
    kernel_regression,
    linearized_flow,
    ntk,
    ntk_eig,
    shallow_ntk,
    spectral_weight,
)
from specinit.nn import activations


@dataclass(frozen=True)
class Config:
    """The experiment's settings (defaults: the documented full run; see the module docstring)."""

    activations: tuple[str, ...] = ("relu", "tanh", "gelu", "sine(omega0=1)", "gaussian(sigma=1)")
    n_points: int = 64
    width: int = 8192
    sigma_w: float = 4.0
    sigma_b: float = 1.0
    n_freqs: int = 12  # the target holds frequencies 1..n_freqs, each one tracked
    steps: int = 2000
    lr_scale: float = 1.0  # lr = lr_scale · n / λ_max(empirical NTK); GD is stable below 2
    n_samples: int = 2**17  # Monte Carlo draws for the infinite-width kernel
    records: int = 40  # residual spectra recorded along training
    match_tol: float = 0.05  # "lazy training matches the linearized model" threshold
    rank_tol: float = 0.9  # Spearman threshold for "converges in the predicted order"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    device: str = "cpu"  # where models and data run: cpu, cuda, cuda:N, mps (--device)


QUICK = Config(width=2048, steps=400, n_samples=2**14, records=12, seeds=(0, 1))


def check_config(cfg: Config) -> None:
    """Raise ``ValueError`` for an unknown activation or impossible sizes."""
    for name in cfg.activations:
        activations.get(name)  # ValueError naming an unknown activation
    if not cfg.activations:
        raise ValueError("activations must name at least one activation")
    for name in ("n_points", "width", "steps", "records", "n_samples", "n_freqs"):
        check_int(getattr(cfg, name), name)
    if cfg.n_freqs >= cfg.n_points // 2:
        raise ValueError(
            f"n_freqs must be below the Nyquist index {cfg.n_points // 2} of n_points={cfg.n_points}"
        )
    if not 0 < cfg.lr_scale < 2:
        raise ValueError(f"lr_scale must lie in (0, 2) for stable gradient descent, got {cfg.lr_scale}")
    check_positive(cfg.sigma_w, "sigma_w")
    check_positive(cfg.sigma_b, "sigma_b", allow_zero=True)
    if not cfg.seeds:
        raise ValueError("seeds must not be empty")


def units(cfg: Config) -> list[Unit]:
    """One unit per activation × seed."""
    check_config(cfg)
    return seeds_units([{"activation": a} for a in cfg.activations], cfg.seeds)


def circle(n: int, offset: float = 0.0) -> tuple[Tensor, Tensor]:
    """Angles ``θ_j = (j + offset)/n`` and their points ``(cos 2πθ, sin 2πθ)`` (float64)."""
    theta = (torch.arange(n, dtype=torch.float64) + offset) / n
    return theta, torch.stack([torch.cos(2 * math.pi * theta), torch.sin(2 * math.pi * theta)], 1)


def target(theta: Tensor, n_freqs: int, seed: int) -> Tensor:
    """``√(2/K) Σ_{k=1..K} cos(2πkθ + φ_k)`` (unit mean square) with ``φ_k ~ U(0, 2π)`` drawn
    from ``seed``.
    """
    g = torch.Generator().manual_seed(seed)
    phases = 2 * math.pi * torch.rand(n_freqs, generator=g, dtype=torch.float64)
    k = torch.arange(1, n_freqs + 1, dtype=torch.float64)
    return math.sqrt(2.0 / n_freqs) * torch.cos(2 * math.pi * theta[:, None] * k + phases).sum(1)


def residual_spectrum(values: Tensor, y: Tensor, track: int) -> np.ndarray:
    """``|DFT(f − y)(k)|`` for ``k = 1..track`` (last axis: points)."""
    return np.abs(np.fft.rfft((values - y).cpu().numpy(), axis=-1))[..., 1 : track + 1]


def _train(
    net: ShallowNTKNet, x: Tensor, y: Tensor, lr: float, steps: int, record_at: set[int]
) -> dict[int, Tensor]:
    """Full-batch gradient descent on ``(1/2n) Σ (f − y)²``; outputs at the ``record_at`` steps."""
    params = list(net.parameters())
    outputs = {}
    for step in range(steps + 1):
        pred = net(x)[:, 0]
        if step in record_at:
            outputs[step] = pred.detach().clone()
        if step == steps:
            break
        loss = 0.5 * ((pred - y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(lr * g)
    return outputs


def _rel(a: Tensor, b: Tensor, base: Tensor) -> float:
    """``‖a − b‖ / ‖b − base‖``: the error of ``a`` relative to the change ``b`` made from ``base``."""
    return float((a - b).norm() / (b - base).norm())


def run_unit(cfg: Config, unit: Unit, context: Context) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Steps 1–4 of the module docstring for one activation and seed."""
    act, seed = unit.params["activation"], unit.params["seed"]
    n, track = cfg.n_points, cfg.n_freqs
    theta, z = circle(n)
    _, zt = circle(n, 0.5)
    y = target(theta, track, seed)
    z, zt, y = context.place((z, zt, y))
    sigma_w, sigma_b = cfg.sigma_w, cfg.sigma_b
    infinite = shallow_ntk(
        z, None, act, sigma_w=sigma_w, sigma_b=sigma_b, n_samples=cfg.n_samples, generator=seed
    )
    weight_inf = spectral_weight(infinite.value)
    net = context.place(
        ShallowNTKNet(
            2, cfg.width, act, sigma_w=sigma_w, sigma_b=sigma_b, generator=1000 + seed, dtype=torch.float64
        )
    )
    k_train, k_test = ntk(net, z), ntk(net, zt, z)
    weight_emp = spectral_weight(k_train)
    eig = ntk_eig(k_train)
    lr = cfg.lr_scale * n / float(eig.eigenvalues[0])
    with torch.no_grad():
        f0, f0t = net(z)[:, 0], net(zt)[:, 0]
    steps = np.unique(np.linspace(0, cfg.steps, cfg.records + 1).round().astype(int))
    trained = _train(net, z, y, lr, cfg.steps, set(steps.tolist()))
    with torch.no_grad():
        ft = net(zt)[:, 0]
    f_train = torch.stack([trained[int(s)] for s in steps])
    flow = linearized_flow(
        k_train,
        y,
        context.place(torch.from_numpy(steps).double()),
        lr=lr,
        f0_train=f0,
        k_test=k_test,
        f0_test=f0t,
        discrete=True,
    )
    assert flow.test is not None  # k_test was given
    limit = kernel_regression(k_train, y, k_test, f0_train=f0, f0_test=f0t)
    r_net, r_lin = residual_spectrum(f_train, y, track), residual_spectrum(flow.train, y, track)
    # measured e-folding rates of frequencies 1..track against λ(k) of the infinite-width
    # kernel (and, as a control, of the net's empirical NTK); an error over no resolved
    # frequency is None, left out of the row and so out of the mean over seeds
    rates = compare_rates(
        steps, r_net, weight_inf.power[1 : track + 1], lr, n, control_power=weight_emp.power[1 : track + 1]
    )
    proj = fourier_projection(eig.eigenvectors[:, : 2 * track])
    row = {
        "activation": act,
        "seed": seed,
        "lr": lr,
        "rel_err_train": _rel(f_train[-1], flow.train[-1], f0),
        "rel_err_test": _rel(ft, flow.test[-1], f0t),
        "rel_err_kr_test": _rel(ft, limit, f0t),
        "residual_left": float((f_train[-1] - y).norm() / (f0 - y).norm()),
        "spearman_rate": rates.spearman,
        "rate_rel_err": rates.rel_err,
        "rate_rel_err_emp": rates.rel_err_control,
        "n_resolved": rates.n_resolved,
        "emp_vs_inf": float((k_train - infinite.value).norm() / infinite.value.norm()),
        "mc_rel_stderr": float(infinite.stderr.norm() / infinite.value.norm()),
        "eigvec_purity": float(proj.energy.max(axis=1).mean()),
    }
    arrays = {
        "freqs": weight_inf.freqs,
        "power_inf": weight_inf.power,
        "power_emp": weight_emp.power,
        "steps": steps,
        "residual_net": r_net,
        "residual_lin": r_lin,
        "rate": rates.rate,
        "rate_predicted": rates.predicted,
        "eigenvalues": eig.eigenvalues[: 2 * track].cpu().numpy(),
        "eig_dominant": proj.dominant,
    }
    return {k: v for k, v in row.items() if v is not None}, arrays


METRICS = (
    "rel_err_train",
    "rel_err_test",
    "rel_err_kr_test",
    "residual_left",
    "spearman_rate",
    "rate_rel_err",
    "rate_rel_err_emp",
    "emp_vs_inf",
    "eigvec_purity",
)


def _mean_weight(
    cfg: Config, rows: Sequence[Mapping[str, Any]], arrays: Mapping[str, Mapping[str, np.ndarray]], name: str
) -> dict[str, SpectralWeight]:
    """Per activation, the spectral weight of the power array ``name`` averaged over seeds."""
    freqs = arrays[rows[0]["unit"]]["freqs"]
    return {
        a: SpectralWeight.from_power(
            freqs, np.mean([arrays[r["unit"]][name] for r in rows if r["activation"] == a], axis=0)
        )
        for a in cfg.activations
    }


def plot_weights(
    cfg: Config, inf: Mapping[str, SpectralWeight], emp: Mapping[str, SpectralWeight], path: Any
) -> None:
    """``W(k)/W(1)`` per activation: infinite width (solid) and the width-``cfg.width`` net (dotted)."""
    fig, axes = figure(1, 1, width=6.0, height=4.0)
    ax = axes[0, 0]
    for i, a in enumerate(cfg.activations):
        for weight, style, label in ((inf[a], "-", a), (emp[a], ":", None)):
            ks = range(1, weight.freqs.size)
            ax.semilogy(weight.freqs[1:], [weight.growth(k) for k in ks], style, color=f"C{i}", label=label)
    ax.set(
        xlabel="frequency k (cycles per turn)",
        ylabel="penalty weight W(k)/W(1) = λ(1)/λ(k)",
        title=f"kernel-regime spectral weight (solid: infinite width; dotted: width {cfg.width})",
    )
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_convergence(
    cfg: Config, rows: Sequence[Mapping[str, Any]], arrays: Mapping[str, Mapping[str, np.ndarray]], path: Any
) -> None:
    """First seed: residual per frequency along training, network (solid) vs linearized (dashed)."""
    first = {r["activation"]: arrays[r["unit"]] for r in rows if r["seed"] == cfg.seeds[0]}
    cols = len(cfg.activations)
    fig, axes = figure(1, cols, width=3.2 * cols, height=3.0)
    shown = [k for k in (1, 2, 4, 8, 12, 16) if k <= cfg.n_freqs]
    for ax, a in zip(axes[0], cfg.activations, strict=True):
        arr = first[a]
        for i, k in enumerate(shown):
            ax.semilogy(
                arr["steps"],
                arr["residual_net"][:, k - 1] / arr["residual_net"][0, k - 1],
                "-",
                color=f"C{i}",
                label=f"k={k}",
            )
            ax.semilogy(
                arr["steps"],
                arr["residual_lin"][:, k - 1] / arr["residual_lin"][0, k - 1],
                "--",
                color=f"C{i}",
                lw=0.8,
            )
        ax.set(title=a, xlabel="GD step", ylim=(1e-4, 2))
        ax.title.set_fontsize(9)
    axes[0, 0].set_ylabel("residual r_t(k) / r_0(k)")
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_rates(
    cfg: Config, rows: Sequence[Mapping[str, Any]], arrays: Mapping[str, Mapping[str, np.ndarray]], path: Any
) -> None:
    """Measured per-frequency decay rate against the kernel's prediction (all seeds)."""
    fig, axes = figure(1, 2, width=10.0, height=4.0)
    for i, a in enumerate(cfg.activations):
        units_a = [arrays[r["unit"]] for r in rows if r["activation"] == a]
        pred = np.concatenate([u["rate_predicted"] for u in units_a])
        meas = np.concatenate([u["rate"] for u in units_a])
        axes[0, 0].loglog(np.maximum(pred, 1e-12), np.maximum(meas, 1e-12), ".", color=f"C{i}", label=a)
        eig = units_a[0]
        axes[0, 1].semilogy(eig["eig_dominant"], eig["eigenvalues"], "o", ms=3, color=f"C{i}", label=a)
    lo, hi = axes[0, 0].get_xlim()
    axes[0, 0].plot([lo, hi], [lo, hi], "k--", lw=0.8)
    axes[0, 0].set(
        xlabel="predicted rate −log(1 − ηλ(k)/n)",
        ylabel="measured rate (1/e-folding step)",
        title="per-frequency convergence rate",
    )
    axes[0, 1].set(
        xlabel="dominant frequency of eigenvector",
        ylabel="empirical NTK eigenvalue",
        title="NTK eigenvalues by frequency (first seed)",
    )
    for ax in axes[0]:
        ax.legend(fontsize=7)
        ax.title.set_fontsize(9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _below(s: Mapping[str, Any], metric: str, bound: float, text: str) -> tuple[bool | None, str]:
    """``holds`` and evidence for "``metric`` below ``bound``" across seeds (2 SE of the seed noise)."""
    holds, margin = below(s[f"{metric}_mean"], s[f"{metric}_std"], s["n"], bound)
    return holds, f"{text}; {margin}" + ("" if holds is not None else " — not decided")


def _above(s: Mapping[str, Any], metric: str, bound: float, text: str) -> tuple[bool | None, str]:
    """``holds`` and evidence for "``metric`` at least ``bound``" across seeds (2 SE of the seed noise)."""
    holds, margin = below(-s[f"{metric}_mean"], s[f"{metric}_std"], s["n"], -bound)
    return holds, f"{text}; mean − bound {margin.removeprefix('bound − mean ')}" + (
        "" if holds is not None else " — not decided"
    )


def findings(
    cfg: Config, table: Sequence[Mapping[str, Any]], inf: Mapping[str, SpectralWeight]
) -> list[Finding]:
    """Per activation: lazy training matches the linear model, frequencies converge in the
    kernel's order; across activations: ReLU's weight grows slowest; the NTK is near its limit.
    """
    stat = {r["activation"]: r for r in table}
    out = []
    for a in cfg.activations:
        s = stat[a]
        out.append(
            Finding(
                f"{a}: lazy training of the width-{cfg.width} net matches the linearized model "
                f"(relative error of the learned change < {cfg.match_tol} at test points)",
                *_below(
                    s,
                    "rel_err_test",
                    cfg.match_tol,
                    f"test {s['rel_err_test_mean']:.3g} ± {s['rel_err_test_ci']:.2g}, train "
                    f"{s['rel_err_train_mean']:.3g}; vs the kernel-regression limit "
                    f"{s['rel_err_kr_test_mean']:.3g} (residual left {s['residual_left_mean']:.3g})",
                ),
            )
        )
    for a in cfg.activations:
        s = stat[a]
        out.append(
            Finding(
                f"{a}: frequencies converge in the order of the infinite-width NTK power λ(k), i.e. "
                f"inverse penalty weight (Spearman ≥ {cfg.rank_tol}, k = 1..{cfg.n_freqs})",
                *_above(
                    s,
                    "spearman_rate",
                    cfg.rank_tol,
                    f"Spearman {s['spearman_rate_mean']:.3g} ± "
                    f"{s['spearman_rate_ci']:.2g}; median "
                    f"|measured/predicted rate − 1| {s.get('rate_rel_err_mean', math.nan):.3g} over the "
                    "frequencies the kernel predicts to move",
                ),
            )
        )
    for k_hi in (cfg.n_points // 4, cfg.n_points // 2):
        growth = {a: inf[a].growth(k_hi) for a in cfg.activations}
        if "relu" not in growth or len(growth) < 2:
            break
        flattest = min(growth, key=lambda a: growth[a])
        out.append(
            Finding(
                f"ReLU (the only activation here with a kink) has the slowest-growing penalty weight: "
                f"smallest W({k_hi})/W(1) (the paper: smoother σ penalizes high frequencies more)",
                flattest == "relu",
                ", ".join(f"{a} {g:.3g}" for a, g in sorted(growth.items(), key=lambda kv: kv[1])),
            )
        )
    worst = max(stat.values(), key=lambda s: s["emp_vs_inf_mean"])
    out.append(
        Finding(
            f"the width-{cfg.width} empirical NTK is within 5% of the infinite-width kernel (Frobenius)",
            *_below(
                worst,
                "emp_vs_inf",
                0.05,
                "; ".join(f"{s['activation']} {s['emp_vs_inf_mean']:.3g}" for s in stat.values()),
            ),
        )
    )
    return out


def summarize(
    cfg: Config, rows: list[dict[str, Any]], arrays: dict[str, dict[str, np.ndarray]], run: RunDir
) -> Summary:
    """Mean ± 95% CI tables per activation, the spectral-weight, convergence and rate figures, and
    the checked findings.
    """
    table = ci_rows(rows, ("activation",), METRICS)
    run.write_table("summary", table)
    inf = _mean_weight(cfg, rows, arrays, "power_inf")
    emp = _mean_weight(cfg, rows, arrays, "power_emp")
    plot_weights(cfg, inf, emp, run.figure_path("spectral_weight"))
    plot_convergence(cfg, rows, arrays, run.figure_path("convergence"))
    plot_rates(cfg, rows, arrays, run.figure_path("rates"))
    shown = [k for k in dict.fromkeys((1, 2, 4, 8, 16, 32, cfg.n_points // 2)) if k <= cfg.n_points // 2]
    weights = [
        {"activation": a, **{f"k={k}": f"{inf[a].growth(k):.3g}" for k in shown}} for a in cfg.activations
    ]
    return Summary(
        tables=[
            (
                "Lazy training vs the kernel prediction, mean ± 95% CI over seeds",
                ci_markdown(table, ("activation",), METRICS),
            ),
            (
                "Penalty weight growth W(k)/W(1) = λ(1)/λ(k) of the infinite-width NTK "
                "(mean power over seeds)",
                text_table(weights, markdown=True),
            ),
        ],
        figures=[
            ("Spectral weight W(k)/W(1) = λ(1)/λ(k) per activation", "spectral_weight.png"),
            ("Per-frequency residual, network vs linearized (first seed)", "convergence.png"),
            ("Measured vs predicted rates; eigenvalues by frequency", "rates.png"),
        ],
        findings=findings(cfg, table, inf),
        metrics={"summary": table, "weight_growth": weights},
    )


EXPERIMENT = register_module(
    __name__,
    name="kernel-bias",
    title="Kernel-regime spectral bias of shallow networks per activation",
    source="arXiv 2503.10587 (spectral bias vs non-linearity); NTK: Jacot et al. 2018",
    default=Config(),
    quick=QUICK,
)
