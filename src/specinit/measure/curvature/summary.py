"""The loss Hessian of a model in one row: trace, top eigenvalue and spectral density.

One :class:`~specinit.measure.curvature.HessianOperator` serves three estimators — Hutchinson's
``tr H`` (:mod:`.trace`), Lanczos' ``λ_max(H)`` (:mod:`.eigs`) and the SLQ density
(:mod:`.density`), whose mean ``Σⱼ τⱼ θⱼ ≈ tr H / P`` is PyHessian's "expected eigenvalue"
(arXiv 1912.07145) — the flatness measurements of the flat-minima experiment (arXiv
2206.08558, Exp 5).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from torch import nn

from specinit._core.placement import full_precision
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.measure.curvature.density import hessian_density
from specinit.measure.curvature.eigs import hessian_eigs
from specinit.measure.curvature.operators import Batch, HessianOperator
from specinit.measure.curvature.trace import hessian_trace
from specinit.training.losses import Loss

__all__ = ["curvature_summary"]


@full_precision
def curvature_summary(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    trace_matvecs: int = 100,
    slq_steps: int = 80,
    slq_probes: int = 1,
    generator: GeneratorLike = 0,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The Hessian of ``model``'s loss on ``data`` in one row: trace, top eigenvalue and density.

    Row: ``trace`` and ``trace_se`` (Hutchinson, ``trace_matvecs`` Rademacher probes, its
    standard error), ``top_eig`` (Lanczos, largest algebraic), ``mean_eig`` (the SLQ density's
    mean, ``≈ tr H / P``, PyHessian's "expected eigenvalue", arXiv 1912.07145) and ``n_params``
    ``P``.  Arrays (float64 NumPy): the smoothed density on its grid and the quadrature nodes
    and weights.  One operator, in eval mode, serves the three estimators (the flat-minima
    measurement of arXiv 2206.08558, Exp 5); ``generator`` gives one int seed (an int as it is)
    for the operator, the probes and the Lanczos start vector.
    """
    seed = derive_seed(generator)
    op = HessianOperator(model, loss, data, generator=seed)
    trace = hessian_trace(op, method="hutchinson", num_matvecs=trace_matvecs, generator=seed)
    top = hessian_eigs(op, k=1, method="lanczos", generator=seed)
    density = hessian_density(op, n_probes=slq_probes, n_steps=slq_steps, generator=seed)
    row = {
        "trace": trace.estimate,
        "trace_se": trace.stderr,
        "top_eig": float(top.eigenvalues[0]),
        "mean_eig": density.mean,
        "n_params": op.size,
    }
    arrays = {
        "density_grid": np.asarray(density.grid),
        "density": np.asarray(density.density),
        "density_nodes": np.asarray(density.nodes),
        "density_weights": np.asarray(density.weights),
    }
    return row, arrays
