"""Neural tangent kernels and the kernel (lazy) regime of training (arXiv 2503.10587).

In the kernel regime a network moves so little that it stays linear in its parameters,
``f_θ(x) ≈ f_0(x) + J(x)(θ − θ_0)``, and gradient flow on the squared loss becomes kernel
gradient flow with the neural tangent kernel ``Θ(x, x') = J(x) J(x')ᵀ`` (Jacot et al. 2018,
arXiv 1806.07572).  Its eigenvalues set how fast each component of the residual is learned, and
the limit is kernel regression, the minimum-norm interpolant of the residual in the kernel's
RKHS: the penalty of a frequency-``k`` component is ``1 / λ(k)``.  arXiv 2503.10587 states that
for shallow networks this penalty is a spectral seminorm whose weight depends on the activation.
One algorithm a module:

* :mod:`.empirical` — :func:`ntk`, the empirical NTK of any ``nn.Module`` (per-layer Gram
  products for ``nn.Linear`` and ``nn.Conv1d/2d`` layers, the output axes traced or diagonalised
  inside them, chunked ``vmap(jacrev)`` Jacobians for the rest);
* :mod:`.spectrum` — :func:`ntk_eig`, :func:`fourier_projection`, :func:`spectral_weight`: the
  kernel's eigenpairs, how their energy spreads over frequencies on a 1D/2D grid, and the power
  ``λ(k)`` at each frequency with its penalty weight ``1/λ(k)``;
* :mod:`.dynamics` — :func:`kernel_regression`, :func:`linearized_flow`: predictions of the
  linearized model (ridge limit, and the whole gradient-flow / gradient-descent path);
  :func:`predicted_decay_rate`, :func:`efolding_rate` and :func:`compare_rates`: a mode's
  predicted and measured rate of convergence under gradient descent;
* :mod:`.infinite` — :func:`shallow_ntk`, the infinite-width NTK of a one-hidden-layer network
  in the NTK parameterization (Monte Carlo or Gauss–Hermite quadrature); its finite network is
  :class:`specinit.nn.models.ShallowNTKNet`, re-exported here.

>>> import torch
>>> net = ShallowNTKNet(1, 64, "relu", generator=0)
>>> x = torch.linspace(-1, 1, 5).unsqueeze(1)
>>> theta = ntk(net, x)
>>> theta.shape, bool(torch.allclose(theta, theta.T))
(torch.Size([5, 5]), True)
"""

from specinit.measure.kernels.dynamics import (
    FlowPath,
    RateComparison,
    compare_rates,
    efolding_rate,
    kernel_regression,
    linearized_flow,
    predicted_decay_rate,
)
from specinit.measure.kernels.empirical import METHODS, OUTPUTS, STRUCTURED, ntk
from specinit.measure.kernels.infinite import KernelEstimate, shallow_ntk
from specinit.measure.kernels.spectrum import (
    FourierProjection,
    KernelEigen,
    SpectralWeight,
    fourier_projection,
    ntk_eig,
    spectral_weight,
)
from specinit.nn.models import ShallowNTKNet

__all__ = [
    # empirical NTK
    "ntk",
    "OUTPUTS",
    "METHODS",
    "STRUCTURED",
    # kernel spectrum
    "ntk_eig",
    "KernelEigen",
    "fourier_projection",
    "FourierProjection",
    "spectral_weight",
    "SpectralWeight",
    # linearized training
    "kernel_regression",
    "linearized_flow",
    "FlowPath",
    "predicted_decay_rate",
    "efolding_rate",
    "compare_rates",
    "RateComparison",
    # infinite width
    "shallow_ntk",
    "KernelEstimate",
    "ShallowNTKNet",
]
