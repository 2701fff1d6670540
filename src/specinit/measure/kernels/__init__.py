"""Neural tangent kernels and the kernel (lazy) regime of training (arXiv 2503.10587)."""

from specinit.measure.kernels.empirical import *  # noqa: F403
from specinit.measure.kernels.empirical import __all__
