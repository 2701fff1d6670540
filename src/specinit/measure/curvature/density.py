"""The spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ).

The density of ``A = Σᵢ λᵢ uᵢ uᵢᵀ`` (size ``n``), smoothed by a Gaussian of width ``σ``, is

    φ_σ(t) = (1/n) Σᵢ g_t(λᵢ) = E_q[qᵀ g_t(A) q],    g_t(λ) = N(t; λ, σ²),

an expectation over unit probes ``q = z/√n`` (``z`` Rademacher; ``E[q qᵀ] = I/n``).  For one
probe, ``m`` Lanczos steps from ``q`` give the tridiagonal ``T = U diag(θ) Uᵀ``, and
``qᵀ f(A) q ≈ Σⱼ τⱼ f(θⱼ)`` with ``τⱼ = U₀ⱼ²`` is the ``m``-point Gauss quadrature of the
spectral measure seen from ``q`` (Golub & Meurant; Ghorbani, Krishnan & Xiao 2019,
arXiv 1901.10159; PyHessian, arXiv 1912.07145).  Averaging over probes,

    φ(t) ≈ (1/n_probes) Σ_probes Σⱼ τⱼ N(t; θⱼ, σ²),    E[Σⱼ τⱼ θⱼ] = tr A / n.

The Ritz values ``θⱼ`` resolve the extreme eigenvalues exactly after few steps and the bulk as
a smoothed histogram.

>>> import torch
>>> A = torch.diag(torch.tensor([1.0] * 10 + [4.0] * 30, dtype=torch.float64))
>>> round(hessian_density(A, n_probes=2, n_steps=10, generator=0).mean, 6)  # tr A / n = 3.25
3.25
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from torch import Tensor, nn

from specinit._core.checks import check_float, check_int, check_positive
from specinit._core.deprecation import deprecated_alias, renamed_kwargs
from specinit._core.placement import full_precision
from specinit._core.plotting import new_axes
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.measure.curvature.operators import (
    Batch,
    Operator,
    Params,
    Target,
    _deprecated_per_layer,
    _frozen_array,
    _operator_for,
    _per_layer,
    _rademacher,
)
from specinit.training.losses import Loss

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["SpectralDensity", "hessian_density", "hessian_density_per_layer"]


@dataclass(frozen=True)
class SpectralDensity:
    """Outcome of :func:`hessian_density`: a Gaussian-smoothed spectral density on ``grid``.

    ``nodes`` / ``weights`` are the Gauss quadrature nodes (Ritz values) and weights of all probes
    (each probe's weights sum to ``1 / n_probes``, so all sum to 1); ``density(t) = Σᵢ wᵢ
    N(t; θᵢ, sigma²)``.  Arrays are float64 NumPy; ``num_matvecs`` counts the products
    (``n_matvecs`` is a deprecated alias).
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float
    n_probes: int
    n_steps: int
    num_matvecs: int
    size: int
    seed: int

    __repr__ = compact_repr
    n_matvecs = deprecated_alias("n_matvecs", "num_matvecs")

    @property
    def mean(self) -> float:
        """``Σ wᵢ θᵢ``, the mean eigenvalue's estimate (``tr A / size``; a Hutchinson estimate)."""
        return float(np.dot(self.weights, self.nodes))

    def plot(self, ax: Axes | None = None, *, log: bool = True, label: str | None = None) -> Axes:
        """Density against eigenvalue (log-scaled density by default, as in arXiv 1901.10159)."""
        ax = new_axes() if ax is None else ax
        ax.plot(self.grid, self.density, label=label)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(bottom=max(float(self.density.max()) * 1e-8, 1e-300))
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        if label is not None:
            ax.legend()
        return ax


def _estimator(
    n_probes: int, n_steps: int, sigma: float | None, n_grid: int
) -> Callable[[Operator, int], SpectralDensity]:
    """The checked SLQ ``(operator, seed) → SpectralDensity`` for these settings."""
    n_probes = check_int(n_probes, "n_probes")
    n_steps = check_int(n_steps, "n_steps")
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    if sigma is not None:
        check_positive(sigma, "sigma")
    return lambda op, seed: _slq(op, n_probes, n_steps, sigma, n_grid, seed)


@overload
def hessian_density(
    target: Target,
    loss: Loss | None = ...,
    data: Batch | Iterable[Batch] | None = ...,
    *,
    n_probes: int = ...,
    n_steps: int = ...,
    sigma: float | None = ...,
    n_grid: int = ...,
    generator: GeneratorLike = ...,
    params: Params = ...,
    train_mode: bool = ...,
    per_layer: Literal[False] = ...,
) -> SpectralDensity: ...


@overload
def hessian_density(
    target: Target,
    loss: Loss | None = ...,
    data: Batch | Iterable[Batch] | None = ...,
    *,
    n_probes: int = ...,
    n_steps: int = ...,
    sigma: float | None = ...,
    n_grid: int = ...,
    generator: GeneratorLike = ...,
    params: Params = ...,
    train_mode: bool = ...,
    per_layer: Literal[True],
) -> dict[str, SpectralDensity]: ...


@full_precision
@renamed_kwargs(seed="generator")
def hessian_density(
    target: Target,
    loss: Loss | None = None,
    data: Batch | Iterable[Batch] | None = None,
    *,
    n_probes: int = 1,
    n_steps: int = 90,
    sigma: float | None = None,
    n_grid: int = 1000,
    generator: GeneratorLike = 0,
    params: Params = None,
    train_mode: bool = False,
    per_layer: bool = False,
) -> SpectralDensity | dict[str, SpectralDensity]:
    """Spectral density by stochastic Lanczos quadrature (Ghorbani et al. 2019, arXiv 1901.10159).

    For each of ``n_probes`` unit Rademacher probes ``q = z/√n``, ``n_steps`` Lanczos steps (full
    reorthogonalization) give a tridiagonal ``T = U diag(θ) Uᵀ``; its Ritz values ``θⱼ`` with
    weights ``τⱼ = U₀ⱼ²`` are the Gauss quadrature of the spectral measure seen from ``q``, so
    ``φ(t) ≈ (1/n_probes) Σ_probes Σⱼ τⱼ N(t; θⱼ, σ²)`` with ``E[Σⱼ τⱼ θⱼ] = tr A / n``.  The
    Lanczos recursion stops early (fewer nodes) when the Krylov space is exhausted.  The probes
    are those of :func:`hessian_trace` for the same seed (PyHessian, arXiv 1912.07145).

    ``sigma``: the smoothing width, default 1% of the span of the nodes.  The density is evaluated
    on ``n_grid`` points covering the nodes ± 5σ.  Memory: the Lanczos basis holds ``n_steps``
    vectors of the operator's size.  ``per_layer`` is deprecated (use
    :func:`hessian_density_per_layer`); ``seed=`` is a deprecated alias of ``generator=``.  Other
    arguments as in :func:`hessian_trace`.
    """
    estimate = _estimator(n_probes, n_steps, sigma, n_grid)
    if _deprecated_per_layer(per_layer, "hessian_density"):  # hessian_density_per_layer's result
        seed = derive_seed(generator)
        return _per_layer(target, loss, data, params, train_mode, seed, lambda op: estimate(op, seed))
    seed = derive_seed(generator)
    return estimate(_operator_for(target, loss, data, params, train_mode, seed), seed)


@full_precision
def hessian_density_per_layer(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    n_probes: int = 1,
    n_steps: int = 90,
    sigma: float | None = None,
    n_grid: int = 1000,
    generator: GeneratorLike = 0,
    params: Params = None,
    train_mode: bool = False,
) -> dict[str, SpectralDensity]:
    """:func:`hessian_density` of each layer's diagonal Hessian block ``H_ll``
    (:func:`layer_blocks`): a dict ``layer name → SpectralDensity`` (arXiv 1901.10159,
    1912.07145).  Arguments as in :func:`hessian_density`.
    """
    estimate = _estimator(n_probes, n_steps, sigma, n_grid)
    seed = derive_seed(generator)
    return _per_layer(model, loss, data, params, train_mode, seed, lambda op: estimate(op, seed))


def _lanczos_tridiagonal(op: Operator, q: Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal ``α`` and off-diagonal ``β`` of the Lanczos tridiagonal from unit ``q``.

    Full reorthogonalization (Gram–Schmidt twice against every previous vector) keeps the basis
    orthogonal in floating point, so no spurious copies of converged Ritz values appear.
    """
    basis = torch.zeros(min(steps, op.size), op.size, dtype=op.dtype, device=op.device)
    alphas: list[float] = []
    betas: list[float] = []
    eps = torch.finfo(op.dtype).eps
    for j in range(basis.shape[0]):
        basis[j] = q
        w = op.matvec(q)
        alpha = float(q @ w)
        alphas.append(alpha)
        for _ in range(2):
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(torch.linalg.vector_norm(w))
        scale = max(abs(a) for a in alphas) + max(betas, default=0.0)
        if j == basis.shape[0] - 1 or beta <= 100 * eps * scale:
            break  # the Krylov space is exhausted (or the step budget spent)
        betas.append(beta)
        q = w / beta
    return np.array(alphas), np.array(betas)


def _slq(
    op: Operator, n_probes: int, n_steps: int, sigma: float | None, n_grid: int, seed: int
) -> SpectralDensity:
    start = op.num_matvecs
    generator = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for _ in range(n_probes):
        q = _rademacher(1, op, generator)[:, 0] / math.sqrt(op.size)
        alpha, beta = _lanczos_tridiagonal(op, q, n_steps)
        theta, u = eigh_tridiagonal(alpha, beta)
        nodes.append(theta)
        weights.append(u[0] ** 2 / n_probes)
    theta, tau = np.concatenate(nodes), np.concatenate(weights)
    if sigma is None:
        span = float(theta.max() - theta.min())
        sigma = 0.01 * span if span > 0 else max(abs(float(theta.max())), 1.0) * 1e-3
    sigma = check_float(sigma, "sigma")
    grid = np.linspace(theta.min() - 5 * sigma, theta.max() + 5 * sigma, n_grid)
    gauss = np.exp(-0.5 * ((grid[:, None] - theta[None, :]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return SpectralDensity(
        grid=_frozen_array(grid),
        density=_frozen_array(gauss @ tau),
        nodes=_frozen_array(theta),
        weights=_frozen_array(tau),
        sigma=sigma,
        n_probes=n_probes,
        n_steps=n_steps,
        num_matvecs=op.num_matvecs - start,
        size=op.size,
        seed=seed,
    )
