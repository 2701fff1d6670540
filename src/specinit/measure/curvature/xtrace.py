"""XTrace: the trace of a symmetric operator by exchangeable Hutch++ (Epperly, Tropp & Webber 2024).

Hutch++ (arXiv 2010.09649) splits its budget between a sketch ``Q = qr(A S)``, whose trace
``tr(Qᵀ A Q)`` it takes exactly, and Hutchinson probes of the deflated rest; each probe serves
one role only.  XTrace (Epperly, Tropp & Webber 2024, "XTrace: making the most of every sample
in stochastic trace estimation", SIMAX, arXiv 2301.07825) uses every probe in both roles: with
``s = ⌊m/2⌋`` Rademacher probes ``W = [w_1 … w_s]`` and ``Q = qr(A W)``, for each ``i`` it
forms the Hutch++ estimate whose sketch leaves ``w_i`` out and whose Hutchinson probe is
``w_i``,

    tᵢ = tr(Q_iᵀ A Q_i) + w_iᵀ (I − Q_i Q_iᵀ) A (I − Q_i Q_iᵀ) w_i,   Q_i = qr(A W_{−i}),

and averages them, ``tr A ≈ (1/s) Σᵢ tᵢ``, with ``m = 2s`` products (``A W`` and ``A Q``).
The leave-one-out bases cost no further products: ``Q_i Q_iᵀ = Q (I − ŝ_i ŝ_iᵀ) Qᵀ`` with
``ŝ_i`` the ``i``-th column of ``R⁻ᵀ`` normalized (``A W = Q R``), so ``tr(Q_iᵀ A Q_i) =
tr(Qᵀ A Q) − ŝ_iᵀ (Qᵀ A Q) ŝ_i``.  The ``tᵢ`` are exchangeable, so their spread gives an
error estimate, ``std(tᵢ)/√s`` (the paper's).  On eigenvalues ``k⁻²`` (n = 300, 50 seeds)
its mean error is 0.6× Hutch++'s at 30 and 60 products (tests/measure/test_xtrace.py); on an
MLP's GGN 0.5–0.8× at 30 products, 1.0–1.24× at 99 (bench/ggn_vs_curvlinops.py, 10 seeds).

>>> import torch
>>> A = torch.diag(1.0 / torch.arange(1.0, 201.0, dtype=torch.float64) ** 2)
>>> result = xtrace(A, 40, generator=0)
>>> abs(result.estimate - float(A.trace())) < 0.01  # tr A = 1.64
True
"""

from __future__ import annotations

import numpy as np
import torch

from specinit._core.checks import check_int
from specinit._core.placement import full_precision
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.measure.curvature.operators import Operator, Target, _operator_for, _rademacher
from specinit.measure.curvature.trace import TraceEstimate, _apply_columns, _trace_record

__all__ = ["xtrace"]


@full_precision
def xtrace(target: Target, num_matvecs: int = 100, *, generator: GeneratorLike = 0) -> TraceEstimate:
    """Estimate ``tr A`` by XTrace (arXiv 2301.07825) from ``num_matvecs`` products (``≥ 4``).

    ``s = ⌊num_matvecs/2⌋`` Rademacher probes, each used both in the sketch and as a
    Hutchinson probe (module docstring); ``estimate`` is the mean of the ``s`` exchangeable
    estimates ``samples`` and ``stderr`` their standard deviation over ``√s``.  When
    ``s ≥ size`` the trace is computed exactly from ``size`` products.  ``target`` is an
    :class:`.operators.Operator` or a dense symmetric matrix; on a model use
    ``hessian_trace(model, loss, data, method="xtrace")``.  ``generator``: an int seed, a
    ``torch.Generator`` or ``None``.
    """
    m = check_int(num_matvecs, "num_matvecs")
    if m < 4:
        raise ValueError(f"xtrace needs num_matvecs >= 4 (two probes, each twice), got {m}")
    seed = derive_seed(generator)
    return _xtrace(_operator_for(target, None, None, None, False, seed), m, seed)


def _xtrace(op: Operator, m: int, seed: int) -> TraceEstimate:
    start = op.num_matvecs
    s = m // 2
    if s >= op.size:  # the probes would span everything: take the trace exactly
        eye = torch.eye(op.size, dtype=op.dtype, device=op.device)
        exact = float(torch.trace(_apply_columns(op, eye)))
        return _trace_record(np.zeros(0), exact, "xtrace", op, start, seed)
    W = _rademacher(s, op, torch.Generator().manual_seed(seed))
    Y = _apply_columns(op, W)  # A W
    Q, R = torch.linalg.qr(Y)
    Z = _apply_columns(op, Q)  # A Q
    H = Q.T @ Z
    S = torch.linalg.inv(R.T)
    S = S / torch.linalg.vector_norm(S, dim=0)  # ŝ_i: Q_i Q_iᵀ = Q (I − ŝ_i ŝ_iᵀ) Qᵀ
    sketch = torch.trace(H) - ((H @ S) * S).sum(0)  # tr(Q_iᵀ A Q_i)
    # (I − Q_i Q_iᵀ) A (I − Q_i Q_iᵀ) w_i, column by column
    C = Q.T @ W
    C = C - S * (S * C).sum(0)
    AP = Y - Z @ C
    D = Q.T @ AP
    D = D - S * (S * D).sum(0)
    residual = (W * (AP - Q @ D)).sum(0)
    samples = (sketch + residual).detach().to(torch.float64).cpu().numpy()
    return _trace_record(samples, 0.0, "xtrace", op, start, seed)
