"""The trace of a symmetric operator from matrix-vector products: Hutchinson and Hutch++.

For a Rademacher vector ``z`` (independent ``±1`` entries) ``E[zᵀ A z] = tr A`` and
``Var[zᵀ A z] = 2 (‖A‖_F² − Σᵢ Aᵢᵢ²)``, so ``m`` products give Hutchinson's estimate
(Hutchinson 1989)

    tr A ≈ (1/m) Σᵢ zᵢᵀ A zᵢ,     standard error  std(zᵢᵀ A zᵢ) / √m,

exact for a diagonal ``A``.  Hutch++ (Meyer, Musco, Musco & Woodruff 2021, arXiv 2010.09649)
spends a third of the budget on a sketch: with ``s = ⌊m/3⌋`` probes ``S``, ``Q = qr(A S)``
captures the top of the spectrum, whose trace ``tr(Qᵀ A Q)`` is computed exactly, and
Hutchinson with the remaining ``g = m − 2s`` probes estimates the rest,

    tr A ≈ tr(Qᵀ A Q) + (1/g) Σᵢ gᵢᵀ (I − QQᵀ) A (I − QQᵀ) gᵢ,

so the error falls like ``1/m`` instead of ``1/√m`` when the spectrum decays.  On a model
(PyHessian, arXiv 1912.07145) ``A`` is the Hessian of the loss, ``tr H`` a flatness measure;
when the model is an ``nn.Sequential`` of layers that :mod:`.exact` covers (Linear, Conv,
elementwise activations; MSE or cross-entropy) the default ``method="auto"`` returns the exact
trace instead, from the Hessian diagonal by second-order backpropagation (arXiv 1902.01813),
with ``method="exact"`` in the record and no variance.

>>> import torch
>>> A = torch.diag(torch.arange(1.0, 101.0, dtype=torch.float64))
>>> hessian_trace(A, method="hutchinson", num_matvecs=10, generator=0).estimate  # exact on a diagonal
5050.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import check_int
from specinit._core.deprecation import deprecated_alias, renamed_kwargs
from specinit._core.placement import full_precision
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.measure.curvature.exact import ExactUnsupportedError, HessianDiagonal, hessian_diagonal
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
    layer_blocks,
)
from specinit.training.losses import Loss

__all__ = ["TRACE_METHODS", "TraceEstimate", "hessian_trace", "hessian_trace_per_layer"]

#: Trace methods of :func:`hessian_trace` (``"auto"``, the default, picks ``"exact"`` when the
#: model and loss allow it, else ``"hutch++"``).
TRACE_METHODS = ("exact", "hutchinson", "hutch++", "xtrace")


@dataclass(frozen=True)
class TraceEstimate:
    """Outcome of :func:`hessian_trace`.

    ``estimate`` of ``tr A`` and its ``stderr`` (the sample standard deviation of the
    Hutchinson terms over ``√samples``; for Hutch++ conditional on the sketch, whose exact part
    ``exact_part`` has no variance); ``samples`` are the terms ``zᵢᵀ A zᵢ`` (Hutch++: of the
    deflated operator; float64 NumPy), ``num_matvecs`` the products used, ``size`` the
    dimension, ``seed`` the int seed of the probes.  ``std_error`` and ``n_matvecs`` are
    deprecated aliases.
    """

    estimate: float
    stderr: float
    num_matvecs: int
    samples: np.ndarray
    exact_part: float
    method: str
    size: int
    seed: int

    __repr__ = compact_repr
    std_error = deprecated_alias("std_error", "stderr")
    n_matvecs = deprecated_alias("n_matvecs", "num_matvecs")


def _estimator(method: str, num_matvecs: int) -> Callable[[Operator, int], TraceEstimate]:
    """The checked estimator for ``method`` with a budget of ``num_matvecs`` products (``"auto"``:
    the fallback, Hutch++; ``"exact"`` has no operator estimator and only checks the budget).
    """
    method = "hutch++" if method == "auto" else method
    if method not in TRACE_METHODS:
        raise ValueError(f"unknown trace method {method!r}; choose one of {', '.join(TRACE_METHODS)}")
    m = check_int(num_matvecs, "num_matvecs")
    if method == "hutchinson" and m < 2:
        raise ValueError("hutchinson needs num_matvecs >= 2 (for a standard error)")
    if method == "hutch++" and m < 4:
        raise ValueError(f"hutch++ needs num_matvecs >= 4 (sketch, its image and >= 2 probes), got {m}")
    if method == "exact":
        return lambda op, seed: _refuse_exact()
    if method == "xtrace":
        from specinit.measure.curvature.xtrace import _xtrace  # xtrace imports this module

        if m < 4:
            raise ValueError(f"xtrace needs num_matvecs >= 4 (two probes, each twice), got {m}")
        return lambda op, seed: _xtrace(op, m, seed)
    estimate = _hutchinson if method == "hutchinson" else _hutchpp
    return lambda op, seed: estimate(op, m, seed)


def _refuse_exact() -> TraceEstimate:
    raise ValueError("method='exact' needs a model with a loss and data, not an operator or matrix")


def _exact(
    method: str, target: Target, loss: Loss | None, data: Any, params: Params
) -> HessianDiagonal | None:
    """The exact Hessian diagonal (:mod:`.exact`) when ``method`` is ``"exact"``, or ``"auto"``
    on a model and loss it covers; ``None`` when the estimator runs instead.
    """
    if method not in ("exact", "auto") or not isinstance(target, nn.Module) or loss is None or data is None:
        if method == "exact":
            _refuse_exact()
        return None
    if method == "exact":
        return hessian_diagonal(target, loss, data, params=params)
    try:
        return hessian_diagonal(target, loss, data, params=params)
    except ExactUnsupportedError:
        return None


def _exact_record(trace: float, size: int, seed: int) -> TraceEstimate:
    return TraceEstimate(
        estimate=trace,
        stderr=0.0,
        num_matvecs=0,
        samples=_frozen_array([]),
        exact_part=trace,
        method="exact",
        size=size,
        seed=seed,
    )


@overload
def hessian_trace(
    target: Target,
    loss: Loss | None = ...,
    data: Batch | Iterable[Batch] | None = ...,
    *,
    method: str = ...,
    num_matvecs: int = ...,
    generator: GeneratorLike = ...,
    params: Params = ...,
    train_mode: bool = ...,
    per_layer: Literal[False] = ...,
) -> TraceEstimate: ...


@overload
def hessian_trace(
    target: Target,
    loss: Loss | None = ...,
    data: Batch | Iterable[Batch] | None = ...,
    *,
    method: str = ...,
    num_matvecs: int = ...,
    generator: GeneratorLike = ...,
    params: Params = ...,
    train_mode: bool = ...,
    per_layer: Literal[True],
) -> dict[str, TraceEstimate]: ...


@full_precision
@renamed_kwargs(seed="generator", n_matvecs="num_matvecs")
def hessian_trace(
    target: Target,
    loss: Loss | None = None,
    data: Batch | Iterable[Batch] | None = None,
    *,
    method: str = "auto",
    num_matvecs: int = 99,
    generator: GeneratorLike = 0,
    params: Params = None,
    train_mode: bool = False,
    per_layer: bool = False,
) -> TraceEstimate | dict[str, TraceEstimate]:
    """Estimate ``tr A`` from ``num_matvecs`` products with Rademacher probes ``z`` (``±1`` entries).

    ``"hutchinson"``: ``tr A ≈ (1/m) Σᵢ zᵢᵀ A zᵢ`` (Hutchinson 1989), standard error
    ``std(zᵢᵀ A zᵢ)/√m``.  ``"hutch++"`` (Meyer et al. 2021, arXiv 2010.09649): with
    ``s = ⌊m/3⌋`` sketch columns ``S``, ``Q = qr(A S)``, ``tr A ≈ tr(Qᵀ A Q) + (1/g) Σᵢ gᵢᵀ
    (I−QQᵀ) A (I−QQᵀ) gᵢ`` for ``g = m − 2s`` probes; the error shrinks like ``1/m`` instead of
    ``1/√m`` when the spectrum decays.  Its standard error is the Hutchinson one of the second
    term, conditional on ``Q``.  On a model: the Hessian trace of PyHessian (arXiv 1912.07145).

    Args:
        target: an :class:`Operator`, a dense symmetric matrix, or a model (then ``loss`` and
            ``data`` build a :class:`HessianOperator`).
        loss: for a model: the loss, as in :class:`HessianOperator`; else ``None``.
        data: for a model: one batch ``(x, y)`` or an iterable of batches, as in
            :class:`HessianOperator`; else ``None``.
        method: ``"auto"`` (default): ``"exact"`` when ``target`` is a model and loss that
            :func:`hessian_diagonal` covers, else ``"hutch++"``; ``"exact"``: the trace of the
            exact Hessian diagonal (:mod:`.exact`; ``stderr`` 0, ``num_matvecs`` 0, an error on
            a model it does not cover); ``"hutchinson"`` (``num_matvecs ≥ 2``),
            ``"hutch++"`` (``num_matvecs ≥ 4``, also checked for ``"auto"``) or ``"xtrace"``
            (:func:`.xtrace.xtrace`, arXiv 2301.07825; ``num_matvecs ≥ 4``).  The record's
            ``method`` says which one ran.
        num_matvecs: the budget of operator products (unused by ``"exact"``).
        generator: an int seed, a ``torch.Generator`` or ``None`` (the global RNG); one int seed
            is taken from it (an int as it is) and seeds the probes and, for a model, the
            operator.
        params: for a model: the parameters of the Hessian, as in :class:`HessianOperator`.
        train_mode: for a model: evaluate in train mode, as in :class:`HessianOperator`.
        per_layer: deprecated; use :func:`hessian_trace_per_layer`.

    ``seed=`` and ``n_matvecs=`` are deprecated aliases of ``generator=`` and ``num_matvecs=``.

    """
    estimate = _estimator(method, num_matvecs)
    if _deprecated_per_layer(per_layer, "hessian_trace"):  # hessian_trace_per_layer's result
        return _traces_per_layer(
            target, loss, data, method, estimate, params, train_mode, derive_seed(generator)
        )
    seed = derive_seed(generator)
    exact = _exact(method, target, loss, data, params)
    if exact is not None:
        return _exact_record(exact.trace, exact.size, seed)
    return estimate(_operator_for(target, loss, data, params, train_mode, seed), seed)


@full_precision
def hessian_trace_per_layer(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    method: str = "auto",
    num_matvecs: int = 99,
    generator: GeneratorLike = 0,
    params: Params = None,
    train_mode: bool = False,
) -> dict[str, TraceEstimate]:
    """:func:`hessian_trace` of each layer's diagonal Hessian block ``H_ll`` (:func:`layer_blocks`).

    A dict ``layer name → estimate``, each with its own ``num_matvecs`` products and the same
    seed; ``Σ_l tr H_ll = tr H`` over the selected parameters (the per-layer trace of PyHessian,
    arXiv 1912.07145).  With ``method="auto"`` (default) on a model :mod:`.exact` covers, every
    layer's trace is exact, all from one Hessian diagonal.  Arguments as in :func:`hessian_trace`.
    """
    estimate = _estimator(method, num_matvecs)
    return _traces_per_layer(model, loss, data, method, estimate, params, train_mode, derive_seed(generator))


def _traces_per_layer(
    target: Target,
    loss: Loss | None,
    data: Any,
    method: str,
    estimate: Callable[[Operator, int], TraceEstimate],
    params: Params,
    train_mode: bool,
    seed: int,
) -> dict[str, TraceEstimate]:
    """Each layer's trace: exact from one Hessian diagonal, or ``estimate`` on each block."""
    exact = _exact(method, target, loss, data, params)
    if exact is not None and isinstance(target, nn.Module):
        return {
            layer: _exact_record(
                exact.layer_traces[layer], sum(exact.diagonal[n].numel() for n in names), seed
            )
            for layer, names in layer_blocks(target, params).items()
        }
    return _per_layer(target, loss, data, params, train_mode, seed, lambda op: estimate(op, seed))


def _apply_columns(op: Operator, block: Tensor) -> Tensor:
    """``A B`` for an ``(n, c)`` block, one product per column."""
    return torch.stack([op.matvec(block[:, j]) for j in range(block.shape[1])], dim=1)


def _hutchinson(op: Operator, m: int, seed: int) -> TraceEstimate:
    start = op.num_matvecs
    probes = _rademacher(m, op, torch.Generator().manual_seed(seed))
    samples = _quadratic_forms(op, probes)
    return _trace_record(samples, 0.0, "hutchinson", op, start, seed)


def _hutchpp(op: Operator, m: int, seed: int) -> TraceEstimate:
    start = op.num_matvecs
    generator = torch.Generator().manual_seed(seed)
    s = min(m // 3, op.size)
    sketch = _rademacher(s, op, generator)
    q, _ = torch.linalg.qr(_apply_columns(op, sketch))
    exact = float(torch.trace(q.T @ _apply_columns(op, q)))
    if s == op.size:  # the sketch spans everything: the trace is exact
        return _trace_record(np.zeros(0), exact, "hutch++", op, start, seed)
    probes = _rademacher(m - 2 * s, op, generator)
    probes = probes - q @ (q.T @ probes)
    return _trace_record(_quadratic_forms(op, probes), exact, "hutch++", op, start, seed)


def _quadratic_forms(op: Operator, probes: Tensor) -> np.ndarray:
    """``zᵢᵀ A zᵢ`` for the columns ``zᵢ`` of ``probes``."""
    return np.array([float(probes[:, j] @ op.matvec(probes[:, j])) for j in range(probes.shape[1])])


def _trace_record(
    samples: np.ndarray, exact: float, method: str, op: Operator, start: int, seed: int
) -> TraceEstimate:
    mean = float(samples.mean()) if samples.size else 0.0
    error = float(samples.std(ddof=1) / math.sqrt(samples.size)) if samples.size > 1 else 0.0
    return TraceEstimate(
        estimate=exact + mean,
        stderr=error,
        num_matvecs=op.num_matvecs - start,
        samples=_frozen_array(samples),
        exact_part=exact,
        method=method,
        size=op.size,
        seed=seed,
    )
