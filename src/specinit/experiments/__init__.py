"""Experiments that reproduce the papers' claims, registered by id for ``specinit reproduce``.

Each module is thin: it composes library functions and registers an :class:`Experiment`.
"""

from specinit.experiments import bandwidth_1d, inr_depth, spectral_bias  # noqa: F401  (register)
from specinit.experiments import oddsig_pinn, oddsig_sensitivity  # noqa: F401  (register)
from specinit.experiments import oddsig_data, oddsig_depth  # noqa: F401  (register)
from specinit.experiments import swim_1d, swim_mnist  # noqa: F401  (register)
from specinit.experiments import flat_minima, hyperplanes, kernel_bias, random_label  # noqa: F401  (register)
from specinit.experiments.base import Experiment, RunReport, get, names, run

__all__ = ["Experiment", "RunReport", "get", "names", "run"]
