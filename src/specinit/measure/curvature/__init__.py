"""Loss curvature: Hessian-vector products and the Hessian's trace, top eigenvalues and density.

The approach of PyHessian (Yao et al. 2020, arXiv 1912.07145): never form the Hessian ``H`` of
the loss w.r.t. the parameters, only products ``H v`` by automatic differentiation, and feed them
to matrix-free estimators.  One algorithm a module:

* :mod:`.operators` — the :class:`Operator` interface, :class:`HessianOperator` (a model's loss
  Hessian, all parameters, a subset, or one layer's block via :func:`layer_blocks`) and
  :func:`as_operator` (a dense symmetric matrix or a symmetric callable);
* :mod:`.exact` — the exact Hessian diagonal and trace of ``nn.Sequential`` models by
  second-order backpropagation (arXiv 1902.01813): :func:`hessian_diagonal`;
* :mod:`.trace` — ``tr A`` by Hutchinson or Hutch++ (arXiv 2010.09649), or exactly from
  :func:`hessian_diagonal` when the model allows it: :func:`hessian_trace`;
* :mod:`.eigs` — top eigenpairs by Lanczos (ARPACK) or power iteration with deflation:
  :func:`hessian_eigs`;
* :mod:`.density` — the spectral density by stochastic Lanczos quadrature (arXiv 1901.10159):
  :func:`hessian_density`;
* :mod:`.gauss_newton` — the generalized Gauss-Newton (Schraudolph 2002), the Fisher (Martens
  2020, arXiv 1412.1193; exact and Monte-Carlo) and the empirical Fisher (arXiv 1905.12558) as
  operators, with exact diagonals: :class:`GGNOperator`, :func:`ggn_diagonal`;
* :mod:`.xtrace` — XTrace, exchangeable Hutch++ (arXiv 2301.07825): :func:`xtrace`, also
  ``hessian_trace(..., method="xtrace")``;
* :mod:`.summary` — trace, top eigenvalue and density of one model in one row:
  :func:`curvature_summary`.

Each estimator takes an operator, a matrix or a model (with ``loss`` and ``data``) and returns
one frozen record; ``*_per_layer`` returns a dict of records, one per layer's diagonal block.
Randomness comes from ``generator=`` (an int seed, a ``torch.Generator`` or ``None``).

>>> import torch
>>> A = torch.diag(torch.arange(1.0, 101.0, dtype=torch.float64))
>>> # Rademacher probes are exact on a diagonal matrix:
>>> hessian_trace(A, method="hutchinson", num_matvecs=10, generator=0).estimate
5050.0
"""

from specinit.measure.curvature.density import SpectralDensity, hessian_density, hessian_density_per_layer
from specinit.measure.curvature.eigs import EIG_METHODS, Eigenpairs, hessian_eigs, hessian_eigs_per_layer
from specinit.measure.curvature.exact import (
    ExactUnsupportedError,
    HessianDiagonal,
    exact_support,
    hessian_diagonal,
)
from specinit.measure.curvature.gauss_newton import (
    EmpiricalFisherOperator,
    FisherMCOperator,
    FisherOperator,
    GGNOperator,
    empirical_fisher_diagonal,
    ggn_diagonal,
)
from specinit.measure.curvature.operators import HessianOperator, Operator, as_operator, layer_blocks
from specinit.measure.curvature.summary import curvature_summary
from specinit.measure.curvature.trace import (
    TRACE_METHODS,
    TraceEstimate,
    hessian_trace,
    hessian_trace_per_layer,
)
from specinit.measure.curvature.xtrace import xtrace

__all__ = [
    # operators
    "Operator",
    "HessianOperator",
    "as_operator",
    "layer_blocks",
    # exact Hessian diagonal: second-order backpropagation
    "hessian_diagonal",
    "HessianDiagonal",
    "exact_support",
    "ExactUnsupportedError",
    # trace: exact, Hutchinson, Hutch++
    "hessian_trace",
    "hessian_trace_per_layer",
    "TraceEstimate",
    "TRACE_METHODS",
    # top eigenpairs: Lanczos, power iteration
    "hessian_eigs",
    "hessian_eigs_per_layer",
    "Eigenpairs",
    "EIG_METHODS",
    # spectral density: stochastic Lanczos quadrature
    "hessian_density",
    "hessian_density_per_layer",
    "SpectralDensity",
    # one row of curvature measurements
    "curvature_summary",
    # Gauss-Newton, Fisher, empirical Fisher operators and their exact diagonals
    "GGNOperator",
    "FisherOperator",
    "FisherMCOperator",
    "EmpiricalFisherOperator",
    "ggn_diagonal",
    "empirical_fisher_diagonal",
    # trace: XTrace
    "xtrace",
]
