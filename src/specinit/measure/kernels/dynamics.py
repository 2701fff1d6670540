"""Linearized (kernel-regime) training: its path, its limit, and its per-mode rates.

In the kernel (lazy) regime a network stays linear in its parameters,
``f_t(x) = f_0(x) + J(x)(θ_t − θ_0)``, and gradient flow on ``L = (1/2n) Σ_i ‖f(x_i) − y_i‖²``
with learning rate ``η`` becomes kernel gradient flow with the NTK ``Θ`` (Jacot et al. 2018,
arXiv 1806.07572; Lee et al. 2019, arXiv 1902.06720).  With ``Θ = V diag(λ) Vᵀ`` on the
training points and the residual ``r = y − f_0``,

    f_t(X)  = f_0(X)  + V diag(1 − e^{−η λ t / n}) Vᵀ r
    f_t(x*) = f_0(x*) + Θ(x*, X) V diag((1 − e^{−η λ t / n}) / λ) Vᵀ r,

so the residual along eigenvector ``k`` decays at rate ``η λ_k / n`` (per step of gradient
descent: ``−log(1 − η λ_k / n)``) and ``t → ∞`` is kernel regression, the minimum-RKHS-norm
interpolant of the residual.  Components with small ``λ`` — for the NTK, high frequencies —
are learned last (arXiv 1906.00425, 2503.10587).

* :func:`kernel_regression` — the limit; :func:`linearized_flow` — the whole path
  (:class:`FlowPath`), flow or gradient descent, train and test points;
* :func:`predicted_decay_rate` — a mode's rate from its kernel power;
  :func:`efolding_rate` — a measured rate from a recorded residual;
  :func:`compare_rates` — the two per frequency (:class:`RateComparison`).

>>> import torch
>>> k = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
>>> kernel_regression(k, [1.0, -1.0]).tolist()  # an invertible kernel interpolates
[1.0, -1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from specinit._core.checks import as_tensor, check_float, check_int, check_positive
from specinit._core.records import compact_repr
from specinit.measure.kernels.spectrum import _square_kernel

__all__ = [
    "kernel_regression",
    "FlowPath",
    "linearized_flow",
    "predicted_decay_rate",
    "efolding_rate",
    "RateComparison",
    "compare_rates",
]


def _targets(y: Any, n: int, name: str) -> Tensor:
    """``y`` as float64 ``(n, O)`` (a 1-D ``y`` is one output)."""
    t = as_tensor(y, name).to(torch.float64)
    t = t.unsqueeze(1) if t.dim() == 1 else t
    if t.dim() != 2 or t.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, O), got {tuple(t.shape)}")
    return t


def _offsets(f0: Any, like: Tensor, name: str) -> Tensor:
    """The initial function's values shaped like ``like``; zeros when ``f0`` is None."""
    if f0 is None:
        return torch.zeros_like(like)
    t = _targets(f0, like.shape[0], name)
    if t.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(t.shape)}")
    return t


def _test_kernel(k_test: Any, n: int) -> Tensor:
    """``k_test`` as float64 ``(m, n)``, test × train."""
    k = as_tensor(k_test, "k_test").to(torch.float64)
    if k.dim() != 2 or k.shape[1] != n:
        raise ValueError(f"k_test must have shape (m, {n}) (test × train), got {tuple(k.shape)}")
    return k


def _prepare(
    k_train: Any, y_train: Any, f0_train: Any, k_test: Any, f0_test: Any
) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None]:
    """Checked float64 pieces; ``f0_test`` is required when ``f0_train`` is given with ``k_test``."""
    k = _square_kernel(k_train, "k_train")
    y = _targets(y_train, k.shape[0], "y_train")
    f0 = _offsets(f0_train, y, "f0_train")
    kt = f0t = None
    if k_test is not None:
        kt = _test_kernel(k_test, k.shape[0])
        if f0_train is not None and f0_test is None:
            raise ValueError(
                "f0_test is required when f0_train is given with k_test "
                "(the initial function at the test points)"
            )
        f0t = _offsets(f0_test, torch.zeros(kt.shape[0], y.shape[1], dtype=torch.float64), "f0_test")
    elif f0_test is not None:
        raise ValueError("f0_test given without k_test")
    return k, y, f0, kt, f0t


def _shape_like(value: Tensor, y_train: Any) -> Tensor:
    """Drop the output axis again when ``y_train`` was 1-D."""
    return value[..., 0] if np.ndim(y_train) == 1 else value


def kernel_regression(
    k_train: Any,
    y_train: Any,
    k_test: Any = None,
    *,
    ridge: float = 0.0,
    f0_train: Any = None,
    f0_test: Any = None,
) -> Tensor:
    """Kernel ridge prediction ``f0(x*) + K(x*, X) (K(X, X) + ridge·I)⁻¹ (y − f0(X))``.

    The end point of linearized training (``t → ∞`` of :func:`linearized_flow`; Lee et al. 2019,
    arXiv 1902.06720; arXiv 2503.10587's kernel regime): the initial function ``f0`` plus the
    minimum-RKHS-norm fit of the residual.  With ``ridge = 0`` the inverse is the pseudo-inverse
    (eigenvalues below ``n·ε·λ_max`` dropped).  ``k_test=None`` predicts at the training points.
    Computed in float64; ``y_train`` is ``(n,)`` or ``(n, O)`` and the result has the same trailing
    shape.
    """
    check_positive(ridge, "ridge", allow_zero=True)
    k, y, f0, kt, f0t = _prepare(k_train, y_train, f0_train, k_test, f0_test)
    values, vectors = torch.linalg.eigh(k)
    cut = k.shape[0] * torch.finfo(torch.float64).eps * float(values.abs().max())
    if ridge > 0:
        inverse = 1.0 / (values + ridge)
    else:
        inverse = torch.where(values > cut, 1.0 / values.clamp_min(cut), torch.zeros_like(values))
    alpha = vectors @ (inverse[:, None] * (vectors.T @ (y - f0)))
    out = f0 + k @ alpha if kt is None else f0t + kt @ alpha
    return _shape_like(out, y_train)


@dataclass(frozen=True)
class FlowPath:
    """Outputs of the linearized model along training.

    ``times`` ``(T,)``; ``train`` ``(T, n[, O])`` at the training points; ``test``
    ``(T, m[, O])`` at the test points (``None`` without ``k_test``).  float64 tensors (kernel
    predictions).
    """

    times: Tensor
    train: Tensor
    test: Tensor | None

    __repr__ = compact_repr


def linearized_flow(
    k_train: Any,
    y_train: Any,
    times: Any,
    *,
    lr: float,
    f0_train: Any = None,
    k_test: Any = None,
    f0_test: Any = None,
    discrete: bool = False,
) -> FlowPath:
    """The linearized network's outputs under gradient flow on ``L = (1/2n) Σ_i ‖f(x_i) − y_i‖²``.

    With ``Θ = V diag(λ) Vᵀ`` on the ``n`` training points and ``r = y − f0``::

        f_t(X)  = f0(X)  + V diag(1 − e^{−η λ t / n}) Vᵀ r
        f_t(x*) = f0(x*) + Θ(x*, X) V diag((1 − e^{−η λ t / n}) / λ) Vᵀ r

    (Jacot et al. 2018, arXiv 1806.07572; Lee et al. 2019, arXiv 1902.06720), where
    ``(1 − e^{−aλ})/λ → a`` as ``λ → 0``.  ``discrete=True`` gives full-batch gradient descent with
    step ``η`` instead: ``e^{−ηλt/n}`` becomes ``(1 − ηλ/n)^t`` for integer step counts ``t``,
    which needs ``η λ_max / n < 2``.
    """
    lr = check_float(lr, "lr")
    check_positive(lr, "lr")
    k, y, f0, kt, f0t = _prepare(k_train, y_train, f0_train, k_test, f0_test)
    t = as_tensor(times, "times").to(torch.float64).reshape(-1)
    if bool((t < 0).any()):
        raise ValueError("times must be non-negative")
    values, vectors = torch.linalg.eigh(k)
    lam = values.clamp_min(0.0)
    a = lr / k.shape[0]
    if discrete:
        if bool((t != t.round()).any()):
            raise ValueError("discrete=True needs integer step counts in times")
        if a * float(lam.max()) >= 2.0:
            raise ValueError(f"gradient descent diverges: lr·λ_max/n = {a * float(lam.max()):.3g} >= 2")
        learned = _descent_learned(t, a * lam)
    else:
        learned = -torch.expm1(-a * t[:, None] * lam[None, :])  # (T, n): 1 − decay per direction
    coeffs = vectors.T @ (y - f0)  # (n, O)
    train = f0 + torch.einsum("jk,tk,ko->tjo", vectors, learned, coeffs)
    test = None
    if kt is not None and f0t is not None:  # set together by _prepare
        # (1 − decay)/λ, with its λ → 0 limit a·t (both for the flow and for descent)
        limit = a * t[:, None].expand_as(learned)
        ratio = torch.where(lam > 0, learned / lam.clamp_min(torch.finfo(torch.float64).tiny), limit)
        test = f0t + torch.einsum("mj,jk,tk,ko->tmo", kt, vectors, ratio, coeffs)
    return FlowPath(t, _shape_like(train, y_train), None if test is None else _shape_like(test, y_train))


def _descent_learned(t: Tensor, step: Tensor) -> Tensor:
    """``1 − (1 − s)^t`` for step sizes ``s = ηλ/n ∈ [0, 2)`` and integer ``t`` (``(T, n)``).

    ``−expm1(t log1p(−s))`` keeps full precision for small ``s``; for ``s ≥ 1`` the base is
    ``≤ 0`` and the power is taken with its sign (``0^0 = 1``).
    """
    tt = t[:, None]
    smooth = -torch.expm1(tt * torch.log1p(-step.clamp_max(0.5)))
    rough = 1.0 - torch.pow(1.0 - step, tt)
    return torch.where(step < 0.5, smooth, rough)


def predicted_decay_rate(power: Any, lr: float, n: int) -> np.ndarray:
    """Per-step decay rate ``−log(1 − η λ(k)/n)`` of mode ``k`` under linearized gradient descent
    on ``L = (1/2n) Σ (f − y)²`` (the ``discrete=True`` path of :func:`linearized_flow`; arXiv
    1902.06720), for kernel powers or eigenvalues ``λ(k)``; float64 NumPy.

    A mode with ``ηλ/n ≥ 1`` is learned in one step; its rate is capped at ``−log(1e-15)``.
    """
    lr = check_float(lr, "lr")
    check_positive(lr, "lr")
    lam = np.asarray(power, dtype=np.float64)
    return -np.log1p(-np.clip(lr * lam / check_int(n, "n"), 0.0, 1.0 - 1e-15))


def efolding_rate(steps: Any, residual: Any) -> np.ndarray:
    """Per column of ``residual`` ``(T, K)`` recorded at ``steps`` ``(T,)`` (first record the
    start): ``1/t_e`` for the first time ``t_e`` at which ``r_t/r_0`` falls to ``1/e``, by
    log-linear interpolation between records; ``−log(r_T/r_0)/T`` if it never does.

    The e-folding time measures the early, exponential phase that the kernel eigenvalue
    governs (compare :func:`predicted_decay_rate`; per-frequency rates as in arXiv 1906.00425);
    later a finite-width kernel, not exactly circulant, mixes in slower modes.  float64 NumPy.
    """
    t = np.asarray(steps, dtype=np.float64)
    r = np.asarray(residual, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or r.ndim != 2 or r.shape[0] != t.size:
        raise ValueError(f"need steps (T,) with T >= 2 and residual (T, K), got {t.shape} and {r.shape}")
    if not (np.all(np.diff(t) > 0) and np.all(np.isfinite(r)) and np.all(r[0] > 0)):
        raise ValueError("steps must increase and residual must be finite with r_0 > 0")
    log_ratio = np.log(np.maximum(r / r[0], np.finfo(np.float64).tiny))
    rates = -log_ratio[-1] / (t[-1] - t[0])
    for k in range(r.shape[1]):
        below = np.flatnonzero(log_ratio[:, k] <= -1.0)
        if below.size:
            j = below[0]
            a, b = log_ratio[j - 1, k], log_ratio[j, k]
            rates[k] = 1.0 / (t[j - 1] - t[0] + (t[j] - t[j - 1]) * (-1.0 - a) / (b - a))
    return rates


@dataclass(frozen=True)
class RateComparison:
    """Measured against predicted per-mode convergence rates (:func:`compare_rates`).

    ``rate`` (measured, :func:`efolding_rate`), ``predicted`` (:func:`predicted_decay_rate` of
    ``power``) and ``resolved`` (the modes whose predicted e-folding time lies between the first
    record and the last step) are ``(K,)`` float64 / bool NumPy arrays; ``spearman`` is the rank
    correlation of ``rate`` with ``power``; ``rel_err`` the median ``|rate/predicted − 1|`` over
    the resolved modes and ``rel_err_control`` the same for ``control_power`` (``None`` when no
    mode is resolved or no control was given); ``n_resolved`` counts the resolved modes.
    """

    rate: np.ndarray
    predicted: np.ndarray
    resolved: np.ndarray
    spearman: float
    rel_err: float | None
    rel_err_control: float | None
    n_resolved: int

    __repr__ = compact_repr


def _median_rel(measured: np.ndarray, predicted: np.ndarray, mask: np.ndarray) -> float | None:
    """Median ``|measured/predicted − 1|`` over ``mask``; ``None`` when the mask is empty."""
    if not mask.any():
        return None
    return float(np.median(np.abs(measured[mask] / predicted[mask] - 1)))


def compare_rates(
    steps: Any,
    residual: Any,
    power: Any,
    lr: float,
    n: int,
    *,
    control_power: Any = None,
) -> RateComparison:
    """Per mode ``k``: the measured e-folding rate of ``residual`` against the kernel's prediction.

    ``residual`` ``(T, K)`` is each mode's residual magnitude recorded at ``steps`` ``(T,)`` of
    full-batch gradient descent (first record the start), ``power`` ``(K,)`` the kernel power
    ``λ(k)`` of the same modes, ``lr`` and ``n`` the step size and number of training points.
    Linearized gradient descent predicts the per-step rate ``−log(1 − η λ(k)/n)``
    (:func:`predicted_decay_rate`; Lee et al. 2019, arXiv 1902.06720), measured by
    :func:`efolding_rate`; whether modes converge in the order of ``λ(k)`` is the kernel
    regime's spectral bias (arXiv 1906.00425, 2503.10587).  Rates are compared only for the
    *resolved* modes, whose predicted e-folding time ``1/rate`` lies between the first record
    after the start and the last step (both measured from the start); ``control_power`` (e.g.
    the empirical kernel's ``λ(k)`` against the infinite-width one) gives a second relative
    error on the same modes.
    """
    t = np.asarray(steps, dtype=np.float64)
    lam = np.asarray(power, dtype=np.float64)
    rate = efolding_rate(t, residual)
    if lam.shape != rate.shape:
        raise ValueError(f"power must have one entry per residual column {rate.shape}, got {lam.shape}")
    predicted = predicted_decay_rate(lam, lr, n)
    resolved = (predicted * (t[-1] - t[0]) > 1.0) & (predicted * (t[1] - t[0]) < 1.0)
    control = None
    if control_power is not None:
        other = np.asarray(control_power, dtype=np.float64)
        if other.shape != lam.shape:
            raise ValueError(f"control_power must have the shape of power {lam.shape}, got {other.shape}")
        control = _median_rel(rate, predicted_decay_rate(other, lr, n), resolved)
    return RateComparison(
        rate=rate,
        predicted=predicted,
        resolved=resolved,
        spearman=float(stats.spearmanr(rate, lam)[0]),
        rel_err=_median_rel(rate, predicted, resolved),
        rel_err_control=control,
        n_resolved=int(resolved.sum()),
    )
