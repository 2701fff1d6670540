"""Loss curvature: Hessian-vector products and the Hessian's trace, top eigenvalues and density."""

from specinit.measure.curvature.operators import *  # noqa: F403
from specinit.measure.curvature.operators import __all__
